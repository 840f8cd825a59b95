"""Cumulative MONAI metric of vessel segmentation: voxel sensitivity, precision, Dice, clDice and fragments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from cmb_kd.metrics.pooled_counts_metric import PooledCountsMetric
from cmb_kd.metrics.vessel_counts import VesselCounts
from cmb_kd.metrics.vessel_scoring import VESSEL_SUMMARY_KEYS, compute_vessel_counts, summarize_vessel_counts

__all__ = ["VesselSegmentationMetric"]


class VesselSegmentationMetric(PooledCountsMetric):
    """Vessel segmentation metrics accumulated over the subjects of an epoch.

    Each call scores every item of the batch with :func:`cmb_kd.metrics.compute_vessel_counts` and buffers one row
    of :class:`~cmb_kd.metrics.VesselCounts` per item; :meth:`aggregate` pools the rows with
    :func:`cmb_kd.metrics.summarize_vessel_counts`.

    Example:
        .. code-block:: python

            metric = VesselSegmentationMetric(metric_name=("dice", "cldice", "fragment_ratio"))
            for batch in loader:
                metric(y_pred=binarised_prediction, y=batch["label"])  # (B, 1, X, Y, Z)
            dice, cldice, fragment_ratio = metric.aggregate()
            report = metric.summary()  # every key of VESSEL_SUMMARY_KEYS
            metric.reset()

    Args:
        metric_name: one name or a sequence of names among ``VESSEL_SUMMARY_KEYS`` (``"sensitivity"``,
            ``"precision"``, ``"dice"``, ``"dice_mean"``, ``"cl_sensitivity"``, ``"cl_precision"``, ``"cldice"``,
            ``"cldice_mean"``, ``"fragments_pred"``, ``"fragments_ref"``, ``"fragment_ratio"``, ``"n_subjects"``).
        connectivity: neighbourhood of the fragments, 6, 18 or 26.

    Raises:
        ValueError: when ``metric_name`` is not a known name or ``connectivity`` is not 6, 18 or 26.
    """

    counts_type = VesselCounts
    summary_keys = VESSEL_SUMMARY_KEYS
    _pool = staticmethod(summarize_vessel_counts)

    def __init__(self, metric_name: str | Sequence[str] = "dice", *, connectivity: int = 26) -> None:
        super().__init__(metric_name)
        compute_vessel_counts(torch.zeros(1, 1, 1), torch.zeros(1, 1, 1), connectivity=connectivity)  # validates
        self.connectivity = connectivity

    def _compute_tensor(self, y_pred: torch.Tensor, y: torch.Tensor | None = None, **kwargs: Any) -> torch.Tensor:
        """Counts every item of a batch.

        Args:
            y_pred: binarised prediction of shape (B, 1, X, Y, Z) (float values are thresholded at 0.5).
            y: reference mask of the same shape.
            kwargs: unused.

        Returns:
            An int64 tensor of shape (B, 9) holding the fields of :class:`~cmb_kd.metrics.VesselCounts` per item.

        Raises:
            ValueError: when ``y`` is missing or the shapes differ or are not (B, 1, X, Y, Z).
        """
        if y is None:
            raise ValueError("y (the reference mask) is required, got None.")
        if y_pred.ndim != 5 or y_pred.shape[1] != 1 or tuple(y_pred.shape) != tuple(y.shape):
            raise ValueError(
                "y_pred and y must both have shape (B, 1, X, Y, Z) with one foreground channel, got "
                f"{tuple(y_pred.shape)} and {tuple(y.shape)}; take the foreground channel or the argmax first."
            )
        rows = [
            compute_vessel_counts(y_pred[i, 0], y[i, 0], connectivity=self.connectivity).as_tuple()
            for i in range(y_pred.shape[0])
        ]
        return torch.as_tensor(rows, dtype=torch.int64).reshape(len(rows), len(VesselCounts.field_names()))
