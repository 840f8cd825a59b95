"""Tests of scripts/evaluate_models.py: its command line, and runs end to end on a tiny cohort."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch
from _test_files import RESULTS_DOC as DOC
from _test_files import TINY_E2UNET
from monai.bundle import ConfigParser

from cmb_kd.evaluation import ModelEvaluation, choose_threshold, format_mean_sd
from cmb_kd.networks import E2UNet
from cmb_kd.synth import SynthConfig, write_cohort

ROOT = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location("evaluate_models", ROOT / "scripts" / "evaluate_models.py")
evaluate_models = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(evaluate_models)


def test_main_parses_and_calls_the_evaluation(tmp_path, monkeypatch, capsys) -> None:
    calls = {}

    def evaluate(cohort, runs, out, **options):
        calls.update(cohort=cohort, runs=runs, out=out, **options)
        tables = {name: f"<{name}>" for name in ("table", "magnitude", "ablation", "walltime")}
        return ModelEvaluation({}, tables, {"phase": "<phase F1>", "magnitude": "<magnitude F1>"}, out / "m.json")

    monkeypatch.setattr(evaluate_models, "evaluate_models", evaluate)
    argv = ["--cohort", "c", "--runs", "r", "--out", str(tmp_path), "--factors", "4", "--thresholds", "0.3", "0.5"]
    assert evaluate_models.main([*argv, "--no-phase", "--models", "plkd-s0"]) == 0
    assert (calls["cohort"], calls["runs"], calls["out"]) == (Path("c"), Path("r"), tmp_path)
    assert calls["factors"] == [4] and calls["thresholds"] == [0.3, 0.5] and calls["phase"] is False
    assert calls["models"] == ["plkd-s0"] and calls["bundle"] == evaluate_models.BUNDLE and calls["docs"] == []
    printed = capsys.readouterr()
    assert printed.out.startswith("<table>\n\nWithout the phase images:\n\n<magnitude>\n\n<ablation>\n")
    assert "<phase F1>" in printed.out and f"wrote {tmp_path / 'm.json'}" in printed.err


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
    for name, filename in [("plkd-s0", "model.pt"), ("nokd-s0", "model.pt"), ("teacher", "teacher/model.pt")]:
        (runs / name / "models" / filename).parent.mkdir(parents=True)
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
    assert "| plkd-s0 | not recorded | |" in text  # the fake runs were not trained by cmb-kd train


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
            assert run[key] == choose_threshold({t: {"f1": v} for t, v in f1.items()})
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
    assert f"| +PLKD (1 seed) | {format_mean_sd([plkd['tpr']], percent=True)} |" in printed.out
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
