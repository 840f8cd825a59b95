import math

import pytest

from cmb_kd.metrics import VesselCounts

FIELDS = (
    "voxel_tp", "voxel_fp", "voxel_fn", "skeleton_pred", "skeleton_pred_in_ref", "skeleton_ref",
    "skeleton_ref_in_pred", "fragments_pred", "fragments_ref",
)  # fmt: skip


def test_ratios_follow_their_definitions() -> None:
    counts = VesselCounts(8, 2, 6, 10, 9, 20, 15, 3, 2)
    assert counts.sensitivity == 8 / 14 and counts.precision == 8 / 10 and counts.dice == 16 / 24
    assert counts.cl_precision == 0.9 and counts.cl_sensitivity == 0.75
    assert counts.cldice == pytest.approx(2 * 0.9 * 0.75 / 1.65)
    assert counts.fragment_ratio == 1.5


@pytest.mark.parametrize(
    "counts, nan",
    [
        (VesselCounts(), {"sensitivity", "precision", "dice", "cl_precision", "cl_sensitivity", "cldice"}),
        (VesselCounts(voxel_fn=5, skeleton_ref=3, fragments_ref=1), {"precision", "cl_precision", "cldice"}),
        (VesselCounts(voxel_fp=5, skeleton_pred=3, fragments_pred=1), {"sensitivity", "cl_sensitivity", "cldice"}),
    ],
)
def test_empty_masks_give_nan_where_a_ratio_has_no_denominator(counts: VesselCounts, nan: set[str]) -> None:
    names = ("sensitivity", "precision", "dice", "cl_precision", "cl_sensitivity", "cldice")
    assert {name for name in names if math.isnan(getattr(counts, name))} == nan


def test_disjoint_centrelines_give_zero_cldice() -> None:
    assert VesselCounts(skeleton_pred=4, skeleton_ref=5).cldice == 0.0
    assert math.isnan(VesselCounts(fragments_pred=2).fragment_ratio)  # no reference fragment


def test_counts_add_field_by_field_and_round_trip_through_a_sequence() -> None:
    values = (1, 2, 3, 5, 4, 7, 6, 8, 9)
    a, b = VesselCounts(*values), VesselCounts(*([1] * 9))
    assert (a + b).as_tuple() == tuple(v + 1 for v in values)
    assert VesselCounts.field_names() == FIELDS
    assert VesselCounts.from_sequence([float(v) for v in a.as_tuple()]) == a


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"voxel_tp": -1}, "voxel_tp: expected a non-negative integer"),
        ({"fragments_pred": 1.5}, "fragments_pred"),
        ({"voxel_fp": True}, "voxel_fp"),
        ({"skeleton_pred": 2, "skeleton_pred_in_ref": 3}, "skeleton_pred_in_ref: expected at most skeleton_pred"),
        ({"skeleton_ref": 1, "skeleton_ref_in_pred": 2}, "skeleton_ref_in_pred: expected at most skeleton_ref"),
    ],
)
def test_bad_counts_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        VesselCounts(**kwargs)


@pytest.mark.parametrize("values, match", [([1] * 8, "expected 9 counts"), ([1.5] + [1] * 8, "whole number")])
def test_from_sequence_rejects_bad_rows(values: list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        VesselCounts.from_sequence(values)
