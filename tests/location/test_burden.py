import json

import pytest

from cmb_kd.location.burden import BURDEN_COLUMNS, burden, burden_class


@pytest.mark.parametrize("count, expected", [(0, "0"), (1, "1"), (2, "2-4"), (4, "2-4"), (5, ">=5"), (40, ">=5")])
def test_burden_class(count, expected):
    assert burden_class(count) == expected


@pytest.mark.parametrize(
    "regions, strictly, boston, mixed, cls",
    [
        ([], False, False, False, "0"),
        (["frontal"], True, False, False, "1"),
        (["frontal", "occipital", "insula"], True, True, False, "2-4"),
        (["frontal", "thalamus"], False, False, True, "2-4"),
        (["frontal", "parietal", "cerebellum"], False, True, True, "2-4"),
        (["frontal", "parietal", "brainstem"], False, False, True, "2-4"),
        (["basal_ganglia", "thalamus", "deep_white_matter", "brainstem", "cerebellum"], False, False, False, ">=5"),
        (["frontal", "temporal", "outside"], False, False, False, "2-4"),
        (["temporal"] * 6, True, True, False, ">=5"),
    ],
)
def test_flags_on_hand_built_tables(regions, strictly, boston, mixed, cls):
    result = burden(regions, ["left"] * len(regions))
    assert (result.strictly_lobar, result.boston_strictly_lobar_2plus, result.mixed) == (strictly, boston, mixed)
    assert result.burden_class == cls and result.total == len(regions)


def test_counts_per_region_side_and_class():
    result = burden(
        ["frontal", "frontal", "thalamus", "cerebellum", "outside"], ["left", "right", "left", "right", "left"]
    )
    row = result.as_row()
    assert tuple(row) == BURDEN_COLUMNS
    assert (row["n_frontal"], row["n_frontal_left"], row["n_frontal_right"]) == (2, 1, 1)
    assert (row["n_lobar"], row["n_deep"], row["n_infratentorial"], row["n_unlocated"]) == (2, 1, 1, 1)
    assert (row["n_left"], row["n_right"], row["n_cmb"]) == (3, 2, 5)
    summary = json.loads(json.dumps(result.as_dict()))
    assert summary["by_region"]["thalamus"] == {"left": 1, "right": 0}
    assert summary["by_class"]["unlocated"] == 1


@pytest.mark.parametrize(
    "call, match",
    [(lambda: burden_class(-1), "count: expected an integer >= 0"), (lambda: burden_class(1.5), "count: expected"),
     (lambda: burden_class(True), "count: expected"), (lambda: burden(["frontal"], []), "sides: expected one side"),
     (lambda: burden(["lobe"], ["left"]), "region: expected one of"),
     (lambda: burden(["frontal"], ["up"]), "sides: expected one of left, right"),
     (lambda: burden("frontal", "left"), "expected sequences"),
     (lambda: burden([], []).class_total("lobe"), "name: expected one of")],
)  # fmt: skip
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
