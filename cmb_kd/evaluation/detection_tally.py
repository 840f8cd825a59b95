"""Pooled lesion counts of one detection method on a set of scans, by overlap and by 5 mm centroid matching, and
split into lesions below and above 2 mm equivalent diameter (the generalisation benchmark's scores)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cmb_kd.metrics import LesionCounts, compute_lesion_counts, split_by_diameter

__all__ = ["CENTROID_MM", "SMALL_MM", "Tally"]

CENTROID_MM = 5.0
"""Centroid distance of the VALDO-style matching, mm."""
SMALL_MM = 2.0
"""Equivalent diameter separating small from large lesions, mm."""


@dataclass
class Tally:
    """Pooled counts of one method on one set of scans.

    Attributes:
        overlap: counts by overlap matching.
        centroid: counts by overlap or :data:`CENTROID_MM` centroid matching.
        small: centroid-matching counts of the lesions below :data:`SMALL_MM`.
        large: centroid-matching counts of the others.
        scans: the number of scans.
        seconds: the total time of the method on them.
    """

    overlap: LesionCounts = LesionCounts()
    centroid: LesionCounts = LesionCounts()
    small: LesionCounts = LesionCounts()
    large: LesionCounts = LesionCounts()
    scans: int = 0
    seconds: float = 0.0

    def add(self, prediction: np.ndarray, reference: np.ndarray, affine: np.ndarray, seconds: float) -> None:
        """Adds one scan.

        Args:
            prediction: the detections ``(X, Y, Z)``.
            reference: the reference lesions, same shape.
            affine: their voxel-to-world affine (for the voxel spacing).
            seconds: the method's time on the scan.
        """
        spacing = np.linalg.norm(affine[:3, :3], axis=0)
        near = {"spacing": spacing, "max_distance_mm": CENTROID_MM}
        small, large = split_by_diameter(reference, spacing, SMALL_MM)
        self.overlap += compute_lesion_counts(prediction, reference)
        self.centroid += compute_lesion_counts(prediction, reference, **near)
        self.small += compute_lesion_counts(prediction, small, **near)
        self.large += compute_lesion_counts(prediction, large, **near)
        self.scans += 1
        self.seconds += seconds

    def row(self) -> dict[str, float | int]:
        """The scores: F1, TPR, PPV (percent, one decimal; nan when undefined) and false positives per scan by
        both matchings, TPR of small and large lesions, and seconds per scan."""

        def pct(value: float) -> float:
            return round(100.0 * value, 1) if not math.isnan(value) else math.nan

        return {
            "scans": self.scans,
            "lesions": self.centroid.n_ref,
            "f1_overlap": pct(self.overlap.f1),
            "tpr_overlap": pct(self.overlap.tpr),
            "ppv_overlap": pct(self.overlap.ppv),
            "fp_per_scan_overlap": round(self.overlap.fp / max(self.scans, 1), 2),
            "f1_centroid": pct(self.centroid.f1),
            "tpr_centroid": pct(self.centroid.tpr),
            "ppv_centroid": pct(self.centroid.ppv),
            "fp_per_scan_centroid": round(self.centroid.fp / max(self.scans, 1), 2),
            "lesions_small": self.small.n_ref,
            "tpr_small": pct(self.small.tpr),
            "lesions_large": self.large.n_ref,
            "tpr_large": pct(self.large.tpr),
            "seconds_per_scan": round(self.seconds / max(self.scans, 1), 1),
        }
