"""Tests of the detection threshold: checked at the door, chosen by the phase-sign rule, applied with the NaN mask."""

import numpy as np
import pytest

from cmb_kd.inference import as_threshold, scan_threshold, threshold_probability


@pytest.mark.parametrize("value", [0.3, 1e-6, 0.999999, 1 / 3])
def test_probabilities_inside_the_open_interval_are_accepted(value) -> None:
    assert as_threshold(value) == float(value) and isinstance(as_threshold(value), float)


@pytest.mark.parametrize("value", [0, 0.0, 1, 1.0, -0.2, 1.5, True, "0.5", None])
def test_other_thresholds_are_refused(value) -> None:
    with pytest.raises(ValueError, match=r"threshold: expected a probability in \(0, 1\), got"):
        as_threshold(value)


@pytest.mark.parametrize(
    ("phase_threshold", "phase_rule_runs", "expected"),
    [(0.1, True, 0.1), (0.1, False, 0.3), (None, True, 0.3), (None, False, 0.3)],
)
def test_the_phase_threshold_applies_only_where_the_phase_rule_runs(phase_threshold, phase_rule_runs, expected) -> None:
    assert scan_threshold(0.3, phase_threshold, phase_rule_runs) == expected


def test_voxels_at_or_above_the_threshold_where_the_input_has_a_value() -> None:
    probability = np.array([0.1, 0.3, 0.5, 0.9], dtype=np.float32).reshape(1, 1, 4)
    assert threshold_probability(probability, 0.3, (1, 1, 4), None).ravel().tolist() == [False, True, True, True]
    finite = np.array([True, True, False, True]).reshape(1, 1, 4)
    assert threshold_probability(probability, 0.3, (1, 1, 4), finite).ravel().tolist() == [False, True, False, True]


def test_a_map_off_the_input_shape_is_refused() -> None:
    with pytest.raises(ValueError, match=r"probability: expected the input's shape \(2, 2, 2\), got \(2, 2, 3\)"):
        threshold_probability(np.zeros((2, 2, 3), np.float32), 0.5, (2, 2, 2), None)
