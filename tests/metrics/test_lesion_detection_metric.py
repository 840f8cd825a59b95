import numpy as np
import pytest
import torch
from monai.data import MetaTensor

from cmb_kd.metrics import LesionCounts, LesionDetectionMetric


def batch():
    """Two subjects (B, 1, 8, 8, 4): one hit + one FP, and one missed lesion."""
    pred = torch.zeros(2, 1, 8, 8, 4)
    ref = torch.zeros(2, 1, 8, 8, 4)
    ref[0, 0, 1:3, 1:3, 1] = 1
    pred[0, 0, 1:3, 1:2, 1] = 0.9
    pred[0, 0, 6, 6, 3] = 1
    ref[1, 0, 5, 5, 2] = 1
    return pred, ref


def test_batch_rows_and_aggregate():
    metric = LesionDetectionMetric(metric_name=("tpr", "ppv", "fp_avg", "f1", "dice"))
    pred, ref = batch()
    rows = metric(y_pred=pred, y=ref)
    assert rows.shape == (2, 7) and rows.dtype == torch.int64
    assert LesionCounts.from_sequence(rows[1].tolist()) == LesionCounts(fn=1, voxel_fn=1)
    tpr, ppv, fp_avg, f1, dice = (v.item() for v in metric.aggregate())
    assert (tpr, ppv, fp_avg, f1) == pytest.approx((0.5, 0.5, 0.5, 0.5))
    assert dice == pytest.approx(4 / (4 + 1 + 3))
    assert metric.summary()["n_subjects"] == 2


def test_list_input_equals_batch_input_and_reset():
    pred, ref = batch()
    as_batch = LesionDetectionMetric("f1")
    as_batch(pred, ref)
    as_list = LesionDetectionMetric("f1")
    as_list([p for p in pred], [r for r in ref])
    assert as_list.aggregate().item() == pytest.approx(as_batch.aggregate().item())
    as_list.reset()
    assert as_list.subject_counts() == []
    with pytest.raises(ValueError, match="no subject to aggregate"):
        as_list.aggregate()


def test_spacing_from_meta_tensor_affine():
    pred = torch.zeros(1, 1, 6, 6, 6)
    ref = torch.zeros(1, 1, 6, 6, 6)
    pred[0, 0, 3, 3, 1] = 1
    ref[0, 0, 3, 3, 3] = 1  # two slices apart
    thick = MetaTensor(ref, affine=torch.diag(torch.tensor([1.0, 1.0, 3.0, 1.0])))
    thin = MetaTensor(ref, affine=torch.eye(4))
    for label, tp in ((thick, 0.0), (thin, 1.0)):
        metric = LesionDetectionMetric("tp", max_distance_mm=2.5)
        metric(pred, label)
        assert metric.aggregate().item() == tp
    explicit = LesionDetectionMetric("tp", max_distance_mm=2.5, spacing=(1.0, 1.0, 1.0))
    explicit(pred, thick)  # the explicit spacing wins over the affine
    assert explicit.aggregate().item() == 1.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"metric_name": "f2"}, "metric_name 'f2' is not valid"),
        ({"metric_name": ()}, "metric_name must name at least one"),
        ({"connectivity": 4}, "connectivity: expected one of"),
        ({"max_distance_mm": 0.0}, "max_distance_mm: expected a positive"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LesionDetectionMetric(**kwargs)


@pytest.mark.parametrize(
    "pred, ref, match",
    [
        (torch.zeros(1, 2, 4, 4, 4), torch.zeros(1, 2, 4, 4, 4), r"\(B, 1, X, Y, Z\).*got \(1, 2, 4, 4, 4\)"),
        (torch.zeros(1, 1, 4, 4, 4), torch.zeros(1, 1, 4, 4, 5), r"got \(1, 1, 4, 4, 4\) and \(1, 1, 4, 4, 5\)"),
        (torch.zeros(1, 1, 4, 4, 4), None, "y \\(the reference mask\\) is required"),
    ],
)
def test_bad_shapes(pred, ref, match):
    with pytest.raises(ValueError, match=match):
        LesionDetectionMetric()(pred, ref)


def test_distance_without_spacing_is_refused():
    metric = LesionDetectionMetric(max_distance_mm=2.0)
    with pytest.raises(ValueError, match="spacing is required"):
        metric(torch.ones(1, 1, 2, 2, 2), torch.as_tensor(np.ones((1, 1, 2, 2, 2))))
