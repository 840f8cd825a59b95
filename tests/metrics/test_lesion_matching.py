import numpy as np
import pytest
import torch

from cmb_kd.metrics import LesionCounts, compute_lesion_counts

SHAPE = (10, 10, 6)


def mask(*boxes):
    """A boolean (10, 10, 6) mask with the given (x0, x1, y0, y1, z0, z1) boxes set."""
    out = np.zeros(SHAPE, dtype=bool)
    for x0, x1, y0, y1, z0, z1 in boxes:
        out[x0:x1, y0:y1, z0:z1] = True
    return out


LESION_A = (1, 3, 1, 3, 1, 3)  # 8 voxels
LESION_B = (6, 8, 6, 8, 1, 3)  # 8 voxels, far from A


@pytest.mark.parametrize(
    "name, pred, ref, expected",
    [
        ("exact hit", mask(LESION_A), mask(LESION_A), LesionCounts(1, 0, 0, 0, 8, 0, 0)),
        (
            "two predictions on one lesion: 1 TP + 1 duplicate, no FP",
            mask((1, 2, 1, 2, 1, 2), (4, 5, 1, 2, 1, 2)),
            mask((1, 5, 1, 2, 1, 2)),
            LesionCounts(1, 0, 0, 1, 2, 0, 2),
        ),
        (
            "one prediction across two lesions: 1 TP + 1 FN",
            mask((1, 2, 1, 9, 1, 2)),
            mask((1, 2, 1, 2, 1, 2), (1, 2, 8, 9, 1, 2)),
            LesionCounts(1, 0, 1, 0, 2, 6, 0),
        ),
        (
            "spanning prediction plus a prediction on the second lesion: 2 TP",
            mask((1, 2, 1, 9, 1, 2), (1, 2, 8, 9, 3, 4)),
            mask((1, 2, 1, 2, 1, 2), (1, 2, 8, 9, 1, 4)),
            LesionCounts(2, 0, 0, 0, 3, 6, 1),
        ),
        ("no lesion, no prediction", mask(), mask(), LesionCounts()),
        ("empty prediction", mask(), mask(LESION_A, LESION_B), LesionCounts(0, 0, 2, 0, 0, 0, 16)),
        ("no lesion, one prediction", mask(LESION_B), mask(), LesionCounts(0, 1, 0, 0, 0, 8, 0)),
        ("miss and false positive", mask(LESION_B), mask(LESION_A), LesionCounts(0, 1, 1, 0, 0, 8, 8)),
    ],
)
def test_counting_rules(name, pred, ref, expected):
    assert compute_lesion_counts(pred, ref) == expected, name


def test_counts_do_not_depend_on_label_order():
    pred = mask((1, 2, 1, 9, 1, 2), (1, 2, 8, 9, 3, 4), (5, 6, 5, 6, 5, 6))
    ref = mask((1, 2, 1, 2, 1, 2), (1, 2, 8, 9, 1, 4), (8, 9, 8, 9, 0, 1))
    expected = compute_lesion_counts(pred, ref)
    for axes in [(0,), (1,), (2,), (0, 1, 2)]:
        assert compute_lesion_counts(np.flip(pred, axes), np.flip(ref, axes)) == expected
    assert compute_lesion_counts(pred.transpose(1, 0, 2), ref.transpose(1, 0, 2)) == expected


@pytest.mark.parametrize("connectivity, n_pred", [(26, 2), (18, 3), (6, 4)])
def test_connectivity(connectivity, n_pred):
    pred = np.zeros(SHAPE, dtype=bool)
    pred[1, 1, 1] = pred[2, 2, 2] = True  # corner neighbours: joined only with 26
    pred[4, 4, 1] = pred[5, 5, 1] = True  # edge neighbours: joined with 18 and 26
    counts = compute_lesion_counts(pred, np.zeros(SHAPE, dtype=bool), connectivity=connectivity)
    assert counts.fp == n_pred


@pytest.mark.parametrize(
    "spacing, max_distance_mm, tp",
    [
        ((1.0, 1.0, 1.0), None, 0),  # no overlap, no distance rule: FP + FN
        ((1.0, 1.0, 1.0), 2.5, 1),  # centroids 2 voxels apart along z
        ((1.0, 1.0, 3.0), 2.5, 0),  # ... but 6 mm apart with 3 mm slices
        ((1.0, 1.0, 3.0), 6.0, 1),
    ],
)
def test_centroid_distance(spacing, max_distance_mm, tp):
    pred, ref = np.zeros(SHAPE, dtype=bool), np.zeros(SHAPE, dtype=bool)
    pred[4, 4, 1] = True
    ref[4, 4, 3] = True
    counts = compute_lesion_counts(pred, ref, spacing=spacing, max_distance_mm=max_distance_mm)
    assert (counts.tp, counts.fp, counts.fn) == (tp, 1 - tp, 1 - tp)


def test_distance_matching_prefers_overlap_and_counts_near_duplicates():
    ref = mask((4, 5, 4, 5, 2, 3))
    pred = mask((4, 5, 4, 5, 2, 3), (4, 5, 4, 5, 4, 5))  # one overlapping, one 2 mm away
    counts = compute_lesion_counts(pred, ref, spacing=(1, 1, 1), max_distance_mm=3.0)
    assert (counts.tp, counts.fp, counts.duplicates) == (1, 0, 1)


@pytest.mark.parametrize(
    "pred, ref",
    [
        (np.array([0.2, 0.6]).reshape(1, 1, 2), np.array([0, 1]).reshape(1, 1, 2)),
        (torch.tensor([0.4, 0.9]).reshape(1, 1, 2), torch.tensor([False, True]).reshape(1, 1, 2)),
        (np.array([0, 3], dtype=np.uint8).reshape(1, 1, 2), np.array([0.0, 1.0]).reshape(1, 1, 2)),
    ],
)
def test_binarisation_and_input_types(pred, ref):
    assert compute_lesion_counts(pred, ref) == LesionCounts(1, 0, 0, 0, 1, 0, 0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"y_pred": np.zeros((4, 4, 4)), "y": np.zeros((4, 4, 5))}, r"same shape, got \(4, 4, 4\) and \(4, 4, 5\)"),
        ({"y_pred": np.zeros((4, 4)), "y": np.zeros((4, 4))}, r"3D masks"),
        ({"y_pred": np.array(["a"]), "y": np.zeros(1)}, "y_pred must hold numbers"),
        ({"connectivity": 8}, r"connectivity: expected one of \[6, 18, 26\], got 8"),
        ({"max_distance_mm": 2.0}, "spacing is required when max_distance_mm is set"),
        ({"max_distance_mm": -1.0, "spacing": (1, 1, 1)}, "max_distance_mm: expected a positive"),
        ({"max_distance_mm": 2.0, "spacing": (1, 1)}, "spacing: expected three positive numbers"),
        ({"max_distance_mm": 2.0, "spacing": (1, 0, 1)}, "spacing: expected three positive numbers"),
    ],
)
def test_bad_arguments(kwargs, match):
    arguments = {"y_pred": np.zeros((4, 4, 4)), "y": np.zeros((4, 4, 4)), **kwargs}
    with pytest.raises(ValueError, match=match):
        compute_lesion_counts(arguments.pop("y_pred"), arguments.pop("y"), **arguments)
