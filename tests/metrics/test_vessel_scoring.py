"""Vessel scores on tubes whose overlap, centrelines and fragments are known by construction."""

import math

import numpy as np
import pytest
import torch
from monai.metrics import compute_confusion_matrix_metric, compute_dice, get_confusion_matrix
from scipy import ndimage

from cmb_kd.metrics import VESSEL_SUMMARY_KEYS, VesselCounts, compute_vessel_counts, summarize_vessel_counts

SHAPE = (24, 24, 40)
RADIUS = 2.0
Z = (2, 38)
AXIS = 38 - 2 - 2 * int(RADIUS)  # skeleton voxels of one voxel-centred tube: its axis, shortened by the radius


def _tube(centre: tuple[int, int] = (12, 12), radius: float = RADIUS, z: tuple[int, int] = Z) -> np.ndarray:
    x, y, k = np.mgrid[: SHAPE[0], : SHAPE[1], : SHAPE[2]]
    return ((x - centre[0]) ** 2 + (y - centre[1]) ** 2 <= radius**2) & (k >= z[0]) & (k < z[1])


def _monai_voxel_scores(pred: np.ndarray, ref: np.ndarray) -> tuple[float, float, float]:
    """Sensitivity, precision and Dice from MONAI's own confusion matrix and Dice, an independent reference."""
    p, r = (torch.from_numpy(m[None, None].astype(np.float32)) for m in (pred, ref))
    matrix = get_confusion_matrix(p, r, include_background=True)
    sensitivity = compute_confusion_matrix_metric("sensitivity", matrix).item()
    precision = compute_confusion_matrix_metric("precision", matrix).item()
    return sensitivity, precision, compute_dice(p, r, include_background=True).item()


def test_a_perfect_prediction_scores_one_everywhere() -> None:
    ref = _tube()
    counts = compute_vessel_counts(ref, ref)
    assert (counts.sensitivity, counts.precision, counts.dice, counts.cldice) == (1.0, 1.0, 1.0, 1.0)
    assert counts.skeleton_ref == counts.skeleton_pred == AXIS
    assert counts.fragments_pred == counts.fragments_ref == 1


def test_a_cut_vessel_keeps_its_dice_but_loses_continuity() -> None:
    ref = _tube()
    pred = ref.copy()
    pred[:, :, 20:22] = False  # two slices cut out of the vessel
    counts = compute_vessel_counts(pred, ref)
    assert counts.dice > 0.97
    assert (counts.fragments_pred, counts.fragments_ref) == (2, 1) and counts.fragment_ratio == 2.0
    assert counts.cl_sensitivity == (AXIS - 2) / AXIS  # the two axis voxels of the gap are missed
    assert counts.cl_precision == 1.0  # the pieces' centrelines run inside the vessel
    assert (counts.sensitivity, counts.precision, counts.dice) == pytest.approx(_monai_voxel_scores(pred, ref))


def test_a_thicker_prediction_loses_precision_not_continuity() -> None:
    ref, pred = _tube(), _tube(radius=4.0)
    counts = compute_vessel_counts(pred, ref)
    assert counts.sensitivity == 1.0 and counts.precision == pytest.approx(ref.sum() / pred.sum())
    assert counts.cl_sensitivity == counts.cl_precision == 1.0
    assert (counts.sensitivity, counts.precision, counts.dice) == pytest.approx(_monai_voxel_scores(pred, ref))


def test_a_spurious_blob_is_a_fragment_whose_centre_lies_outside_the_truth() -> None:
    ref = _tube()
    x, y, k = np.mgrid[: SHAPE[0], : SHAPE[1], : SHAPE[2]]
    pred = ref | ((x - 4) ** 2 + (y - 4) ** 2 + (k - 20) ** 2 <= 4)  # a ball: its skeleton is its centre
    counts = compute_vessel_counts(pred, ref)
    assert (counts.fragments_pred, counts.fragments_ref) == (2, 1)
    assert counts.skeleton_pred == AXIS + 1 and counts.cl_precision == AXIS / (AXIS + 1)
    assert counts.cl_sensitivity == 1.0


def test_a_missed_vessel_of_two_halves_the_centreline_sensitivity() -> None:
    ref = _tube((6, 6)) | _tube((17, 17))
    counts = compute_vessel_counts(_tube((6, 6)), ref)
    assert counts.fragments_ref == 2 and counts.fragments_pred == 1
    assert counts.cl_sensitivity == 0.5 and counts.cl_precision == 1.0


@pytest.mark.parametrize("connectivity, fragments", [(6, 2), (18, 2), (26, 1)])
def test_connectivity_decides_what_touches(connectivity: int, fragments: int) -> None:
    pred = np.zeros((5, 5, 5), dtype=bool)
    pred[1, 1, 1] = pred[2, 2, 2] = True  # touch by a corner only
    assert compute_vessel_counts(pred, pred, connectivity=connectivity).fragments_pred == fragments


def test_inputs_of_every_kind_give_the_same_counts() -> None:
    ref = _tube()
    pred = _tube(radius=3.0)
    expected = compute_vessel_counts(pred, ref)
    assert compute_vessel_counts(torch.from_numpy(pred.astype(np.float32)), ref.astype(np.uint8)) == expected
    assert compute_vessel_counts(pred.astype(np.float64) * 0.8, torch.from_numpy(ref)) == expected


def test_the_summary_pools_counts_before_taking_ratios() -> None:
    a, b = VesselCounts(8, 2, 0, 4, 4, 4, 4, 1, 1), VesselCounts(0, 0, 10, 0, 0, 6, 0, 0, 2)
    summary = summarize_vessel_counts([a, b])
    assert tuple(summary) == VESSEL_SUMMARY_KEYS
    assert summary["sensitivity"] == 8 / 18 and summary["precision"] == 8 / 10
    assert summary["dice"] == 16 / 28 and summary["dice_mean"] == pytest.approx((16 / 18 + 0.0) / 2)
    assert summary["cl_sensitivity"] == 0.4 and summary["cl_precision"] == 1.0
    assert summary["cldice"] == pytest.approx(2 * 0.4 / 1.4)
    assert summary["cldice_mean"] == 1.0  # the second subject has no predicted centreline: left out
    assert summary["fragments_pred"] == 0.5 and summary["fragments_ref"] == 1.5
    assert summary["fragment_ratio"] == pytest.approx(1 / 3) and summary["n_subjects"] == 2.0


def test_a_cohort_of_empty_masks_has_nan_ratios() -> None:
    summary = summarize_vessel_counts([compute_vessel_counts(np.zeros(SHAPE), np.zeros(SHAPE))])
    assert math.isnan(summary["dice"]) and math.isnan(summary["cldice"]) and summary["fragments_pred"] == 0.0


@pytest.mark.parametrize(
    "pred, ref, kwargs, match",
    [
        (np.zeros((4, 4, 4)), np.zeros((4, 4, 5)), {}, "same shape"),
        (np.zeros((4, 4)), np.zeros((4, 4)), {}, "3D masks"),
        (np.zeros((4, 4, 4)), np.zeros((4, 4, 4)), {"connectivity": 8}, "connectivity: expected one of"),
        (np.array([[["a"]]]), np.zeros((1, 1, 1)), {}, "numbers or booleans"),
    ],
)
def test_bad_inputs_raise(pred, ref, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        compute_vessel_counts(pred, ref, **kwargs)


@pytest.mark.parametrize("counts, match", [([], "at least one subject"), (["x"], "expected a VesselCounts")])
def test_bad_summaries_raise(counts: list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        summarize_vessel_counts(counts)


def test_fragments_are_counted_like_separately_drawn_tubes() -> None:
    ref = _tube((5, 5)) | _tube((12, 12)) | _tube((19, 19))
    assert compute_vessel_counts(ref, ref).fragments_ref == 3 == ndimage.label(ref)[1]
