"""Cumulative MONAI metric of vessel segmentation: voxel sensitivity, precision, Dice, clDice and fragments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from monai.metrics import CumulativeIterationMetric
from monai.utils import look_up_option

from cmb_kd.metrics.vessel_counts import VesselCounts
from cmb_kd.metrics.vessel_scoring import VESSEL_SUMMARY_KEYS, compute_vessel_counts, summarize_vessel_counts

__all__ = ["VesselSegmentationMetric"]


class VesselSegmentationMetric(CumulativeIterationMetric):
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

    def __init__(self, metric_name: str | Sequence[str] = "dice", *, connectivity: int = 26) -> None:
        super().__init__()
        names = (metric_name,) if isinstance(metric_name, str) else tuple(metric_name)
        if not names:
            raise ValueError(f"metric_name must name at least one of {VESSEL_SUMMARY_KEYS}, got an empty sequence.")
        try:
            self.metric_name = tuple(look_up_option(name, VESSEL_SUMMARY_KEYS) for name in names)
        except ValueError as err:
            raise ValueError(f"metric_name {metric_name!r} is not valid: {err}") from None
        self._single = isinstance(metric_name, str)
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

    def subject_counts(self) -> list[VesselCounts]:
        """Returns the buffered counts, one :class:`~cmb_kd.metrics.VesselCounts` per subject since the last reset."""
        buffer = self.get_buffer()
        if buffer is None:
            return []
        return [VesselCounts.from_sequence(row.tolist()) for row in buffer]

    def summary(self) -> dict[str, float]:
        """Returns every pooled metric (the keys of ``VESSEL_SUMMARY_KEYS``).

        Raises:
            ValueError: when no batch was seen since the last reset.
        """
        counts = self.subject_counts()
        if not counts:
            raise ValueError("no subject to aggregate: call the metric on at least one batch before aggregating.")
        return summarize_vessel_counts(counts)

    def aggregate(self) -> torch.Tensor | list[torch.Tensor]:  # type: ignore[override]
        """Pools the buffered subjects.

        Returns:
            A 0-dim float64 tensor when ``metric_name`` is one name, else a list of them in its order.

        Raises:
            ValueError: when no batch was seen since the last reset.
        """
        summary = self.summary()
        values = [torch.tensor(summary[name], dtype=torch.float64) for name in self.metric_name]
        return values[0] if self._single else values
