"""One evaluated (prediction, reference) pair: the row of ``metrics_per_subject.csv``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cmb_kd.metrics.lesion_counts import LesionCounts

__all__ = ["SUBJECT_COLUMNS", "SubjectEvaluation"]

SUBJECT_COLUMNS: tuple[str, ...] = (
    "name",
    "prediction",
    "reference",
    "n_ref",
    "n_pred",
    "tp",
    "fp",
    "fn",
    "duplicates",
    "tpr",
    "ppv",
    "f1",
    "dice",
    "voxel_tp",
    "voxel_fp",
    "voxel_fn",
)
"""Columns of the per-subject table, in order."""


@dataclass(frozen=True)
class SubjectEvaluation:
    """Lesion and voxel counts of one prediction compared with its reference.

    Attributes:
        name: the input name ``NAME`` of the prediction ``NAME_cmb_mask.nii.gz``.
        prediction: path of the predicted mask.
        reference: path of the reference mask.
        counts: the counts of :func:`cmb_kd.metrics.compute_lesion_counts`.
    """

    name: str
    prediction: Path
    reference: Path
    counts: LesionCounts

    def as_row(self) -> dict[str, str | int | float]:
        """Returns the row with the keys of ``SUBJECT_COLUMNS``; undefined ratios are nan."""
        c = self.counts
        return {
            "name": self.name,
            "prediction": str(self.prediction),
            "reference": str(self.reference),
            "n_ref": c.n_ref,
            "n_pred": c.n_pred,
            "tp": c.tp,
            "fp": c.fp,
            "fn": c.fn,
            "duplicates": c.duplicates,
            "tpr": c.tpr,
            "ppv": c.ppv,
            "f1": c.f1,
            "dice": c.dice,
            "voxel_tp": c.voxel_tp,
            "voxel_fp": c.voxel_fp,
            "voxel_fn": c.voxel_fn,
        }
