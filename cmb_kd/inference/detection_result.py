"""What :class:`CMBDetector` returns for one scan."""

from __future__ import annotations

import dataclasses

import numpy as np

from cmb_kd.candidates import Candidate
from cmb_kd.inference.lesion import Lesion

__all__ = ["DetectionResult"]


@dataclasses.dataclass(frozen=True)
class DetectionResult:
    """The detections of one scan, on the exact grid of the input.

    Attributes:
        mask: uint8 CMB mask ``(X, Y, Z)``, 1 inside a kept detection, with the input's shape.
        probability: float32 stage-2 probability ``(X, Y, Z)`` on the input grid (maximum over the working voxels
            inside each input voxel), before clean-up.
        affine: the input's 4x4 voxel-to-world affine (the mask's too).
        lesions: one :class:`Lesion` per 26-connected component of ``mask`` (see :func:`lesion_table`).
        count: number of lesions.
        candidates: the stage-1 candidates; ``voxel`` on the working grid, ``mm`` in world coordinates.
        timings: seconds spent per stage, in pipeline order.
        warnings: one line per doubt about the input scan (inverted contrast, signed intensities, slices thicker
            than the model is validated for; :func:`check_scan_plausibility`), also logged; empty for a plausible
            scan. :func:`run_inference` writes them to the ``warnings`` column of ``cmb_summary.csv``.
    """

    mask: np.ndarray
    probability: np.ndarray
    affine: np.ndarray
    lesions: list[Lesion]
    count: int
    candidates: list[Candidate]
    timings: dict[str, float]
    warnings: tuple[str, ...] = ()

    @property
    def total_seconds(self) -> float:
        """Sum of the stage timings."""
        return float(sum(self.timings.values()))
