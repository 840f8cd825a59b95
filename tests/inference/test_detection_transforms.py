"""Tests of the postprocessing transforms: the scan's threshold and the clean-up on the input grid."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.data import MetaTensor

from cmb_kd.inference import CleanupRules, LesionCleanup, LesionCleanupd, ThresholdDetectionsd

AFFINE = np.diag([0.5, 0.5, 3.0, 1.0])


def _pred(volume: np.ndarray, affine: np.ndarray = AFFINE) -> MetaTensor:
    return MetaTensor(torch.from_numpy(volume.astype(np.float32))[None], affine=torch.as_tensor(affine))


def _probability() -> np.ndarray:
    probability = np.zeros((20, 20, 8), dtype=np.float32)
    probability[5:8, 5:8, 3] = 0.2  # above 0.1, below 0.3
    probability[12:15, 12:15, 4] = 0.6
    return probability


def test_the_threshold_is_the_phase_threshold_only_where_the_phase_rule_runs() -> None:
    threshold = ThresholdDetectionsd(threshold=0.3, phase_threshold=0.1, cleanup=LesionCleanup())
    magnitude = threshold({"pred": _pred(_probability())})
    with_phase = threshold({"pred": _pred(_probability()), "phase": np.zeros((20, 20, 8), np.float32)})
    assert int(magnitude["pred"].sum()) == 9 and int(with_phase["pred"].sum()) == 18
    thick = np.diag([0.5, 0.5, 6.0, 1.0])  # slices beyond the phase rule's limit: the magnitude threshold
    assert int(threshold({"pred": _pred(_probability(), thick), "phase": np.zeros((20, 20, 8))})["pred"].sum()) == 9
    no_cleanup = ThresholdDetectionsd(threshold=0.3, phase_threshold=0.1, cleanup=None)
    assert int(no_cleanup({"pred": _pred(_probability()), "phase": np.zeros((20, 20, 8))})["pred"].sum()) == 9


def test_no_detection_and_zero_probability_where_the_input_had_no_value() -> None:
    finite = np.ones((20, 20, 8), dtype=bool)
    finite[12:15, 12:15, :] = False
    d = ThresholdDetectionsd(threshold=0.3)({"pred": _pred(_probability()), "finite": finite})
    assert int(d["pred"].sum()) == 0 and float(d["probability"].max()) == pytest.approx(0.2)
    assert d["pred"].dtype == torch.uint8 and np.allclose(d["pred"].affine.numpy(), AFFINE)


def test_the_cleanup_transform_keeps_what_the_cleanup_keeps() -> None:
    mask = (_probability() > 0).astype(np.uint8)
    brain = np.zeros(mask.shape, dtype=bool)
    brain[2:18, 2:18, 1:7] = True
    rules = CleanupRules(brain_margin_mm=3.0)
    expected, _ = LesionCleanup(rules)(mask, (0.5, 0.5, 3.0), brain_mask=brain, affine=AFFINE)
    kept = LesionCleanupd(cleanup=LesionCleanup(rules))({"pred": _pred(mask), "brain_input": brain})["pred"]
    assert np.array_equal(kept[0].numpy(), expected.astype(np.uint8))


def test_bad_settings_and_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="threshold"):
        ThresholdDetectionsd(threshold=1.5)
    with pytest.raises(ValueError, match="cleanup"):
        LesionCleanupd(cleanup="strict")
    with pytest.raises(ValueError, match="MetaTensor"):
        ThresholdDetectionsd()({"pred": torch.zeros(1, 4, 4, 4)})
