"""Ignite handler reporting one lesion-level detection metric (or voxel Dice) per evaluation epoch."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from monai.handlers import IgniteMetricHandler

from cmb_kd.metrics.lesion_detection_metric import LesionDetectionMetric

__all__ = ["LesionDetection"]


class LesionDetection(IgniteMetricHandler):
    """Computes a pooled CMB detection metric over an epoch, as a thin shell over :class:`LesionDetectionMetric`.

    Attach it to a MONAI evaluator (``key_val_metric`` or ``additional_metrics`` of a bundle config) or to any
    ignite ``Engine`` whose output gives ``(y_pred, y)`` with binarised predictions of shape (B, 1, X, Y, Z).
    With ``save_details``, ``engine.state.metric_details[name]`` holds the per-subject counts, shape (N, 7), in
    the order of :meth:`cmb_kd.metrics.LesionCounts.field_names`.

    Args:
        metric_name: the one metric to report: ``"f1"`` (default), ``"tpr"``, ``"ppv"``, ``"fp_avg"``,
            ``"dice"``, ``"dice_mean"`` or a pooled count (see ``SUMMARY_KEYS``).
        connectivity: neighbourhood of the connected components, 6, 18 or 26.
        max_distance_mm: optional centroid distance in mm under which a non-overlapping component still matches.
        spacing: voxel size in mm along (X, Y, Z) for ``max_distance_mm``; default: from a ``MetaTensor`` affine.
        output_transform: callable extracting ``(y_pred, y)`` from ``engine.state.output``.
        save_details: whether to store the per-subject counts in ``engine.state.metric_details``.

    Raises:
        ValueError: when ``metric_name`` is not one known name, or the matching options are invalid.
    """

    def __init__(
        self,
        metric_name: str = "f1",
        *,
        connectivity: int = 26,
        max_distance_mm: float | None = None,
        spacing: Sequence[float] | None = None,
        output_transform: Callable = lambda x: x,
        save_details: bool = True,
    ) -> None:
        if not isinstance(metric_name, str):
            raise ValueError(f"metric_name: expected one metric name (a string), got {metric_name!r}")
        metric_fn = LesionDetectionMetric(
            metric_name, connectivity=connectivity, max_distance_mm=max_distance_mm, spacing=spacing
        )
        super().__init__(metric_fn=metric_fn, output_transform=output_transform, save_details=save_details)
