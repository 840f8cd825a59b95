"""Tests of scripts/train_models.py: the plan of runs and their command lines (training itself is in tests/bundles)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location("train_models", ROOT / "scripts" / "train_models.py")
train_models = importlib.util.module_from_spec(SPEC)
sys.modules["train_models"] = train_models  # its dataclasses look their module up
SPEC.loader.exec_module(train_models)


def _overrides(cmd: list[str]) -> dict[str, str]:
    flags = cmd[cmd.index("--logging_file") + 2 :]
    return dict(zip(flags[::2], flags[1::2]))


def test_plan_gives_every_row_the_same_budget() -> None:
    runs = {run.name: run for run in train_models.plan([0, 1], 16, 32)}
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
        train_models.plan([0], 10, 32)


def test_hard_negatives_go_to_the_students_only(tmp_path) -> None:
    runs = {run.name: run for run in train_models.plan([0], 16, 32)}
    hard = tmp_path / "hard" / "datalist.json"
    args = (tmp_path / "cohort", tmp_path / "teacher.pt", "cpu", hard)
    student = _overrides(train_models.command(runs["plkd-s0"], tmp_path / "plkd-s0", *args))
    assert student["--datalist_file"] == str(hard) and student["--hard_negative_key"] == "hard_negatives"
    assert student["--teacher_ckpt"] == str(tmp_path / "teacher.pt") and student["--curriculum_mode"] == "plkd"
    for name in ("teacher", "screening"):
        assert "--datalist_file" not in _overrides(train_models.command(runs[name], tmp_path / name, *args))
    without = _overrides(train_models.command(runs["nokd-s0"], tmp_path / "nokd-s0", *args[:3]))
    assert "--hard_negative_key" not in without


def test_runs_never_validate_nor_cache_the_validation_split(tmp_path) -> None:
    for run in train_models.plan([0], 16, 32):
        flags = _overrides(train_models.command(run, tmp_path / run.name, tmp_path, tmp_path / "teacher.pt", "cpu"))
        assert int(flags["--val_interval"]) > 16 and float(flags["--validate#dataset#cache_rate"]) == 0.0


def test_a_damaged_final_file_is_trained_again(tmp_path, monkeypatch, capsys) -> None:
    from cmb_kd.handlers import save_atomic

    (tmp_path / "cohort").mkdir()
    (tmp_path / "cohort" / "datalist.json").write_text("{}")
    final = tmp_path / "runs" / "teacher" / "models" / "teacher.pt"
    final.parent.mkdir(parents=True)
    save_atomic({"w": torch.zeros(64)}, final)
    calls = []
    monkeypatch.setattr(train_models.subprocess, "call", lambda cmd, **kwargs: calls.append(cmd) or 0)
    argv = ["train_models.py", "--cohort", str(tmp_path / "cohort"), "--runs", str(tmp_path / "runs")]
    monkeypatch.setattr(sys, "argv", [*argv, "--only", "teacher"])
    train_models.main()
    assert not calls and "teacher: done" in capsys.readouterr().out
    final.write_bytes(final.read_bytes()[:100])  # truncated by a kill while it was written
    train_models.main()
    assert len(calls) == 1 and "is damaged" in capsys.readouterr().out
