"""Intensity standardisation of a scan by statistics taken inside the brain only."""

from __future__ import annotations

from typing import Any

import numpy as np
from monai.utils import look_up_option

__all__ = ["STANDARDISATION_METHODS", "BrainStandardisation"]

STANDARDISATION_METHODS: tuple[str, ...] = ("robust", "zscore")
"""``robust``: (x - median) / (1.4826 MAD); ``zscore``: (x - mean) / SD; both over brain voxels."""

_MAD_TO_SD = 1.4826


class BrainStandardisation:
    """Put a scan on a scanner-independent intensity scale using the brain's own statistics.

    The centre and scale are computed over the voxels of the brain mask and applied to the whole volume (voxels
    outside the brain are kept, on the same scale, so that crops reaching past the brain edge look as they did in
    training). With ``method="robust"`` (default) the centre is the median and the scale 1.4826 times the median
    absolute deviation, so CMBs, veins and bright CSF barely move them; ``"zscore"`` uses the mean and SD. A scale
    below ``eps`` (a flat brain) falls back to the SD and then to 1.

    Args:
        method: one of :data:`STANDARDISATION_METHODS`.
        eps: smallest usable scale.

    Raises:
        ValueError: for an unknown method or a non-positive ``eps``.
    """

    def __init__(self, method: str = "robust", *, eps: float = 1e-6) -> None:
        self.method = look_up_option(method, STANDARDISATION_METHODS)
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0:
            raise ValueError(f"eps: expected a positive number, got {eps!r}")
        self.eps = float(eps)

    def __call__(self, image: Any, brain_mask: Any) -> np.ndarray:
        """Standardise ``image``.

        Args:
            image: scan ``(X, Y, Z)``.
            brain_mask: brain mask ``(X, Y, Z)`` (non-zero inside).

        Returns:
            The standardised scan, float32 ``(X, Y, Z)``.

        Raises:
            ValueError: for arrays of different shapes or an empty brain mask.
        """
        volume = np.asarray(image, dtype=np.float32)
        inside = np.asarray(brain_mask) != 0
        if volume.shape != inside.shape:
            raise ValueError(f"brain_mask: expected the image's shape {volume.shape}, got {inside.shape}")
        values = volume[inside].astype(np.float64)
        if values.size == 0:
            raise ValueError("brain_mask: expected at least one brain voxel, got an empty mask")
        if self.method == "robust":
            centre = float(np.median(values))
            scale = _MAD_TO_SD * float(np.median(np.abs(values - centre)))
        else:
            centre = float(values.mean())
            scale = float(values.std())
        if scale < self.eps:
            scale = float(values.std())
        if scale < self.eps:
            scale = 1.0
        return ((volume - np.float32(centre)) / np.float32(scale)).astype(np.float32, copy=False)
