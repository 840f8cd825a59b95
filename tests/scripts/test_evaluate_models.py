"""Tests of scripts/evaluate_models.py: table formatting, marker replacement, and one tiny end-to-end run."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch
from monai.bundle import ConfigParser

from cmb_kd.networks import E2UNet
from cmb_kd.synth import SynthConfig, write_cohort

ROOT = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location("evaluate_models", ROOT / "scripts" / "evaluate_models.py")
evaluate_models = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(evaluate_models)

TINY_E2UNET = {
    "_target_": "cmb_kd.networks.E2UNet",
    "spatial_dims": 3,
    "in_channels": 1,
    "out_channels": 1,
    "channels": [4, 8, 16, 32, 64],
}
DOC = """# Results

Intro.

<!-- results:table:start -->
old main table
<!-- results:table:end -->

Between.

<!-- results:walltime:start -->
<!-- results:walltime:end -->

<!-- results:magnitude:start -->
<!-- results:magnitude:end -->

<!-- results:ablation:start -->
<!-- results:ablation:end -->
Outro.
"""


@pytest.mark.parametrize(
    ("values", "percent", "expected"),
    [
        ([0.812], True, "81.2"),
        ([0.8, 0.85, 0.9], True, "85.0 ± 5.0"),
        ([1.0, 2.0, 3.0], False, "2.00 ± 1.00"),
        ([0.25], False, "0.25"),
        ([0.5, math.nan], True, "n/a"),
        ([], True, "n/a"),
    ],
)
def test_format_mean_sd(values: list[float], percent: bool, expected: str) -> None:
    assert evaluate_models.format_mean_sd(values, percent=percent) == expected


def test_replace_between_markers_keeps_the_rest_and_is_idempotent() -> None:
    once = evaluate_models.replace_between_markers(DOC, "table", "| a |\n|---|", source="doc.md")
    assert "old main table" not in once
    assert "<!-- results:table:start -->\n| a |\n|---|\n<!-- results:table:end -->" in once
    assert once.startswith("# Results\n\nIntro.\n\n") and once.endswith("Between.\n\n" + DOC.split("Between.\n\n")[1])
    assert evaluate_models.replace_between_markers(once, "table", "| a |\n|---|", source="doc.md") == once
    both = evaluate_models.replace_between_markers(once, "ablation", "x", source="doc.md")
    assert "<!-- results:ablation:start -->\nx\n<!-- results:ablation:end -->\nOutro.\n" in both


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("no markers", r"notes\.md: marker <!-- results:table:start --> missing"),
        ("<!-- results:table:start -->\n", r"notes\.md: marker <!-- results:table:end --> missing"),
        ("<!-- results:table:end --><!-- results:table:start -->", "comes before"),
        ("<!-- results:table:start -->" * 2 + "<!-- results:table:end -->", "found 2 times"),
    ],
)
def test_replace_between_markers_bad_markers(text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        evaluate_models.replace_between_markers(text, "table", "x", source="notes.md")


def _summary(value: float) -> dict[str, float]:
    return {"tpr": value, "ppv": value, "fp_avg": 2 * value, "f1": value, "dice": value}


def test_tables_average_over_seeds_and_list_missing_rows() -> None:
    summaries = {
        "teacher": {"hr": _summary(0.9)},
        "plkd-s0": {"4": _summary(0.7)},
        "plkd-s1": {"4": _summary(0.8)},
        "plkd-s2": {"4": _summary(0.9)},
        "nokd-s0": {"4": _summary(0.5)},
    }
    table = evaluate_models.format_main_table(
        summaries, [4], split="test", n_subjects={"hr": 3, "4": 3}, n_ref={"hr": 12, "4": 10}
    )
    rows = table.splitlines()
    assert rows[0].startswith("| Method | ×4 TPR (%) | ×4 PPV (%) | ×4 FP_avg | ×4 F1 (%) | ×4 Dice (%) |")
    assert "| Teacher on HR (upper bound) | 90.0 | 90.0 | 1.80 | 90.0 | 90.0 |" in rows
    assert "| PLKD student (E²U-Net) (3 seeds) | 80.0 ± 10.0 | 80.0 ± 10.0 | 1.60 ± 0.20 |" in table
    assert "| No-KD student (1 seed) | 50.0 |" in table
    assert "×4: 3 subjects, 10 reference lesions" in table and "HR: 3 subjects, 12 reference lesions" in table
    assert "Direct KD student (`direct-sN`)" in table and "DynUNet (nnU-Net), no KD (`dynunet-sN`)" in table
    ablation = evaluate_models.format_ablation_table(summaries, [2, 4])
    assert "| +FCM (1 seed) | 50.0 | 50.0 | 1.00 | 50.0 | 50.0 |" in ablation
    assert "| +PLKD (3 seeds) | 80.0 ± 10.0 |" in ablation
    assert "2D (`ablation-2d`, `ablation-2d-sN`)" in ablation and "+KD (`direct-sN`)" in ablation
    summaries |= {"ablation-3d": {"4": _summary(0.6)}, "ablation-3d-s1": {"4": _summary(0.8)}}
    assert "| 3D (2 seeds) | 70.0 ± 14.1 |" in evaluate_models.format_ablation_table(summaries, [4])
    assert "not among the factors" in evaluate_models.format_ablation_table(summaries, [2])


@pytest.mark.parametrize(
    ("name", "family", "weights"),
    [
        ("teacher", "teacher", "teacher/models/teacher.pt"),
        ("plkd-s12", "plkd", "plkd-s12/models/model.pt"),
        ("dynunet-s0", "dynunet", "dynunet-s0/models/dynunet.pt"),
        ("ablation-hybrid", "ablation", "ablation-hybrid/models/model.pt"),
        ("ablation-3d-s2", "ablation", "ablation-3d-s2/models/model.pt"),
        ("screening", None, "screening/models/model.pt"),
        ("plkd", None, "plkd/models/model.pt"),
    ],
)
def test_run_names(name: str, family: str | None, weights: str) -> None:
    assert evaluate_models.family_of(name) == family
    assert evaluate_models.weights_path(Path("runs"), name) == Path("runs") / weights


def test_default_network_defs_follow_the_bundle(tmp_path) -> None:
    bundle = ROOT / "bundles" / "cmb_lr_mri_segmentation"
    ablation = evaluate_models.network_def_of("ablation-2d", tmp_path, bundle)
    assert ablation["_target_"] == "cmb_kd.networks.E2UNet" and ablation["fcm"] is False
    assert ablation["conv_mode"] == "2d"
    assert evaluate_models.network_def_of("ablation-hybrid-s1", tmp_path, bundle)["conv_mode"] == "hybrid"
    assert evaluate_models.network_def_of("dynunet-s1", tmp_path, bundle)["_target_"] == "DynUNet"
    (tmp_path / "plkd-s0").mkdir()
    (tmp_path / "plkd-s0" / "network_def.json").write_text(json.dumps(TINY_E2UNET))
    assert evaluate_models.network_def_of("plkd-s0", tmp_path, bundle) == TINY_E2UNET


@pytest.fixture(scope="session")
def tiny_setup(tmp_path_factory):
    """A 2-subject cohort (both in ``test``), a bundle copy on a 2 mm working grid, and three tiny E²U-Net runs."""
    root = tmp_path_factory.mktemp("evaluate_models")
    cohort = root / "cohort"
    datalist = write_cohort(
        cohort, 2, 0, config=SynthConfig(shape=(96, 112, 88), spacing=2.0, cmb_p_zero=0.0), progress=False
    )
    lists = json.loads(datalist.read_text())
    lists["test"] = lists["training"] + lists["validation"] + lists["test"]
    datalist.write_text(json.dumps(lists))
    bundle = root / "bundle"
    (bundle / "configs").mkdir(parents=True)
    for config in ("inference.json", "dynunet.json"):
        content = ConfigParser.load_config_file(str(ROOT / "bundles" / "cmb_lr_mri_segmentation" / "configs" / config))
        if config == "inference.json":
            content["working_spacing"] = 2.0
            content["candidate_detector"]["max_candidates"] = 20
        (bundle / "configs" / config).write_text(json.dumps(content))
    runs = root / "runs"
    for name, filename in [("plkd-s0", "model.pt"), ("nokd-s0", "model.pt"), ("teacher", "teacher.pt")]:
        (runs / name / "models").mkdir(parents=True)
        torch.manual_seed(len(name))
        network = E2UNet(3, 1, 1, channels=TINY_E2UNET["channels"])
        torch.save(network.state_dict(), runs / name / "models" / filename)
        (runs / name / "network_def.json").write_text(json.dumps(TINY_E2UNET))
    (runs / "direct-s0").mkdir()  # no final weights: not a run to evaluate
    return cohort, bundle, runs


def test_end_to_end_on_a_tiny_cohort(tiny_setup, tmp_path, capsys) -> None:
    cohort, bundle, runs = tiny_setup
    doc = tmp_path / "results.md"
    doc.write_text(DOC)
    out = tmp_path / "out"
    argv = ["--cohort", str(cohort), "--runs", str(runs), "--bundle", str(bundle), "--factors", "4"]
    assert evaluate_models.main([*argv, "--out", str(out), "--write-docs", str(doc)]) == 0
    record = json.loads((out / "metrics.json").read_text())
    assert record["split"] == "test" and record["factors"] == [4] and record["screening"] is None
    assert record["n_subjects"] == {"hr": 2, "4": 2}
    assert set(record["n_ref"]) == {"hr", "4"} and record["n_ref"]["4"] > 0
    assert set(record["runs"]) == {"nokd-s0", "plkd-s0", "teacher"}
    assert set(record["runs"]["teacher"]["factors"]) == {"hr"}
    for name in ("nokd-s0", "plkd-s0"):
        factor = record["runs"][name]["factors"]["4"]
        assert [row["subject"] for row in factor["subjects"]] == ["sub-001", "sub-002"]
        assert sum(row["tp"] + row["fn"] for row in factor["subjects"]) == record["n_ref"]["4"]
        metrics = factor["metrics"]
        assert metrics["n_subjects"] == 2 and metrics["n_ref"] == record["n_ref"]["4"]
        for key in ("tpr", "fp_avg", "f1", "dice"):
            assert math.isfinite(metrics[key]), (name, key, metrics[key])
    printed = capsys.readouterr()
    assert "| PLKD student (E²U-Net) (1 seed) |" in printed.out and "| +FCM (1 seed) |" in printed.out
    assert "[2/2] sub-002 ×4" in printed.err
    text = doc.read_text()
    assert "old main table" not in text and "| Teacher on HR (upper bound) |" in text
    assert "| +PLKD (1 seed) |" in text and text.endswith("<!-- results:ablation:end -->\nOutro.\n")
    assert "| plkd-s0 | not recorded | |" in text  # the fake runs were not trained by train_models.py


def test_thresholds_chosen_on_one_split_are_used_on_another(tiny_setup, tmp_path, capsys) -> None:
    cohort, bundle, runs = tiny_setup
    argv = ["--cohort", str(cohort), "--runs", str(runs), "--bundle", str(bundle), "--factors", "4"]
    argv += ["--models", "plkd-s0", "teacher"]
    assert evaluate_models.main([*argv, "--out", str(tmp_path / "val"), "--thresholds", "0.9", "0.3"]) == 0
    record = json.loads((tmp_path / "val" / "metrics.json").read_text())
    for name, factor in (("plkd-s0", "4"), ("teacher", "hr")):
        run = record["runs"][name]
        for mode, key, section in (
            ("phase", "threshold", "factors"),
            ("magnitude", "magnitude_threshold", "magnitude"),
        ):
            assert set(run["thresholds"][mode]) == {"0.3", "0.9"}
            f1 = {float(t): at[factor]["f1"] for t, at in run["thresholds"][mode].items()}
            assert run[key] == evaluate_models.choose_threshold({t: {"f1": v} for t, v in f1.items()})
            assert run[section][factor]["metrics"] == run["thresholds"][mode][f"{run[key]:g}"][factor]
        # the tiny cohort's HR grid is 2 mm (the phase rule runs), its ×4 slices 8 mm (beyond the rule's 5 mm)
        assert all(row["phase_rule"] == (factor == "hr") for row in run["factors"][factor]["subjects"])
        assert not any(row["phase_rule"] for row in run["magnitude"][factor]["subjects"])
    assert "| plkd-s0 |" in capsys.readouterr().out.split("F1 at 0.3")[1]
    test = tmp_path / "test"
    assert (
        evaluate_models.main([*argv, "--out", str(test), "--thresholds-from", str(tmp_path / "val" / "metrics.json")])
        == 0
    )
    again = json.loads((test / "metrics.json").read_text())
    for name in ("plkd-s0", "teacher"):
        for key, mode in (("threshold", "phase"), ("magnitude_threshold", "magnitude")):
            assert again["runs"][name][key] == record["runs"][name][key]
            assert list(again["runs"][name]["thresholds"][mode]) == [f"{record['runs'][name][key]:g}"]
    with pytest.raises(SystemExit):
        evaluate_models.main(
            [*argv, "--models", "nokd-s0", "--thresholds-from", str(tmp_path / "val" / "metrics.json")]
        )
    assert "no thresholds for run 'nokd-s0'" in capsys.readouterr().err


def test_merge_keeps_the_runs_evaluated_earlier(tiny_setup, tmp_path, capsys) -> None:
    cohort, bundle, runs = tiny_setup
    argv = ["--cohort", str(cohort), "--runs", str(runs), "--bundle", str(bundle), "--factors", "4"]
    first = tmp_path / "first"
    assert evaluate_models.main([*argv, "--models", "plkd-s0", "teacher", "--out", str(first)]) == 0
    earlier = json.loads((first / "metrics.json").read_text())
    assert earlier["cohort_identity"] == {"seed": 0, "subjects": 2}
    assert earlier["runs"]["plkd-s0"]["commit"] is None or len(earlier["runs"]["plkd-s0"]["commit"]) == 40
    doc = tmp_path / "results.md"
    doc.write_text(DOC)
    second = tmp_path / "second"
    merged_argv = [*argv, "--models", "nokd-s0", "--out", str(second), "--merge", str(first / "metrics.json")]
    assert evaluate_models.main([*merged_argv, "--write-docs", str(doc)]) == 0
    merged = json.loads((second / "metrics.json").read_text())
    assert list(merged["runs"]) == ["nokd-s0", "plkd-s0", "teacher"]
    for name in ("plkd-s0", "teacher"):
        assert merged["runs"][name] == earlier["runs"][name]
    assert merged["n_subjects"] == {"hr": 2, "4": 2}
    printed = capsys.readouterr()
    assert "kept 2 run(s) evaluated earlier" in printed.err
    for row in ("| Teacher on HR (upper bound) |", "| PLKD student (E²U-Net) (1 seed) |", "| No-KD student (1 seed) |"):
        assert row in printed.out and row in doc.read_text()
    plkd = earlier["runs"]["plkd-s0"]["factors"]["4"]["metrics"]
    assert f"| +PLKD (1 seed) | {evaluate_models.format_mean_sd([plkd['tpr']], percent=True)} |" in printed.out
    # the record of another split is refused with what differs
    other = json.loads((first / "metrics.json").read_text())
    other["split"] = "validation"
    (tmp_path / "other.json").write_text(json.dumps(other))
    with pytest.raises(SystemExit):
        evaluate_models.main(
            [*argv, "--models", "nokd-s0", "--out", str(tmp_path / "x"), "--merge", str(tmp_path / "other.json")]
        )
    assert "split is 'validation', expected 'test'" in capsys.readouterr().err
    # nor is a record evaluated with the phase merged into one without it
    assert earlier["phase"] is True
    with pytest.raises(SystemExit):
        evaluate_models.main(
            [
                *argv,
                "--models",
                "nokd-s0",
                "--no-phase",
                "--out",
                str(tmp_path / "y"),
                "--merge",
                str(first / "metrics.json"),
            ]
        )
    assert "phase is True, expected False" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        evaluate_models.main([*argv, "--merge", str(tmp_path / "missing.json")])
    assert "missing.json: file not found" in capsys.readouterr().err


def test_bundle_thresholds_where_the_phase_rule_runs_on_some_factors_only(tiny_setup, tmp_path) -> None:
    # the tiny cohort's ×2 slices are 4 mm (the phase rule runs) and its ×4 slices 8 mm (it does not): each factor
    # takes the bundle's threshold of its own mode
    cohort, bundle, runs = tiny_setup
    argv = ["--cohort", str(cohort), "--runs", str(runs), "--bundle", str(bundle), "--factors", "2", "4"]
    assert evaluate_models.main([*argv, "--models", "plkd-s0", "--out", str(tmp_path)]) == 0
    run = json.loads((tmp_path / "metrics.json").read_text())["runs"]["plkd-s0"]
    config = json.loads((bundle / "configs" / "inference.json").read_text())
    assert (run["threshold"], run["magnitude_threshold"]) == (config["phase_threshold"], config["threshold"])
    assert [row["phase_rule"] for row in run["factors"]["2"]["subjects"]] == [True, True]
    assert [row["phase_rule"] for row in run["factors"]["4"]["subjects"]] == [False, False]


def test_choose_threshold_best_f1_lowest_on_ties_nan_as_zero() -> None:
    choose = evaluate_models.choose_threshold
    assert choose({0.5: {"f1": 0.4}, 0.7: {"f1": 0.6}, 0.9: {"f1": 0.6}}) == 0.7
    assert choose({0.5: {"f1": float("nan")}, 0.9: {"f1": 0.1}}) == 0.9
    assert choose({0.5: {"f1": float("nan")}, 0.9: {"f1": float("nan")}}) == 0.5


def test_wall_time_table(tmp_path) -> None:
    (tmp_path / "teacher").mkdir()
    record = {"invocations": [{"seconds": 600.0, "finished": False}, {"seconds": 300.0, "finished": True}]}
    (tmp_path / "teacher" / "wall_time.json").write_text(json.dumps({**record, "seconds": 900.0}))
    wall_times = {name: evaluate_models.read_wall_time(tmp_path, name) for name in ("teacher", "plkd-s0")}
    table = evaluate_models.wall_time_table(wall_times)
    assert table.splitlines()[2:] == ["| teacher | 15.0 | 2 |", "| plkd-s0 | not recorded | |"]


def test_bad_input_exits_with_a_message(tiny_setup, tmp_path, capsys) -> None:
    cohort, bundle, runs = tiny_setup
    cases = [
        (["--cohort", str(tmp_path / "none")], "none: folder not found"),
        (["--cohort", str(tmp_path)], "datalist.json: not found"),
        (["--cohort", str(cohort), "--split", "holdout"], "no non-empty list 'holdout'"),
        (["--cohort", str(cohort), "--factors", "3"], "has no key 'image_lr_x3'"),
        (["--cohort", str(cohort), "--runs", str(tmp_path)], "no run with final weights found"),
        (["--cohort", str(cohort), "--runs", str(runs), "--models", "direct-s0"], "final weights of run 'direct-s0'"),
        (["--cohort", str(cohort), "--runs", str(runs), "--models", "student"], "unknown run 'student'"),
        (
            ["--cohort", str(cohort), "--runs", str(runs), "--write-docs", str(cohort / "datalist.json")],
            "marker <!-- results:table:start --> missing",
        ),
    ]
    for argv, message in cases:
        with pytest.raises(SystemExit) as exit_info:
            evaluate_models.main(argv)
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err, argv
