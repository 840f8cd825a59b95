"""Tests of cmb_kd.train_runs and ``cmb-kd train``: the plan of runs, their command lines, the joined cohorts, and
what a stopped or damaged run leaves (training itself is in tests/bundles)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from cmb_kd import train_runs
from cmb_kd.cli import main as cli_main
from cmb_kd.inference import default_bundle_dir


def _overrides(cmd: list[str]) -> dict[str, str]:
    flags = cmd[cmd.index("--logging_file") + 2 :]
    return dict(zip(flags[::2], flags[1::2]))


def test_plan_gives_every_row_the_same_budget() -> None:
    runs = {run.name: run for run in train_runs.plan([0, 1], 16, 32)}
    assert list(runs)[:2] == ["teacher", "screening"]
    assert {"plkd-s1", "nokd-s1", "direct-s1", "dynunet-s1", "ablation-2d", "ablation-hybrid"} <= set(runs)
    assert runs["plkd-s0"].overrides["stage_epochs"] == [4, 4, 4, 4]
    assert runs["direct-s0"].overrides["stage_epochs"] == runs["nokd-s0"].overrides["stage_epochs"] == [16]
    assert runs["dynunet-s1"].overrides == {"max_epochs": 16, "seed": 1}
    for name, seed in (("ablation-2d", 0), ("ablation-hybrid-s1", 1)):  # seed 0 keeps the name of the first runs
        assert runs[name].overrides["seed"] == seed and runs[name].overrides["curriculum_mode"] == "no_kd"
        assert runs[name].overrides["network_def"]["fcm"] is False
    assert runs["teacher"].overrides == {"max_epochs": 32}
    assert all("native_lr.json" in r.configs for n, r in runs.items() if n not in ("teacher", "screening"))
    with pytest.raises(ValueError, match="multiple of 4"):
        train_runs.plan([0], 10, 32)


def _cohort(folder: Path, subjects: list[str], hard: Path | None = None) -> Path:
    """A datalist of ``subjects`` (no files are read), and with ``hard`` the mined datalist beside it."""
    entries = [{"subject": s, "image": f"{s}/{s}_T2S.nii.gz", "n_cmb": 1} for s in subjects]
    folder.mkdir(parents=True)
    (folder / "datalist.json").write_text(json.dumps({"training": entries[1:], "validation": entries[:1]}))
    if hard is not None:
        hard.mkdir(parents=True)
        mined = [{**e, "hard_negatives": str(hard / f"{e['subject']}_hard-negatives.nii.gz")} for e in entries]
        (hard / "datalist.json").write_text(json.dumps({"training": mined[1:], "validation": mined[:1]}))
    return folder


def test_hard_negatives_go_to_the_students_only(tmp_path) -> None:
    runs = {run.name: run for run in train_runs.plan([0], 16, 32)}
    cohort = _cohort(tmp_path / "data" / "cohort", ["sub-001", "sub-002"], tmp_path / "data" / "hard")
    data = train_runs.join_cohorts([cohort], [tmp_path / "data" / "hard" / "datalist.json"], tmp_path / "d.json")
    assert data.hard_negatives and data.dataset_dir == tmp_path / "data"
    teacher = tmp_path / "teacher" / "model.pt"
    args = (data, teacher, "cpu", default_bundle_dir())
    student = _overrides(train_runs.bundle_command(runs["plkd-s0"], tmp_path / "plkd-s0", *args))
    assert student["--datalist_file"] == str(tmp_path / "d.json") and student["--hard_negative_key"] == "hard_negatives"
    assert student["--teacher_ckpt"] == str(teacher) and student["--curriculum_mode"] == "plkd"
    for name in ("teacher", "screening"):
        assert "--hard_negative_key" not in _overrides(train_runs.bundle_command(runs[name], tmp_path / name, *args))
    plain = train_runs.TrainingData(cohort, cohort / "datalist.json")
    without = _overrides(train_runs.bundle_command(runs["nokd-s0"], tmp_path / "nokd-s0", plain, *args[1:]))
    assert "--hard_negative_key" not in without and without["--dataset_dir"] == str(cohort)


def test_cohorts_are_joined_with_paths_relative_to_their_parent(tmp_path) -> None:
    data_dir = tmp_path / "data"
    first = _cohort(data_dir / "cohort", ["sub-001", "sub-002", "sub-003"], data_dir / "hard_a")
    second = _cohort(data_dir / "cohort_rand", ["sub-001", "sub-002"], data_dir / "hard_b")
    hard = [data_dir / "hard_a" / "datalist.json", data_dir / "hard_b" / "datalist.json"]
    data = train_runs.join_cohorts([first, second], hard, tmp_path / "runs" / "datalist.json")
    assert data.dataset_dir == data_dir and data.hard_negatives
    joined = json.loads(data.datalist.read_text())
    assert [e["image"] for e in joined["training"]] == [
        "cohort/sub-002/sub-002_T2S.nii.gz",
        "cohort/sub-003/sub-003_T2S.nii.gz",
        "cohort_rand/sub-002/sub-002_T2S.nii.gz",
    ]
    assert joined["training"][2]["hard_negatives"] == "hard_b/sub-002_hard-negatives.nii.gz"
    assert [e["subject"] for e in joined["validation"]] == ["sub-001", "sub-001"] and joined["training"][0][
        "n_cmb"
    ] == 1
    # the same cohorts give the same file: a resumed run draws the same subjects
    again = train_runs.join_cohorts([first, second], hard, tmp_path / "again.json")
    assert again.datalist.read_text() == data.datalist.read_text()
    with pytest.raises(ValueError, match="one datalist per cohort"):
        train_runs.join_cohorts([first, second], hard[:1], tmp_path / "x.json")
    outside = _cohort(tmp_path / "elsewhere" / "c", ["sub-001", "sub-002"])
    plain = train_runs.join_cohorts([first, outside], [], tmp_path / "y.json")
    assert plain.dataset_dir == tmp_path and not plain.hard_negatives
    (data_dir / "hard_b" / "datalist.json").write_text(json.dumps({"training": [{"image": "a.nii.gz"}]}))
    with pytest.raises(ValueError, match="expected a 'hard_negatives' key"):
        train_runs.join_cohorts([first, second], hard, tmp_path / "z.json")
    with pytest.raises(ValueError, match="not found"):
        train_runs.join_cohorts([tmp_path / "missing"], [], tmp_path / "w.json")


def test_randomised_overlays_go_where_they_apply() -> None:
    runs = {run.name: run for run in train_runs.plan([0], 16, 32, randomised=True)}
    assert runs["teacher"].configs == ("train.json", "teacher.json", "randomised.json")
    assert runs["screening"].configs[-2:] == ("randomised.json", "randomised_lr.json")
    # after native_lr.json: the native scans keep their own look, the degraded inputs get a drawn acquisition
    assert runs["plkd-s0"].configs == (
        "train.json",
        "distill_plkd.json",
        "native_lr.json",
        "randomised.json",
        "randomised_lr.json",
    )
    assert all("randomised.json" not in r.configs for r in train_runs.plan([0], 16, 32))


def test_a_damaged_final_file_is_trained_again(tmp_path, monkeypatch, capsys) -> None:
    from cmb_kd.handlers import save_atomic

    (tmp_path / "cohort").mkdir()
    (tmp_path / "cohort" / "datalist.json").write_text("{}")
    final = tmp_path / "runs" / "teacher" / "models" / "teacher" / "model.pt"
    final.parent.mkdir(parents=True)
    save_atomic({"w": torch.zeros(64)}, final)
    calls = []
    monkeypatch.setattr(train_runs.subprocess, "call", lambda cmd, **kwargs: calls.append(cmd) or 0)
    argv = ["train", "--cohort", str(tmp_path / "cohort"), "--runs", str(tmp_path / "runs"), "--only", "teacher"]
    assert cli_main(argv) == 0
    assert not calls and "teacher: done" in capsys.readouterr().out
    final.write_bytes(final.read_bytes()[:100])  # truncated by a kill while it was written
    assert cli_main(argv) == 0
    assert len(calls) == 1 and "is damaged" in capsys.readouterr().out


def test_a_stopped_run_still_records_its_wall_time(tmp_path, monkeypatch):
    (tmp_path / "cohort").mkdir()
    (tmp_path / "cohort" / "datalist.json").write_text("{}")

    def interrupted(cmd, **kwargs):
        raise SystemExit(143)  # what the SIGTERM handler raises while the run trains

    monkeypatch.setattr(train_runs.subprocess, "call", interrupted)
    argv = ["train", "--cohort", str(tmp_path / "cohort"), "--runs", str(tmp_path / "runs"), "--only", "teacher"]
    with pytest.raises(SystemExit):
        cli_main(argv)
    record = json.loads((tmp_path / "runs" / "teacher" / "wall_time.json").read_text())
    assert record["invocations"][0]["finished"] is False and record["seconds"] >= 0
    from cmb_kd.cli import _stop

    with pytest.raises(SystemExit) as info:
        _stop(15, None)
    assert info.value.code == 143


def test_only_picks_runs_in_training_order_and_names_the_unknown() -> None:
    runs = train_runs.plan([0], 16, 32)
    assert [r.name for r in train_runs.select_runs(runs, ["plkd-s0", "teacher"])] == ["teacher", "plkd-s0"]
    assert train_runs.select_runs(runs, None) == runs
    with pytest.raises(ValueError, match=r"--only: unknown run\(s\) \['plkd-s7'\]; expected some of \['teacher'"):
        train_runs.select_runs(runs, ["plkd-s7"])


def test_cmb_kd_train_reports_what_a_user_can_fix_in_one_line(tmp_path, capsys) -> None:
    (tmp_path / "cohort").mkdir()
    (tmp_path / "cohort" / "datalist.json").write_text("{}")
    base = ["train", "--cohort", str(tmp_path / "cohort"), "--runs", str(tmp_path / "runs")]
    cases = (
        (["--only", "plkd-s0"], "plkd-s0: needs the teacher's weights"),
        (["--only", "student"], "--only: unknown run(s) ['student']"),
        (["--epochs", "10"], "--epochs: expected a multiple of 4"),
        (["--cohort", str(tmp_path / "missing")], "datalist.json: not found"),
    )
    for extra, message in cases:
        assert cli_main([*base, *extra]) == 1
        err = capsys.readouterr().err
        assert err.startswith("cmb-kd train: error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "runs" / "plkd-s0" / "models").exists()


def test_a_dry_run_prints_one_bundle_command_per_run(tmp_path, capsys) -> None:
    (tmp_path / "cohort").mkdir()
    (tmp_path / "cohort" / "datalist.json").write_text("{}")
    argv = ["train", "--cohort", str(tmp_path / "cohort"), "--runs", str(tmp_path / "runs"), "--dry-run"]
    assert cli_main([*argv, "--only", "teacher", "screening", "--randomised"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(" -m monai.bundle run --config_file " in line for line in lines)
    assert "randomised.json" in lines[0] and "randomised_lr.json" not in lines[0] and "screening.json" in lines[1]
    assert f"--bundle_root {(tmp_path / 'runs' / 'teacher').resolve()}" in lines[0]
    assert not (tmp_path / "runs" / "teacher").exists()
