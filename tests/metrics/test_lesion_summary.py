import math

import pytest

from cmb_kd.metrics import SUMMARY_KEYS, LesionCounts, summarize_lesion_counts


def test_micro_pooling_and_fp_per_subject():
    counts = [
        LesionCounts(tp=2, fp=1, fn=0, voxel_tp=8, voxel_fp=2, voxel_fn=0),
        LesionCounts(tp=0, fp=1, fn=2, duplicates=1, voxel_tp=0, voxel_fp=3, voxel_fn=6),
        LesionCounts(),  # no lesion, no prediction: counts in N only
    ]
    summary = summarize_lesion_counts(counts)
    assert tuple(summary) == SUMMARY_KEYS
    assert summary["tpr"] == pytest.approx(2 / 4)
    assert summary["ppv"] == pytest.approx(2 / 4)
    assert summary["f1"] == pytest.approx(4 / 8)
    assert summary["fp_avg"] == pytest.approx(2 / 3)
    assert summary["dice"] == pytest.approx(16 / (16 + 5 + 6))
    assert summary["dice_mean"] == pytest.approx((16 / 18 + 0.0) / 2)  # the empty subject has no Dice
    assert (summary["n_subjects"], summary["n_ref"], summary["n_pred"], summary["duplicates"]) == (3, 4, 5, 1)


@pytest.mark.parametrize(
    "counts, nan_keys",
    [
        ([LesionCounts(), LesionCounts()], {"tpr", "ppv", "f1", "dice", "dice_mean"}),
        ([LesionCounts(fp=2, voxel_fp=3)], {"tpr"}),
        ([LesionCounts(fn=1, voxel_fn=3)], {"ppv"}),
    ],
)
def test_undefined_ratios_are_nan(counts, nan_keys):
    summary = summarize_lesion_counts(counts)
    assert {k for k, v in summary.items() if math.isnan(v)} == nan_keys


@pytest.mark.parametrize(
    "counts, match", [([], "at least one subject"), ([LesionCounts(), (1, 2)], r"counts\[1\]: expected a LesionCounts")]
)
def test_bad_input(counts, match):
    with pytest.raises(ValueError, match=match):
        summarize_lesion_counts(counts)
