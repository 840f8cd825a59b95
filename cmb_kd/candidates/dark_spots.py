"""Threshold + morphology candidates: local dark spots kept when their size and shape fit a microbleed."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from cmb_kd.candidates.component_shape import component_shape
from cmb_kd.checks import as_mask, as_positive, as_spacing, as_volume

__all__ = ["dark_spot_score"]

_MAD_TO_SD = 1.4826
"""Scale from the median absolute deviation to the standard deviation of a normal distribution."""


def _box_size(diameter_mm: float, spacing: tuple[float, float, float]) -> tuple[int, int, int]:
    """Odd box size in voxels per axis covering at least ``diameter_mm``."""
    return tuple(2 * math.ceil(diameter_mm / (2.0 * s) - 0.5) + 1 for s in spacing)  # type: ignore[return-value]


def _background(volume: np.ndarray, inside: np.ndarray, size: tuple[int, int, int]) -> np.ndarray:
    """Grey-level closing restricted to the brain: dark structures narrower than the box are filled in."""
    low = np.float32(volume[inside].min())
    high = np.float32(volume[inside].max())
    dilated = ndimage.maximum_filter(np.where(inside, volume, low), size=size, mode="nearest")
    return ndimage.minimum_filter(np.where(inside, dilated, high), size=size, mode="nearest")


def dark_spot_score(
    image: np.ndarray,
    brain_mask: np.ndarray,
    spacing: Sequence[float],
    *,
    k: float = 3.0,
    background_diameter_mm: float = 12.0,
    diameter_range_mm: tuple[float, float] = (1.5, 14.0),
    max_elongation: float = 1.8,
) -> np.ndarray:
    """Score map of dark spots that pass volume and roundness constraints (threshold + morphology source).

    The threshold-segmentation-with-morphological-constraints stage of the two-stage FRST detector
    (``003_d1ee2ec489957e65``, Sec. 3.2 and Fig. 4), written for thick-slice grids. The local background is the
    grey-level closing of the image by a box of ``background_diameter_mm`` within the brain (dark structures
    narrower than the box are filled in, so bias fields and tissue contrast cancel); the relative darkening
    ``(background - image) / background`` is standardised over the brain with the median and the MAD
    (robust SDs). Voxels more than ``k`` robust SDs dark form 26-connected components; a component is kept when
    its equivalent-sphere diameter lies in ``diameter_range_mm`` (CMBs are 2–10 mm; the default adds margin
    for partial volume on thick slices) and its elongation (:func:`~cmb_kd.candidates.component_shape`) is at most
    ``max_elongation`` (tubes such as veins are rejected).

    Args:
        image: 3D image ``(X, Y, Z)`` (slice axis last), CMBs dark (T2*-weighted magnitude or SWI).
        brain_mask: 3D brain mask of the image's shape; nothing outside it is scored.
        spacing: voxel size in mm along ``(X, Y, Z)``.
        k: darkness threshold in robust SDs.
        background_diameter_mm: size of the closing box in mm (larger than the largest CMB).
        diameter_range_mm: ``(min, max)`` equivalent-sphere diameter in mm of kept components.
        max_elongation: largest accepted ``sqrt(λ1/λ2)`` (>= 1).

    Returns:
        float32 map ``(X, Y, Z)``: the darkness in robust SDs on voxels of kept components, 0 elsewhere (so
        values are either 0 or above ``k``).

    Raises:
        ValueError: if the image is not a finite 3D array, the mask does not match or is empty, the spacing is not
            three positive sizes, ``k``/``background_diameter_mm`` are not positive, ``diameter_range_mm`` is not
            an increasing pair of non-negative numbers, or ``max_elongation`` < 1.
    """
    volume = as_volume(image, "image")
    inside = as_mask(brain_mask, volume.shape, "brain_mask")
    voxel = as_spacing(spacing, "spacing")
    k = as_positive(k, "k")
    background_diameter_mm = as_positive(background_diameter_mm, "background_diameter_mm")
    try:
        low, high = (float(v) for v in diameter_range_mm)
    except (TypeError, ValueError) as err:
        raise ValueError(f"diameter_range_mm: expected (min, max) in mm, got {diameter_range_mm!r}") from err
    if not (math.isfinite(low) and math.isfinite(high) and 0.0 <= low < high):
        raise ValueError(f"diameter_range_mm: expected 0 <= min < max (finite, mm), got {diameter_range_mm!r}")
    max_elongation = as_positive(max_elongation, "max_elongation")
    if max_elongation < 1.0:
        raise ValueError(f"max_elongation: expected a ratio >= 1 (1 is a perfect ball), got {max_elongation}")

    background = _background(volume, inside, _box_size(background_diameter_mm, voxel))
    darkening = np.zeros(volume.shape, np.float32)
    positive = inside & (background > 0)
    darkening[positive] = (background[positive] - volume[positive]) / background[positive]
    values = darkening[inside]
    centre = float(np.median(values))
    spread = _MAD_TO_SD * float(np.median(np.abs(values - centre)))
    out = np.zeros(volume.shape, np.float32)
    if spread <= 0.0:
        return out
    zscore = (darkening - centre) / spread
    labels, n_labels = ndimage.label((zscore > k) & inside, structure=np.ones((3, 3, 3), bool))
    if n_labels == 0:
        return out
    _, diameter, elongation = component_shape(labels, n_labels, voxel)
    keep = np.concatenate([[False], (diameter >= low) & (diameter <= high) & (elongation <= max_elongation)])
    kept = keep[labels]
    out[kept] = zscore[kept]
    return out
