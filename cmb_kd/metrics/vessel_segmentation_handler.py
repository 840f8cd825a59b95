"""Ignite handler reporting one vessel segmentation metric per evaluation epoch."""

from __future__ import annotations

from collections.abc import Callable

from monai.handlers import IgniteMetricHandler

from cmb_kd.metrics.vessel_segmentation_metric import VesselSegmentationMetric

__all__ = ["VesselSegmentation"]


class VesselSegmentation(IgniteMetricHandler):
    """Computes a pooled vessel segmentation metric over an epoch, a thin shell over
    :class:`~cmb_kd.metrics.VesselSegmentationMetric`.

    Attach it to a MONAI evaluator (``key_val_metric`` or ``additional_metrics`` of a bundle config) or to any
    ignite ``Engine`` whose output gives ``(y_pred, y)`` with binarised predictions of shape (B, 1, X, Y, Z). With
    ``save_details``, ``engine.state.metric_details[name]`` holds the per-subject counts, shape (N, 9), in the order
    of :meth:`cmb_kd.metrics.VesselCounts.field_names` (what MONAI's ``MetricsSaver`` writes per image).

    Args:
        metric_name: the one metric to report, a key of ``VESSEL_SUMMARY_KEYS``: ``"dice"`` (default),
            ``"sensitivity"``, ``"precision"``, ``"cldice"``, ``"fragment_ratio"``, ...
        connectivity: neighbourhood of the fragments, 6, 18 or 26.
        output_transform: callable extracting ``(y_pred, y)`` from ``engine.state.output``.
        save_details: whether to store the per-subject counts in ``engine.state.metric_details``.

    Raises:
        ValueError: when ``metric_name`` is not one known name or ``connectivity`` is not 6, 18 or 26.
    """

    def __init__(
        self,
        metric_name: str = "dice",
        *,
        connectivity: int = 26,
        output_transform: Callable = lambda x: x,
        save_details: bool = True,
    ) -> None:
        if not isinstance(metric_name, str):
            raise ValueError(f"metric_name: expected one metric name (a string), got {metric_name!r}")
        metric_fn = VesselSegmentationMetric(metric_name, connectivity=connectivity)
        super().__init__(metric_fn=metric_fn, output_transform=output_transform, save_details=save_details)
