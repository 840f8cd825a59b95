"""Cumulative MONAI metric of lesion-level detection (TPR, PPV, FP_avg, F1) and voxel Dice."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from monai.data import MetaTensor

from cmb_kd.metrics.lesion_counts import LesionCounts
from cmb_kd.metrics.lesion_matching import compute_lesion_counts
from cmb_kd.metrics.lesion_summary import SUMMARY_KEYS, summarize_lesion_counts
from cmb_kd.metrics.pooled_counts_metric import PooledCountsMetric

__all__ = ["LesionDetectionMetric"]


def _spacing_of(tensor: torch.Tensor, batch_size: int) -> list[tuple[float, ...] | None]:
    if not isinstance(tensor, MetaTensor):
        return [None] * batch_size
    affine = torch.as_tensor(tensor.affine, dtype=torch.float64)
    if affine.ndim == 2:
        affine = affine.expand(batch_size, *affine.shape)
    spacing = torch.linalg.norm(affine[:, :3, :3], dim=1)
    return [tuple(float(s) for s in row) for row in spacing]


class LesionDetectionMetric(PooledCountsMetric):
    """Lesion-level CMB detection metrics and voxel Dice, accumulated over the subjects of an epoch.

    Each call matches the connected components of every item of the batch with
    :func:`cmb_kd.metrics.compute_lesion_counts` and buffers one row of :class:`LesionCounts` per item;
    :meth:`aggregate` pools the rows with :func:`cmb_kd.metrics.summarize_lesion_counts` (micro average over
    subjects, ``fp_avg`` = ΣFP / number of subjects), as in Table 2 of paper ``000``.

    Example:
        .. code-block:: python

            metric = LesionDetectionMetric(metric_name=("f1", "tpr", "fp_avg"))
            for batch in loader:
                metric(y_pred=binarised_prediction, y=batch["label"])  # (B, 1, X, Y, Z)
            f1, tpr, fp_avg = metric.aggregate()
            report = metric.summary()  # every key of SUMMARY_KEYS
            metric.reset()

    Args:
        metric_name: one name or a sequence of names among ``SUMMARY_KEYS`` (``"tpr"``, ``"ppv"``, ``"fp_avg"``,
            ``"f1"``, ``"dice"`` (pooled voxels), ``"dice_mean"`` (mean over subjects), and the pooled counts).
        connectivity: neighbourhood of the connected components, 6, 18 or 26.
        max_distance_mm: optional centroid distance in mm under which a non-overlapping component still matches.
        spacing: voxel size in mm along (X, Y, Z) used with ``max_distance_mm``; when None it is read from the
            affine of ``y`` (or ``y_pred``) if that is a ``MetaTensor``.

    Raises:
        ValueError: when ``metric_name`` is not a known name, or the matching options are invalid.
    """

    counts_type = LesionCounts
    summary_keys = SUMMARY_KEYS
    _pool = staticmethod(summarize_lesion_counts)

    def __init__(
        self,
        metric_name: str | Sequence[str] = "f1",
        *,
        connectivity: int = 26,
        max_distance_mm: float | None = None,
        spacing: Sequence[float] | None = None,
    ) -> None:
        super().__init__(metric_name)
        self.connectivity = connectivity
        self.max_distance_mm = max_distance_mm
        self.spacing = None if spacing is None else tuple(float(s) for s in spacing)
        # validate the matching options now rather than on the first batch
        probe = np.zeros((1, 1, 1), dtype=bool)
        compute_lesion_counts(
            probe,
            probe,
            spacing=self.spacing or ((1.0, 1.0, 1.0) if max_distance_mm is not None else None),
            max_distance_mm=max_distance_mm,
            connectivity=connectivity,
        )

    def _compute_tensor(self, y_pred: torch.Tensor, y: torch.Tensor | None = None, **kwargs: Any) -> torch.Tensor:
        """Counts lesions for every item of a batch.

        Args:
            y_pred: binarised prediction of shape (B, 1, X, Y, Z) (float values are thresholded at 0.5).
            y: reference mask of the same shape.
            kwargs: unused.

        Returns:
            An int64 tensor of shape (B, 7) holding the fields of :class:`LesionCounts` per item.

        Raises:
            ValueError: when ``y`` is missing, the shapes differ or are not (B, 1, X, Y, Z), or distance matching
                has no voxel spacing.
        """
        if y is None:
            raise ValueError("y (the reference mask) is required, got None.")
        if y_pred.ndim != 5 or y_pred.shape[1] != 1 or tuple(y_pred.shape) != tuple(y.shape):
            raise ValueError(
                "y_pred and y must both have shape (B, 1, X, Y, Z) with one foreground channel, got "
                f"{tuple(y_pred.shape)} and {tuple(y.shape)}; take the foreground channel or the argmax first."
            )
        batch_size = y_pred.shape[0]
        if self.spacing is not None:
            spacings: list[tuple[float, ...] | None] = [self.spacing] * batch_size
        else:
            spacings = _spacing_of(y, batch_size)
            if spacings[0] is None:
                spacings = _spacing_of(y_pred, batch_size)
        rows = []
        for index in range(batch_size):
            counts = compute_lesion_counts(
                y_pred[index, 0],
                y[index, 0],
                spacing=spacings[index],
                max_distance_mm=self.max_distance_mm,
                connectivity=self.connectivity,
            )
            rows.append(counts.as_tuple())
        return torch.as_tensor(rows, dtype=torch.int64).reshape(batch_size, len(LesionCounts.field_names()))
