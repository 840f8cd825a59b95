import pytest
import torch

from cmb_kd.metrics import LesionDetectionMetric, PooledCountsMetric, VesselSegmentationMetric


@pytest.mark.parametrize("metric_type", [LesionDetectionMetric, VesselSegmentationMetric])
def test_both_count_metrics_pool_through_the_shared_base(metric_type):
    metric = metric_type(metric_name=metric_type.summary_keys[:2])
    assert isinstance(metric, PooledCountsMetric)
    assert metric.subject_counts() == []
    with pytest.raises(ValueError, match="no subject to aggregate"):
        metric.aggregate()
    mask = torch.zeros(1, 1, 8, 8, 8)
    mask[0, 0, 3:5, 3:5, 3:5] = 1
    metric(y_pred=mask, y=mask)
    counts = metric.subject_counts()
    assert len(counts) == 1 and isinstance(counts[0], metric_type.counts_type)
    pooled = metric.aggregate()
    summary = metric.summary()
    assert [float(v) for v in pooled] == [summary[k] for k in metric_type.summary_keys[:2]]


@pytest.mark.parametrize("metric_type", [LesionDetectionMetric, VesselSegmentationMetric])
def test_unknown_or_empty_metric_names_are_refused(metric_type):
    with pytest.raises(ValueError, match="not valid"):
        metric_type(metric_name="nonsense")
    with pytest.raises(ValueError, match="at least one"):
        metric_type(metric_name=())
