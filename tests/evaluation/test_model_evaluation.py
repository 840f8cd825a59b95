"""Tests of cmb_kd.evaluation.model_evaluation: the options checked before any work, and whole evaluations of
runs on a cohort of probability maps (the detector stands in for CMBDetector) with counts known by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from _test_files import GainNetwork, ProbabilityDetector, write_probability_cohort

from cmb_kd.evaluation import ModelEvaluation, evaluate_models
from cmb_kd.evaluation import model_evaluation as module

GAINS = {"teacher": 1.0, "plkd-s0": 1.0, "nokd-s0": 0.5}


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> tuple[Path, Path, Path]:
    """The cohort of probability maps (factors 2 and 8), a bundle folder, and the runs of GAINS, each with its
    ``network_def.json`` and final weights, beside a run without final weights."""
    root = tmp_path_factory.mktemp("model_evaluation")
    cohort, runs, bundle = root / "cohort", root / "runs", root / "bundle"
    write_probability_cohort(cohort, factors=(2, 8))
    for name, gain in GAINS.items():
        weights = runs / name / "models" / ("teacher/model.pt" if name == "teacher" else "model.pt")
        weights.parent.mkdir(parents=True)
        torch.save(GainNetwork(gain).state_dict(), weights)
        (runs / name / "network_def.json").write_text(json.dumps({"_target_": "_test_files.GainNetwork"}))
    (runs / "direct-s0").mkdir()
    bundle.mkdir()
    return cohort, runs, bundle


@pytest.fixture
def detector(monkeypatch) -> type[ProbabilityDetector]:
    monkeypatch.setattr(module, "CMBDetector", ProbabilityDetector)
    return ProbabilityDetector


def _pooled(tp: int, fp: int, fn: int, subjects: int = 2) -> dict[str, float | None]:
    """The pooled metrics of these counts, by hand (None where undefined)."""
    return {
        "tpr": tp / (tp + fn) if tp + fn else None,
        "ppv": tp / (tp + fp) if tp + fp else None,
        "fp_avg": fp / subjects,
        "f1": 2 * tp / (2 * tp + fp + fn),
        "n_ref": tp + fn,
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def _metrics(entry: dict) -> dict[str, float | None]:
    return {key: entry["metrics"][key] for key in ("tpr", "ppv", "fp_avg", "f1", "n_ref", "tp", "fp", "fn")}


def test_every_run_at_the_bundle_thresholds(setup, detector, tmp_path) -> None:
    cohort, runs, bundle = setup
    out = tmp_path / "results" / "now"
    result = evaluate_models(cohort, runs, out, bundle=bundle, factors=(2, 8, 2))
    assert isinstance(result, ModelEvaluation) and result.metrics_path == out / "metrics.json"
    record = result.record
    assert json.loads(result.metrics_path.read_text()) == record
    assert {k: v for k, v in record.items() if k != "runs"} == {
        "cohort": str(cohort),
        "cohort_identity": {"seed": 7, "subjects": 2},
        "split": "test",
        "factors": [2, 8],  # repeats dropped
        "bundle": str(bundle),
        "screening": None,
        "phase": True,
        "matching": {"connectivity": 26, "max_distance_mm": None},
        "n_subjects": {"hr": 2, "2": 2, "8": 2},
        "n_ref": {"hr": 3, "2": 3, "8": 3},
    }
    assert list(record["runs"]) == ["nokd-s0", "plkd-s0", "teacher"]  # not direct-s0: no final weights
    overrides = detector.built["overrides"]
    assert (detector.built["bundle"], detector.built["device"]) == (bundle, "cpu")
    assert overrides["model_path"] == str(runs / "nokd-s0" / "models" / "model.pt") and not overrides["use_screening"]
    # counts of the probability cohort (see tests/evaluation/test_cohort_evaluation.py): the phase rule runs on the
    # 1 and 2 mm slices at the bundle's phase threshold 0.3, not on the 8 mm ones (threshold 0.6 there)
    expected = {
        ("teacher", "factors", "hr"): (3, 0, 0),
        ("teacher", "magnitude", "hr"): (2, 2, 1),
        ("plkd-s0", "factors", "2"): (3, 0, 0),
        ("plkd-s0", "factors", "8"): (2, 2, 1),
        ("plkd-s0", "magnitude", "2"): (2, 2, 1),
        ("nokd-s0", "factors", "2"): (2, 0, 1),
        ("nokd-s0", "factors", "8"): (0, 0, 3),
        ("nokd-s0", "magnitude", "8"): (0, 0, 3),
    }
    for (name, section, factor), counts in expected.items():
        run = record["runs"][name]
        assert _metrics(run[section][factor]) == pytest.approx(_pooled(*counts)), (name, section, factor)
        assert [row["subject"] for row in run[section][factor]["subjects"]] == ["sub-001", "sub-002"]
        assert (run["threshold"], run["magnitude_threshold"]) == (0.3, 0.6)
        assert run["weights"] == str(runs / name / "models" / ("teacher/model.pt" if name == "teacher" else "model.pt"))
        assert run["wall_time"] is None
    assert [row["phase_rule"] for row in record["runs"]["plkd-s0"]["factors"]["8"]["subjects"]] == [False, False]
    assert set(result.tables) == {"table", "magnitude", "ablation", "walltime"}
    assert "| Teacher on HR (upper bound) | 100.0 |" in result.tables["table"]
    assert "| nokd-s0 | not recorded | |" in result.tables["walltime"]


def test_thresholds_of_best_f1_then_reused_and_merged(setup, detector, tmp_path) -> None:
    cohort, runs, bundle = setup
    first = evaluate_models(
        cohort, runs, tmp_path / "sweep", bundle=bundle, factors=[2], thresholds=[0.85, 0.3, 0.6, 0.3],
        models=["plkd-s0", "teacher"],
    )  # fmt: skip
    # pooled F1 at ×2 (the teacher: HR): phase 1.0 / 0.8 / 0.8 at 0.3 / 0.6 / 0.85; magnitude 0.75 / 0.57 / 0.8
    for name in ("plkd-s0", "teacher"):
        run = first.record["runs"][name]
        assert (run["threshold"], run["magnitude_threshold"]) == (0.3, 0.85)
        factor = "hr" if name == "teacher" else "2"
        for mode, f1 in (("phase", [1.0, 0.8, 0.8]), ("magnitude", [0.75, 4 / 7, 0.8])):
            at = run["thresholds"][mode]
            assert list(at) == ["0.3", "0.6", "0.85"]
            assert [at[t][factor]["f1"] for t in at] == pytest.approx(f1), (name, mode)
    assert "| plkd-s0 |" in first.threshold_tables["magnitude"]
    # an evaluation of another run merged with that record keeps the runs it does not evaluate
    again = evaluate_models(
        cohort, runs, tmp_path / "again", bundle=bundle, factors=[2], models=["nokd-s0"],
        merge=first.metrics_path,
    )  # fmt: skip
    assert list(again.record["runs"]) == ["nokd-s0", "plkd-s0", "teacher"]
    for name in ("plkd-s0", "teacher"):
        assert again.record["runs"][name] == first.record["runs"][name]
    assert again.record["n_subjects"] == {"hr": 2, "2": 2} and again.record["n_ref"] == {"hr": 3, "2": 3}
    assert "| Teacher on HR (upper bound) | 100.0 |" in again.tables["table"]
    # the thresholds chosen in that record, reused
    reused = evaluate_models(
        cohort, runs, tmp_path / "reused", bundle=bundle, factors=[2], models=["plkd-s0"],
        thresholds_file=first.metrics_path,
    )  # fmt: skip
    run = reused.record["runs"]["plkd-s0"]
    assert (run["threshold"], run["magnitude_threshold"]) == (0.3, 0.85)
    assert {mode: list(at) for mode, at in run["thresholds"].items()} == {"phase": ["0.3"], "magnitude": ["0.85"]}
    assert _metrics(run["magnitude"]["2"]) == pytest.approx(_pooled(2, 0, 1))


def test_without_phase_images(setup, detector, tmp_path) -> None:
    cohort, runs, bundle = setup
    record = evaluate_models(cohort, runs, tmp_path, bundle=bundle, factors=[2], models=["plkd-s0"], phase=False).record
    run = record["runs"]["plkd-s0"]
    assert record["phase"] is False and run["factors"] == run["magnitude"]
    assert _metrics(run["factors"]["2"]) == pytest.approx(_pooled(2, 2, 1))
    with pytest.raises(ValueError, match=r"--merge: .*: phase is False, expected True as evaluated now"):
        evaluate_models(cohort, runs, tmp_path / "x", bundle=bundle, factors=[2], merge=tmp_path / "metrics.json")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"thresholds": [0.5], "thresholds_file": "metrics.json"}, r"--thresholds and --thresholds-from: expected one"),
        ({"merge": "gone.json"}, r"--merge: .*gone.json: file not found; expected a metrics.json of this script"),
        ({"thresholds": [0.0, 0.5]}, r"--thresholds: expected probabilities in \(0, 1\), got \[0.0, 0.5\]"),
        ({"thresholds": [1.0]}, r"--thresholds: expected probabilities in \(0, 1\), got \[1.0\]"),
        ({"thresholds": []}, r"--thresholds: expected probabilities in \(0, 1\), got \[\]"),
        ({"factors": [1, 4]}, r"--factors: expected thick-slice factors >= 2, got \[1, 4\]"),
        ({"factors": []}, r"--factors: expected thick-slice factors >= 2, got \[\]"),
        ({"cohort": "nowhere"}, r"--cohort: .*nowhere: folder not found"),
        ({"split": "validation"}, r"--split: .*datalist.json has no non-empty list 'validation'"),
        ({"factors": [4]}, r"--factors: .*: test\[0\] has no key 'image_lr_x4'"),
        ({"runs": "nowhere"}, r"--runs: .*nowhere: folder not found; expected the runs of cmb-kd train"),
        ({"runs": "."}, r"--runs: .*: no run with final weights found"),
        ({"models": ["student"]}, r"--models: unknown run 'student'"),
        ({"models": ["direct-s0"]}, r"--models: .*model.pt: final weights of run 'direct-s0' not found"),
        ({"screening": True}, r"--screening: .*screening/models/screening/model.pt: not found; expected the weights"),
        ({"docs": ["results.md"]}, r"marker <!-- results:table:start --> missing"),
        ({"thresholds_file": "metrics.json"}, r"--thresholds-from: .*metrics.json: no thresholds for run 'nokd-s0'"),
    ],
)
def test_bad_options_are_refused_before_any_scan(setup, detector, tmp_path, monkeypatch, options, message) -> None:
    cohort, runs, bundle = setup

    def no_scan(*args, **kwargs):
        raise AssertionError("a scan was evaluated")

    monkeypatch.setattr(module, "evaluate_cohort", no_scan)
    (tmp_path / "results.md").write_text("# Results\n")
    (tmp_path / "metrics.json").write_text(json.dumps({"runs": {}}))
    options = {"factors": [2], **options}  # paths given relative to tmp_path
    paths = {"cohort": cohort, "runs_dir": runs, "out": tmp_path / "out"}
    for key, name in (("cohort", "cohort"), ("runs", "runs_dir")):
        if key in options:
            paths[name] = tmp_path / options.pop(key)
    for key in ("merge", "thresholds_file"):
        if key in options:
            options[key] = tmp_path / options[key]
    if "docs" in options:
        options["docs"] = [tmp_path / doc for doc in options["docs"]]
    with pytest.raises(ValueError, match=message):
        evaluate_models(**paths, bundle=bundle, **options)
    assert not (tmp_path / "out").exists()


def test_a_bundle_without_inference_config_is_named(setup, tmp_path) -> None:
    cohort, runs, _ = setup
    with pytest.raises(
        ValueError, match=r"nobundle: bundle folder not found; expected a folder holding .*inference.json"
    ):
        evaluate_models(cohort, runs, tmp_path / "out", bundle=tmp_path / "nobundle", factors=[2])
