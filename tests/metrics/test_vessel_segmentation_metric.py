import math

import pytest
import torch

from cmb_kd.metrics import VESSEL_SUMMARY_KEYS, VesselSegmentationMetric, compute_vessel_counts, summarize_vessel_counts


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Two subjects: a vessel found whole, and a vessel cut in two by the prediction."""
    ref = torch.zeros(2, 1, 12, 12, 20)
    ref[:, 0, 5:8, 5:8, 2:18] = 1
    pred = ref.clone()
    pred[1, 0, :, :, 9:11] = 0
    return pred, ref


def test_aggregate_pools_the_subjects_of_every_call() -> None:
    pred, ref = _batch()
    metric = VesselSegmentationMetric(("dice", "cl_sensitivity", "fragment_ratio"))
    metric(y_pred=pred[:1], y=ref[:1])
    metric(y_pred=pred[1:], y=ref[1:])
    expected = summarize_vessel_counts([compute_vessel_counts(pred[i, 0], ref[i, 0]) for i in range(2)])
    dice, cl_sensitivity, fragment_ratio = metric.aggregate()
    assert dice.item() == pytest.approx(expected["dice"]) and fragment_ratio.item() == 1.5
    assert cl_sensitivity.item() == pytest.approx(expected["cl_sensitivity"]) and cl_sensitivity.item() < 1.0
    assert metric.summary() == expected and tuple(metric.summary()) == VESSEL_SUMMARY_KEYS
    assert [c.fragments_pred for c in metric.subject_counts()] == [1, 2]


def test_one_name_gives_one_tensor_and_reset_empties_the_buffer() -> None:
    pred, ref = _batch()
    metric = VesselSegmentationMetric("cldice")
    metric(y_pred=pred, y=ref)
    value = metric.aggregate()
    assert isinstance(value, torch.Tensor) and value.ndim == 0 and 0 < value.item() < 1
    metric.reset()
    assert metric.subject_counts() == []
    with pytest.raises(ValueError, match="no subject to aggregate"):
        metric.aggregate()


def test_empty_subjects_give_nan_not_an_error() -> None:
    metric = VesselSegmentationMetric("dice")
    metric(y_pred=torch.zeros(1, 1, 4, 4, 4), y=torch.zeros(1, 1, 4, 4, 4))
    assert math.isnan(metric.aggregate().item())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"metric_name": "f1"}, "metric_name 'f1' is not valid"),
        ({"metric_name": ()}, "at least one of"),
        ({"connectivity": 4}, "connectivity"),
    ],
)
def test_bad_arguments_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        VesselSegmentationMetric(**kwargs)


@pytest.mark.parametrize(
    "y_pred, y, match",
    [
        (torch.zeros(1, 2, 4, 4, 4), torch.zeros(1, 2, 4, 4, 4), "one foreground channel"),
        (torch.zeros(1, 1, 4, 4, 4), torch.zeros(1, 1, 4, 4, 5), "same shape|one foreground channel"),
        (torch.zeros(1, 1, 4, 4, 4), None, "y \\(the reference mask\\) is required"),
    ],
)
def test_bad_batches_raise(y_pred, y, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        VesselSegmentationMetric()(y_pred=y_pred, y=y)
