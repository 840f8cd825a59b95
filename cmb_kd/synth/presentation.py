"""How a scanner presents and stores a reconstructed magnitude: skull stripping, intensity warp, scale, type, axes."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from cmb_kd.synth.scanner_draw import ScannerDraw

__all__ = ["strip_mask_hr", "warp", "store", "orientation", "reorient"]

#: Percentile of the brain magnitude that the intensity warp maps to itself.
_WARP_PERCENTILE = 99.0


def strip_mask_hr(brain: np.ndarray, margin_mm: float, hr_spacing: np.ndarray) -> np.ndarray:
    """The brain eroded (margin < 0) or dilated (margin > 0) by ``|margin_mm|`` mm, on the HR grid.

    Args:
        brain: boolean HR brain mask (X, Y, Z).
        margin_mm: signed margin in mm.
        hr_spacing: HR voxel size per axis in mm, (3,).

    Returns:
        Boolean mask (X, Y, Z); ``brain`` itself for a zero margin or an empty brain.
    """
    if margin_mm == 0 or not brain.any():
        return brain
    border = np.ceil(abs(margin_mm) / hr_spacing).astype(int) + 2
    idx = np.argwhere(brain)
    lo = np.maximum(idx.min(axis=0) - border, 0)
    hi = np.minimum(idx.max(axis=0) + border + 1, brain.shape)
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    local = brain[box]
    if margin_mm > 0:
        local = ndimage.distance_transform_edt(~local, sampling=hr_spacing) <= margin_mm
    else:
        local = ndimage.distance_transform_edt(local, sampling=hr_spacing) > -margin_mm
    out = np.zeros_like(brain)
    out[box] = local
    return out


def warp(magnitude: np.ndarray, brain: np.ndarray, draw: ScannerDraw) -> tuple[np.ndarray, float | None]:
    """Monotonic intensity warp fixing 0 and the brain's 99th percentile (returned as the reference).

    Args:
        magnitude: float32 magnitude (X, Y, Z).
        brain: boolean brain mask of the same shape.
        draw: the scanner (``intensity_warp``, ``gamma``, ``warp_slopes``).

    Returns:
        ``(warped, reference)``; the magnitude itself and ``None`` for the ``"none"`` warp.

    Raises:
        ValueError: if the brain is empty and a warp is drawn.
    """
    if draw.intensity_warp == "none":
        return magnitude, None
    if not brain.any():
        raise ValueError("subject.brain_mask: the brain is empty on the rendered grid; the intensity warp needs it")
    reference = max(float(np.percentile(magnitude[brain], _WARP_PERCENTILE)), 1e-12)
    x = magnitude / np.float32(reference)
    if draw.intensity_warp == "gamma":
        y = np.power(x, np.float32(draw.gamma))
    else:
        slopes = np.asarray(draw.warp_slopes, dtype=np.float64)
        knots_x = np.linspace(0.0, 1.0, len(slopes) + 1)
        knots_y = np.concatenate([[0.0], np.cumsum(slopes)]) / slopes.sum()
        last = slopes[-1] / slopes.sum() * len(slopes)
        y = np.where(x <= 1.0, np.interp(x, knots_x, knots_y), 1.0 + (x - 1.0) * last)
    return (y * reference).astype(np.float32), reference


def store(image: np.ndarray, keep: np.ndarray, draw: ScannerDraw) -> tuple[np.ndarray, float]:
    """Background, global scale and data type; integer types take the largest scale <= the drawn one that fits.

    Args:
        image: float32 image (X, Y, Z).
        keep: boolean mask of the voxels the presentation keeps.
        draw: the scanner (``presentation``, ``dtype``, ``intensity_scale``).

    Returns:
        ``(stored, scale)``: the image in the drawn type (NaN outside ``keep`` for ``"skull_stripped_nan"``) and
        the scale applied.
    """
    dtype = np.dtype(draw.dtype)
    if draw.presentation == "skull_stripped_zero":
        image = np.where(keep, image, np.float32(0.0))
    if dtype.kind == "f":
        stored = (image * np.float32(draw.intensity_scale)).astype(dtype)
        if draw.presentation == "skull_stripped_nan":
            stored[~keep] = np.nan
        return stored, float(draw.intensity_scale)
    top = float(np.iinfo(dtype).max)
    peak = float(image.max()) if image.size else 0.0
    scale = min(float(draw.intensity_scale), top / peak) if peak > 0 else float(draw.intensity_scale)
    stored = np.clip(np.rint(image * np.float32(scale)), 0, top).astype(dtype)
    return stored, scale


def orientation(shape: tuple[int, int, int], draw: ScannerDraw) -> np.ndarray:
    """4x4 matrix from stored voxel indices to rendered voxel indices.

    Args:
        shape: rendered grid shape.
        draw: the scanner (``axis_permutation``, ``flips``).

    Returns:
        The 4×4 matrix.
    """
    matrix = np.zeros((4, 4))
    matrix[3, 3] = 1.0
    for stored_axis, rendered_axis in enumerate(draw.axis_permutation):
        if draw.flips[stored_axis]:
            matrix[rendered_axis, stored_axis] = -1.0
            matrix[rendered_axis, 3] = shape[rendered_axis] - 1
        else:
            matrix[rendered_axis, stored_axis] = 1.0
    return matrix


def reorient(array: np.ndarray, draw: ScannerDraw) -> np.ndarray:
    """A rendered array in the stored axis order and directions (see :func:`orientation`).

    Args:
        array: array on the rendered grid (X, Y, Z).
        draw: the scanner (``axis_permutation``, ``flips``).

    Returns:
        A contiguous array of the stored shape.
    """
    out = np.transpose(array, draw.axis_permutation)
    flipped = tuple(axis for axis, f in enumerate(draw.flips) if f)
    return np.ascontiguousarray(np.flip(out, axis=flipped) if flipped else out)
