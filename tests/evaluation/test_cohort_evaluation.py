"""Tests of cmb_kd.evaluation.cohort_evaluation: every run on every scan of a split, counted at its thresholds in
both clean-up modes, on a cohort of probability maps whose counts are known by hand."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import numpy as np
import pytest
from _test_files import GainNetwork, ProbabilityDetector, write_nifti, write_probability_cohort

from cmb_kd.evaluation import HR, MODES, bundle_thresholds, evaluate_cohort, factor_label


@pytest.mark.parametrize(
    ("factor", "label"),
    [(HR, "HR"), ("4", "×4"), ("16", "×16")],
)
def test_factor_label(factor: str, label: str) -> None:
    assert factor_label(factor) == label


@pytest.mark.parametrize(
    ("threshold", "phase_threshold", "expected"),
    [
        (0.6, 0.3, {"phase": [0.3], "magnitude": [0.6]}),
        (0.6, None, {"phase": [0.6], "magnitude": [0.6]}),  # no phase threshold: the threshold in both modes
        (0.5, 0.5, {"phase": [0.5], "magnitude": [0.5]}),
    ],
)
def test_bundle_thresholds(threshold, phase_threshold, expected) -> None:
    detector = SimpleNamespace(threshold=threshold, phase_threshold=phase_threshold)
    assert bundle_thresholds(detector) == expected


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """The cohort of probability maps (factors 2 and 8) and its entries."""
    folder = tmp_path_factory.mktemp("cohort")
    datalist = write_probability_cohort(folder, factors=(2, 8))
    return folder, json.loads(datalist.read_text())["test"]


NETWORKS = {"teacher": GainNetwork(1.0), "plkd-s0": GainNetwork(1.0), "nokd-s0": GainNetwork(0.5)}

# (tp, fp, fn) of sub-001 (lesions A 0.9, B 0.4, calcification C 0.8) and sub-002 (A, C) times the network's gain:
# at the magnitude threshold 0.6 C is kept; at the phase threshold 0.3 (1 and 2 mm slices, with the phase) C is
# removed by the phase rule; on 8 mm slices the rule does not run and the phase mode is the magnitude one
EXPECTED = [
    ("teacher", HR, "phase", True, [(2, 0, 0), (1, 0, 0)]),
    ("teacher", HR, "magnitude", False, [(1, 1, 1), (1, 1, 0)]),
    ("plkd-s0", "2", "phase", True, [(2, 0, 0), (1, 0, 0)]),
    ("plkd-s0", "2", "magnitude", False, [(1, 1, 1), (1, 1, 0)]),
    ("plkd-s0", "8", "phase", False, [(1, 1, 1), (1, 1, 0)]),
    ("plkd-s0", "8", "magnitude", False, [(1, 1, 1), (1, 1, 0)]),
    ("nokd-s0", "2", "phase", True, [(1, 0, 1), (1, 0, 0)]),  # A 0.45, B 0.2, C 0.4
    ("nokd-s0", "2", "magnitude", False, [(0, 0, 2), (0, 0, 1)]),
    ("nokd-s0", "8", "phase", False, [(0, 0, 2), (0, 0, 1)]),
    ("nokd-s0", "8", "magnitude", False, [(0, 0, 2), (0, 0, 1)]),
]


def test_every_run_on_every_scan_at_the_bundle_thresholds(cohort, caplog) -> None:
    folder, entries = cohort
    with caplog.at_level(logging.INFO, logger="cmb_kd.evaluation.cohort_evaluation"):
        counts, n_ref = evaluate_cohort(folder, entries, [2, 8], ProbabilityDetector(0.6, 0.3), NETWORKS)
    assert n_ref == {HR: [2, 1], "2": [2, 1], "8": [2, 1]}
    assert set(counts) == set(MODES)
    assert {mode: {name: set(at) for name, at in counts[mode].items()} for mode in MODES} == {
        mode: {"teacher": {HR}, "plkd-s0": {"2", "8"}, "nokd-s0": {"2", "8"}} for mode in MODES
    }
    for name, factor, mode, rule, expected in EXPECTED:
        rows = counts[mode][name][factor]
        threshold = 0.3 if rule else 0.6
        assert [(subject, ran, list(found)) for subject, ran, found in rows] == [
            ("sub-001", rule, [threshold]),
            ("sub-002", rule, [threshold]),
        ], (name, factor, mode)
        assert [(c.tp, c.fp, c.fn) for _, _, found in rows for c in found.values()] == expected, (name, factor, mode)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 6  # one per subject and scan: HR, ×2, ×8
    assert lines[1].startswith("[1/2] sub-001 ×2: 17 candidates, phase rule; plkd-s0 2 TP 0 FP 0 FN; nokd-s0 1 TP")
    assert lines[2].startswith("[1/2] sub-001 ×8: 17 candidates; plkd-s0 1 TP 1 FP 1 FN; nokd-s0 0 TP 0 FP 2 FN")
    assert lines[3].startswith("[2/2] sub-002 HR: 16 candidates, phase rule; teacher 1 TP 0 FP 0 FN (")


def test_thresholds_per_run_and_mode_others_take_the_bundle_ones(cohort, caplog) -> None:
    folder, entries = cohort
    thresholds = {"plkd-s0": {"phase": [0.3, 0.85], "magnitude": [0.5]}, "nokd-s0": {"magnitude": [0.1]}}
    networks = {name: NETWORKS[name] for name in ("plkd-s0", "nokd-s0")}
    with caplog.at_level(logging.INFO, logger="cmb_kd.evaluation.cohort_evaluation"):
        counts, n_ref = evaluate_cohort(
            folder, entries[:1], [2, 8], ProbabilityDetector(0.6, 0.3), networks, thresholds
        )
    assert n_ref == {"2": [2], "8": [2]}  # no teacher: no HR scan
    tp_fp_fn = {
        (mode, name, factor): {t: (c.tp, c.fp, c.fn) for t, c in rows[0][2].items()}
        for mode in MODES
        for name in networks
        for factor, rows in counts[mode][name].items()
    }
    assert tp_fp_fn == {
        ("phase", "plkd-s0", "2"): {0.3: (2, 0, 0), 0.85: (1, 0, 1)},
        ("phase", "plkd-s0", "8"): {0.5: (1, 1, 1)},  # no phase rule on 8 mm slices: the magnitude thresholds
        ("magnitude", "plkd-s0", "2"): {0.5: (1, 1, 1)},
        ("magnitude", "plkd-s0", "8"): {0.5: (1, 1, 1)},
        ("phase", "nokd-s0", "2"): {0.3: (1, 0, 1)},  # the bundle's phase threshold
        ("phase", "nokd-s0", "8"): {0.1: (2, 1, 0)},
        ("magnitude", "nokd-s0", "2"): {0.1: (2, 1, 0)},
        ("magnitude", "nokd-s0", "8"): {0.1: (2, 1, 0)},
    }
    line = [r.getMessage() for r in caplog.records][0]
    assert "; plkd-s0 2 TP 0 FP 0 FN at 0.3, 1 TP 0 FP 1 FN at 0.85; nokd-s0 1 TP 0 FP 1 FN (" in line


def test_without_phase_the_rule_never_runs(cohort) -> None:
    folder, entries = cohort
    counts, _ = evaluate_cohort(folder, entries, [2], ProbabilityDetector(0.6, 0.3), NETWORKS, phase=False)
    for name, factor in (("teacher", HR), ("plkd-s0", "2")):
        phase_rows, magnitude_rows = counts["phase"][name][factor], counts["magnitude"][name][factor]
        assert [rule for _, rule, _ in phase_rows] == [False, False]
        assert [found for _, _, found in phase_rows] == [found for _, _, found in magnitude_rows]
        assert [(c.tp, c.fp, c.fn) for _, _, found in phase_rows for c in found.values()] == [(1, 1, 1), (1, 1, 0)]


def test_entries_without_phase_images_take_the_magnitude_thresholds(cohort) -> None:
    folder, entries = cohort
    without = [{k: v for k, v in entry.items() if not k.startswith("phase")} for entry in entries]
    counts, _ = evaluate_cohort(folder, without, [2], ProbabilityDetector(0.6, 0.3), {"plkd-s0": NETWORKS["plkd-s0"]})
    assert [(rule, list(found)) for _, rule, found in counts["phase"]["plkd-s0"]["2"]] == [(False, [0.6])] * 2


def test_a_scan_that_cannot_be_prepared_is_named(tmp_path) -> None:
    datalist = write_probability_cohort(tmp_path, factors=(4,))
    entries = json.loads(datalist.read_text())["test"]
    write_nifti(tmp_path / entries[1]["image_lr_x4"], np.zeros((16, 16, 8), np.float32), np.diag([1.0, 1.0, 4.0, 1.0]))
    with pytest.raises(ValueError, match=r"sub-002_T2S_lr-x4.nii.gz: no positive intensity; expected a magnitude"):
        evaluate_cohort(tmp_path, entries, [4], ProbabilityDetector(), {"plkd-s0": NETWORKS["plkd-s0"]})


@pytest.mark.parametrize(
    ("shape", "affine"),
    [((16, 16, 4), np.diag([1.0, 1.0, 4.0, 1.0])), ((16, 16, 8), np.diag([1.0, 1.0, 2.0, 1.0]))],
)
def test_a_reference_on_another_grid_is_refused(tmp_path, shape, affine) -> None:
    datalist = write_probability_cohort(tmp_path, factors=(4,))
    entries = json.loads(datalist.read_text())["test"]
    write_nifti(tmp_path / entries[0]["label_lr_x4"], np.zeros(shape, np.uint8), affine)
    with pytest.raises(ValueError, match=r"sub-001_CMB_lr-x4.nii.gz: reference of shape .* is not on the scan's grid"):
        evaluate_cohort(tmp_path, entries, [4], ProbabilityDetector(), {"plkd-s0": NETWORKS["plkd-s0"]})
