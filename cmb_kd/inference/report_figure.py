"""A picture of the detections for a quick visual check: an axial mosaic with each detection outlined in red."""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from cmb_kd.checks import as_affine, as_binary_mask, as_real_volume, as_spacing, spacing_of
from cmb_kd.io import write_bytes_atomic

__all__ = ["render_report_png", "write_report_png"]

_STRUCTURE_26 = np.ones((3, 3, 3), dtype=bool)


def _voxel_size(affine_or_spacing: Any) -> tuple[float, float, float]:
    array = np.asarray(
        affine_or_spacing.detach().cpu().numpy() if hasattr(affine_or_spacing, "detach") else affine_or_spacing
    )
    if array.shape == (4, 4):
        return spacing_of(as_affine(array, "affine_or_spacing"))
    return as_spacing(array, "affine_or_spacing")


def _choose_slices(mask: np.ndarray, max_slices: int) -> list[int]:
    n_z = mask.shape[2]
    labels, n = ndimage.label(mask, structure=_STRUCTURE_26)
    if n == 0:
        return sorted({int(round(z)) for z in np.linspace(0, n_z - 1, min(max_slices, n_z) + 2)[1:-1]})
    # the slice of largest cross-section of each detection, then as many of them as fit, evenly spread
    per_slice = np.stack([np.bincount(labels[:, :, z].ravel(), minlength=n + 1)[1:] for z in range(n_z)], axis=1)
    best = sorted({int(z) for z in np.argmax(per_slice, axis=1)})
    if len(best) > max_slices:
        best = [best[int(i)] for i in np.round(np.linspace(0, len(best) - 1, max_slices))]
    return best


def write_report_png(
    image: Any,
    mask: Any,
    affine_or_spacing: Any,
    path: str | os.PathLike,
    *,
    title: str | None = None,
    max_slices: int = 12,
) -> Path:
    """Write the picture of :func:`render_report_png` to ``path``, atomically.

    Args:
        image: scan ``(X, Y, Z)``, slice axis last.
        mask: detections ``(X, Y, Z)`` (booleans or 0/1).
        affine_or_spacing: the 4x4 voxel-to-world affine, or the voxel size in mm ``(sx, sy, sz)``.
        path: output ``.png`` file; its folder must exist.
        title: figure title (default: the number of detections).
        max_slices: most slices shown, >= 1.

    Returns:
        The written path.

    Raises:
        ValueError: as :func:`render_report_png`, or for a path not ending in ``.png``.
        OutputError: when the file cannot be written.
    """
    target = Path(path)
    if target.suffix.lower() != ".png":
        raise ValueError(f"path: expected a file name ending in .png, got {str(target)!r}")
    picture = render_report_png(image, mask, affine_or_spacing, title=title, max_slices=max_slices)
    return write_bytes_atomic(target, picture)


def render_report_png(
    image: Any,
    mask: Any,
    affine_or_spacing: Any,
    *,
    title: str | None = None,
    max_slices: int = 12,
) -> bytes:
    """Draw an axial mosaic of ``image`` with the detections of ``mask`` outlined and ringed in red, as a PNG.

    The slices shown are, for each detection (26-connected component), the axial slice where it is largest;
    if there are more than ``max_slices`` such slices, ``max_slices`` of them evenly spread; with no detection,
    ``max_slices`` evenly spaced slices. Slices are drawn in voxel order, first axis to the right and second axis
    up (a neurological view for RAS-stored scans), with the in-plane aspect of the voxel size. Intensities are
    windowed to the 1st-99th percentiles of the non-zero voxels. Drawn with matplotlib's Agg canvas (no display,
    no global backend change).

    Args:
        image: scan ``(X, Y, Z)``, slice axis last.
        mask: detections ``(X, Y, Z)`` (booleans or 0/1).
        affine_or_spacing: the 4x4 voxel-to-world affine, or the voxel size in mm ``(sx, sy, sz)``.
        title: figure title (default: the number of detections).
        max_slices: most slices shown, >= 1.

    Returns:
        The PNG file's bytes.

    Raises:
        ValueError: for arrays that are not 3D or of different shapes, NaN/Inf, a bad affine or spacing, or a
            ``max_slices`` below 1.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    volume = as_real_volume(image, "image")
    detections = as_binary_mask(mask, "mask", volume.shape)
    sx, sy, _ = _voxel_size(affine_or_spacing)
    if isinstance(max_slices, bool) or not isinstance(max_slices, int) or max_slices < 1:
        raise ValueError(f"max_slices: expected an integer >= 1, got {max_slices!r}")

    slices = _choose_slices(detections, max_slices)
    n_detections = int(ndimage.label(detections, structure=_STRUCTURE_26)[1])
    signal = volume[volume != 0]
    low, high = np.percentile(signal, [1, 99]) if signal.size else (0.0, 1.0)
    if high <= low:
        high = low + 1.0
    columns = min(4, len(slices))
    rows = math.ceil(len(slices) / columns)
    width_mm, height_mm = volume.shape[0] * sx, volume.shape[1] * sy
    panel = 3.0
    figure = Figure(figsize=(panel * columns, panel * rows * height_mm / width_mm + 0.6), facecolor="black")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, columns, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, z in zip(axes.ravel(), slices):
        ax.imshow(
            volume[:, :, z].T, cmap="gray", vmin=low, vmax=high, origin="lower", interpolation="nearest", aspect=sy / sx
        )
        outline = detections[:, :, z]
        if outline.any():
            ax.contour(outline.T.astype(np.float32), levels=[0.5], colors="red", linewidths=0.8)
            # a ring around each detection, so that one-voxel CMBs stay visible in a small picture
            spots, n_spots = ndimage.label(outline)
            centres = np.asarray(ndimage.center_of_mass(outline, spots, np.arange(1, n_spots + 1))).reshape(-1, 2)
            ax.scatter(centres[:, 0], centres[:, 1], s=160, facecolors="none", edgecolors="red", linewidths=0.8)
        ax.set_title(f"z = {z}", color="white", fontsize=9)
    figure.suptitle(title if title is not None else f"{n_detections} detection(s)", color="white", fontsize=11)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, facecolor="black")
    return buffer.getvalue()
