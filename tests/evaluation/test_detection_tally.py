"""Tests of cmb_kd.evaluation.detection_tally: pooled counts by overlap and by centroid distance, split by size."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _test_files import ANISOTROPIC_AFFINE

from cmb_kd.evaluation import CENTROID_MM, SMALL_MM, Tally
from cmb_kd.metrics import LesionCounts

SHAPE = (40, 40, 10)


def _scan() -> tuple[np.ndarray, np.ndarray]:
    """Reference and prediction on ANISOTROPIC_AFFINE (0.5 x 0.5 x 3 mm, 0.75 mm^3 voxels).

    Reference: L1, 6 voxels (4.5 mm^3, equivalent diameter 2.05 mm: large); L2, 5 voxels (3.75 mm^3, 1.93 mm:
    small); L3, 1 voxel (small). Prediction: P1 on L1 (overlap); P2 beside L2, 8 voxels of 0.5 mm along y from it
    (centroids 4 mm apart, no shared voxel); P3 far from every lesion. By overlap: 1 TP (L1), 2 FN, 2 FP; with
    centroids within 5 mm: 2 TP (L1, L2), 1 FN (L3), 1 FP (P3).
    """
    reference = np.zeros(SHAPE, np.uint8)
    reference[5:8, 5:7, 2] = 1  # L1
    reference[20:25, 5, 2] = 1  # L2
    reference[30, 30, 5] = 1  # L3
    prediction = np.zeros(SHAPE, np.uint8)
    prediction[6, 5, 2] = 1  # P1
    prediction[22, 13, 2] = 1  # P2
    prediction[35, 35, 8] = 1  # P3
    return prediction, reference


def test_constants_are_the_benchmark_ones() -> None:
    assert (CENTROID_MM, SMALL_MM) == (5.0, 2.0)


def test_add_counts_a_hand_made_scan_by_both_matchings_and_sizes() -> None:
    prediction, reference = _scan()
    tally = Tally()
    tally.add(prediction, reference, ANISOTROPIC_AFFINE, seconds=3.0)
    assert (tally.overlap.tp, tally.overlap.fp, tally.overlap.fn) == (1, 2, 2)
    assert (tally.centroid.tp, tally.centroid.fp, tally.centroid.fn) == (2, 1, 1)
    assert (tally.small.tp, tally.small.fn) == (1, 1)  # L2 found, L3 missed
    assert (tally.large.tp, tally.large.fn) == (1, 0)  # L1
    assert (tally.scans, tally.seconds) == (1, 3.0)


def test_row_scores_pooled_over_scans() -> None:
    prediction, reference = _scan()
    tally = Tally()
    tally.add(prediction, reference, ANISOTROPIC_AFFINE, seconds=3.0)
    tally.add(prediction, reference, ANISOTROPIC_AFFINE, seconds=1.0)
    assert tally.row() == {
        "scans": 2,
        "lesions": 6,
        "f1_overlap": 33.3,  # 2*2 / (2*2 + 4 + 4)
        "tpr_overlap": 33.3,
        "ppv_overlap": 33.3,
        "fp_per_scan_overlap": 2.0,
        "f1_centroid": 66.7,  # 2*4 / (2*4 + 2 + 2)
        "tpr_centroid": 66.7,
        "ppv_centroid": 66.7,
        "fp_per_scan_centroid": 1.0,
        "lesions_small": 4,
        "tpr_small": 50.0,
        "lesions_large": 2,
        "tpr_large": 100.0,
        "seconds_per_scan": 2.0,
    }


def test_row_of_an_empty_tally_has_nan_ratios_and_zero_rates() -> None:
    row = Tally().row()
    assert row["scans"] == 0 and row["lesions"] == 0
    assert all(math.isnan(row[k]) for k in ("f1_overlap", "tpr_centroid", "ppv_centroid", "tpr_small", "tpr_large"))
    assert (row["fp_per_scan_overlap"], row["fp_per_scan_centroid"], row["seconds_per_scan"]) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize(
    ("voxels", "small"),
    [(1, True), (5, True), (6, False), (12, False)],  # 0.75 mm^3 voxels: 2 mm is 5.59 voxels
)
def test_lesions_split_at_two_mm_equivalent_diameter(voxels: int, small: bool) -> None:
    reference = np.zeros(SHAPE, np.uint8)
    reference[10 : 10 + voxels, 10, 4] = 1
    diameter = (6.0 * voxels * 0.75 / math.pi) ** (1.0 / 3.0)
    assert (diameter < SMALL_MM) == small
    tally = Tally()
    tally.add(reference, reference, ANISOTROPIC_AFFINE, seconds=0.0)
    assert (tally.small.n_ref, tally.large.n_ref) == ((1, 0) if small else (0, 1))
    assert tally.small.tp + tally.large.tp == 1


@pytest.mark.parametrize(
    ("spacing", "offset", "matched"),
    [
        ((0.5, 0.5, 3.0), (0, 9, 0), True),  # 4.5 mm along y
        ((0.5, 0.5, 3.0), (0, 11, 0), False),  # 5.5 mm
        ((1.0, 1.0, 1.0), (0, 9, 0), False),  # 9 mm: the spacing is the affine's
        ((1.0, 1.0, 1.0), (0, 0, 2), True),  # 2 mm along z
        ((0.5, 0.5, 3.0), (0, 0, 2), False),  # 6 mm along z
    ],
)
def test_centroid_matching_reads_the_spacing_from_the_affine(spacing, offset, matched: bool) -> None:
    affine = np.diag([*spacing, 1.0])
    affine[:3, :3] = affine[:3, :3] @ np.diag([-1.0, 1.0, 1.0])  # a flipped axis keeps its spacing
    reference = np.zeros(SHAPE, np.uint8)
    reference[10, 10, 3] = 1
    prediction = np.zeros(SHAPE, np.uint8)
    prediction[10 + offset[0], 10 + offset[1], 3 + offset[2]] = 1
    tally = Tally()
    tally.add(prediction, reference, affine, seconds=0.0)
    assert tally.overlap == LesionCounts(tp=0, fp=1, fn=1, voxel_fp=1, voxel_fn=1)
    assert (tally.centroid.tp, tally.centroid.fp, tally.centroid.fn) == ((1, 0, 0) if matched else (0, 1, 1))
