"""A picture of a vessel segmentation: maximum intensity projections of the image with the vessels overlaid.

Angiograms are read as maximum intensity projections (MIPs): bright vessels stand out of the darker tissue
whichever depth they lie at. The picture puts the three MIPs of the image side by side, axial, coronal and
sagittal, each with the projection of the predicted vessel mask drawn over it in colour, so a reader sees at a
glance which vessels were found and which were missed.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from cmb_kd.checks import as_affine, as_binary_mask, as_real_volume, spacing_of
from cmb_kd.inference.report_figure import radiological
from cmb_kd.io import prepare_folder, write_bytes_atomic

__all__ = ["MIP_OVERLAY_RGB", "render_mip_picture", "write_mip_png"]

MIP_OVERLAY_RGB = (1.0, 0.15, 0.1)
"""Colour of the vessels drawn over the grey MIPs (red)."""
_GAP = 4
"""Black pixels between two panels."""


def _window(mip: np.ndarray) -> np.ndarray:
    """Grey levels in [0, 1]: the MIP between its 1st and 99.5th percentiles (robust to a few hot voxels)."""
    low, high = np.percentile(mip, [1.0, 99.5])
    if high <= low:
        return np.zeros_like(mip, dtype=np.float64)
    return np.clip((mip - low) / (high - low), 0.0, 1.0)


def _panel(image: np.ndarray, mask: np.ndarray, axis: int, pixel_mm: tuple[float, float], alpha: float) -> np.ndarray:
    """One MIP along ``axis`` of the radiological volume as RGB, resampled to square pixels."""
    grey = _window(image.max(axis=axis))
    vessels = mask.max(axis=axis)
    if axis != 2:  # coronal and sagittal panels: superior at the top, as slices run from inferior to superior
        grey, vessels = np.flipud(grey.T), np.flipud(vessels.T)
    finest = min(pixel_mm)
    zoom = (pixel_mm[0] / finest, pixel_mm[1] / finest)
    grey = ndimage.zoom(grey, zoom, order=1, mode="nearest", grid_mode=True)
    vessels = ndimage.zoom(vessels.astype(np.uint8), zoom, order=0, mode="nearest", grid_mode=True).astype(bool)
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    rgb[vessels] = (1.0 - alpha) * rgb[vessels] + alpha * np.asarray(MIP_OVERLAY_RGB)
    return rgb


def render_mip_picture(image: Any, mask: Any, affine: Any, *, alpha: float = 0.7) -> np.ndarray:
    """The axial, coronal and sagittal MIPs of ``image`` with the MIPs of ``mask`` drawn over them.

    Panels, left to right, in radiological convention whatever the storage orientation (the affine decides):
    axial (anterior at the top, the patient's right on the picture's left), coronal (superior at the top, right on
    the left) and sagittal (superior at the top, anterior on the left). Each panel is resampled to square pixels of
    the finest voxel size, so a 0.5×0.5×0.8 mm volume is not squashed; intensities are windowed between the 1st
    and 99.5th percentiles of each MIP.

    Args:
        image: ``(X, Y, Z)`` image (numpy or torch), finite.
        mask: ``(X, Y, Z)`` binary vessel mask (0/1 or booleans) on the image's grid.
        affine: the 4×4 voxel-to-world affine of the grid (RAS mm).
        alpha: opacity of the vessel colour, in [0, 1].

    Returns:
        ``(H, W, 3)`` uint8 RGB picture.

    Raises:
        ValueError: a non-3D or non-finite image, a mask of another shape or with values other than 0 and 1, a bad
            affine, or ``alpha`` outside [0, 1].
    """
    volume = as_real_volume(image, "image")
    vessels = as_binary_mask(mask, "mask", volume.shape)
    matrix = as_affine(affine)
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha: expected an opacity in [0, 1], got {alpha!r}")
    shown, axes, _ = radiological(volume, matrix)
    shown_mask, _, _ = radiological(vessels, matrix)
    size = spacing_of(matrix)
    rows, columns, slices = (size[a] for a in axes)
    panels = [
        _panel(shown, shown_mask, 2, (rows, columns), float(alpha)),  # axial: rows A->P, columns R->L
        _panel(shown, shown_mask, 0, (slices, columns), float(alpha)),  # coronal: rows S->I, columns R->L
        _panel(shown, shown_mask, 1, (slices, rows), float(alpha)),  # sagittal: rows S->I, columns A->P
    ]
    height = max(p.shape[0] for p in panels)
    width = sum(p.shape[1] for p in panels) + _GAP * (len(panels) - 1)
    picture = np.zeros((height, width, 3))
    left = 0
    for panel in panels:
        top = (height - panel.shape[0]) // 2
        picture[top : top + panel.shape[0], left : left + panel.shape[1]] = panel
        left += panel.shape[1] + _GAP
    return np.round(picture * 255.0).astype(np.uint8)


def write_mip_png(path: str | os.PathLike, image: Any, mask: Any, affine: Any, *, alpha: float = 0.7) -> Path:
    """Render :func:`render_mip_picture` and write it as a PNG file, atomically (temporary name, then renamed).

    Args:
        path: the PNG file to write (its folder is created).
        image: ``(X, Y, Z)`` image.
        mask: ``(X, Y, Z)`` binary vessel mask on the image's grid.
        affine: 4×4 voxel-to-world affine.
        alpha: opacity of the vessel colour.

    Returns:
        The path written.

    Raises:
        ValueError: as :func:`render_mip_picture`.
        cmb_kd.io.OutputError: the folder cannot be created or the file cannot be written.
    """
    from matplotlib.image import imsave

    picture = render_mip_picture(image, mask, affine, alpha=alpha)
    prepare_folder(Path(path).parent)
    buffer = io.BytesIO()
    imsave(buffer, picture, format="png")
    return write_bytes_atomic(path, buffer.getvalue())
