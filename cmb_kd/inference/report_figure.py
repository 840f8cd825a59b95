"""A picture of the detections for a reader: axial slices in radiological convention, each detection ringed and
numbered as in the lesion table, under a header that says what the picture is and is not."""

from __future__ import annotations

import functools
import io
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from cmb_kd.checks import as_affine, as_binary_mask, as_real_volume, as_spacing, spacing_of
from cmb_kd.inference.lesion_table import Lesion, as_lesions
from cmb_kd.inference.report_text import FOOTER, header_lines, wrap_header, zoom_caption
from cmb_kd.io import write_bytes_atomic

__all__ = ["radiological", "render_report_png", "write_report_png"]

_STRUCTURE_26 = np.ones((3, 3, 3), dtype=bool)
"""The line every report (picture and HTML page) carries."""
ZOOM_MM = 32.0
"""Field of view of the zoomed panels around each lesion, mm."""
MAX_ZOOMED = 6
"""Most lesions shown zoomed (the first of the lesion table); all are numbered on the slices."""


def _as_affine(affine_or_spacing: Any) -> np.ndarray:
    """The voxel-to-world affine: the one given, or a RAS-stored grid of the given voxel size."""
    array = np.asarray(
        affine_or_spacing.detach().cpu().numpy() if hasattr(affine_or_spacing, "detach") else affine_or_spacing
    )
    if array.shape == (4, 4):
        return as_affine(array, "affine_or_spacing")
    return np.diag([*as_spacing(array, "affine_or_spacing"), 1.0])


def radiological(volume: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int], np.ndarray]:
    """``volume`` reordered so that ``out[:, :, k]`` is an axial slice as a radiologist reads it, whatever the
    storage orientation: ``out[row, column]`` with rows from anterior (top) to posterior and columns from the
    patient's right (left of the picture) to the patient's left; ``k`` from inferior to superior.

    Returns:
        ``(out, axes, flips)``: the reordered array, the stored axis shown as rows, columns and slices, and whether
        each of those was reversed (to map stored voxel indices onto the picture).
    """
    import nibabel as nib

    codes = nib.orientations.io_orientation(affine)  # per stored axis: world axis (0 x, 1 y, 2 z) and direction
    axis_of = {int(world): stored for stored, (world, _) in enumerate(codes)}
    sign_of = {int(world): float(direction) for world, direction in codes}
    # rows: y from anterior (+y) down, so reversed where y grows with the index; columns: x from the patient's
    # right (+x in RAS) to the left (-x), so reversed where x grows with the index; slices: z upwards
    axes = (axis_of[1], axis_of[0], axis_of[2])
    flips = np.array([sign_of[1] > 0, sign_of[0] > 0, sign_of[2] < 0])
    out = np.transpose(volume, axes)
    for axis, flip in enumerate(flips):
        if flip:
            out = np.flip(out, axis)
    return np.ascontiguousarray(out), axes, flips


def _to_picture(voxel: Sequence[float], shape: Sequence[int], axes: Sequence[int], flips: np.ndarray) -> np.ndarray:
    """A stored voxel position in the (row, column, slice) frame of :func:`radiological`."""
    moved = np.array([voxel[a] for a in axes], dtype=np.float64)
    sizes = np.array([shape[a] for a in axes], dtype=np.float64)
    return np.where(flips, sizes - 1 - moved, moved)


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
    lesions: Sequence[Lesion] | None = None,
    phase_used: bool | None = None,
) -> Path:
    """Write the picture of :func:`render_report_png` to ``path``, atomically.

    Args:
        image, mask, affine_or_spacing, title, max_slices, lesions, phase_used: see :func:`render_report_png`.
        path: output ``.png`` file; its folder must exist.

    Returns:
        The written path.

    Raises:
        ValueError: as :func:`render_report_png`, or for a path not ending in ``.png``.
        OutputError: when the file cannot be written.
    """
    target = Path(path)
    if target.suffix.lower() != ".png":
        raise ValueError(f"path: expected a file name ending in .png, got {str(target)!r}")
    picture = render_report_png(
        image, mask, affine_or_spacing, title=title, max_slices=max_slices, lesions=lesions, phase_used=phase_used
    )
    return write_bytes_atomic(target, picture)


def _draw_slice(
    ax: Any,
    image: np.ndarray,
    outline: np.ndarray,
    labels: Sequence[tuple[float, float, str]],
    window: dict[str, Any],
    *,
    marks: bool = True,
) -> None:
    """One axial panel: the slice, each detection outlined and ringed, the ``labels`` (row, column, text) and,
    with ``marks``, the R/L and A/P marks."""
    ax.imshow(image, **window)
    if outline.any():
        ax.contour(outline.astype(np.float32), levels=[0.5], colors="red", linewidths=0.8)
        # a ring around each detection, so that one-voxel CMBs stay visible in a small picture
        spots, n_spots = ndimage.label(outline)
        centres = np.asarray(ndimage.center_of_mass(outline, spots, np.arange(1, n_spots + 1))).reshape(-1, 2)
        ax.scatter(centres[:, 1], centres[:, 0], s=160, facecolors="none", edgecolors="red", linewidths=0.8)
    for row, column, text in labels:
        right_half = column > 0.5 * image.shape[1]  # the label goes toward the middle, not off the picture
        ax.annotate(
            text,
            (column, row),
            xytext=(-8 if right_half else 8, 8),
            textcoords="offset points",
            ha="right" if right_half else "left",
            color="yellow",
            fontsize=7,
            bbox={"facecolor": "black", "alpha": 0.6, "pad": 1.0, "edgecolor": "none"},
        )
    if marks:
        for text, position, align in (("R", (0.02, 0.5), "left"), ("L", (0.98, 0.5), "right")):
            ax.text(*position, text, transform=ax.transAxes, color="cyan", fontsize=8, ha=align, va="center")
        for text, position in (("A", (0.5, 0.98)), ("P", (0.5, 0.02))):
            ax.text(*position, text, transform=ax.transAxes, color="cyan", fontsize=8, ha="center", va="center")


def render_report_png(
    image: Any,
    mask: Any,
    affine_or_spacing: Any,
    *,
    title: str | None = None,
    max_slices: int = 12,
    lesions: Sequence[Lesion] | None = None,
    phase_used: bool | None = None,
    location: Any = None,
) -> bytes:
    """Draw axial slices of ``image`` with the detections of ``mask`` outlined and ringed in red, as a PNG.

    Slices are drawn in radiological convention whatever the storage orientation (:func:`radiological`: the
    patient's right on the left of the picture, anterior at the top), marked R/L and A/P, with the in-plane aspect
    of the voxel size. The slices shown are, for each detection (26-connected component), the axial slice where it
    is largest; if there are more than ``max_slices`` such slices, ``max_slices`` of them evenly spread; with no
    detection, ``max_slices`` evenly spaced slices. Each lesion of ``lesions`` (the lesion table of ``mask``) is
    numbered beside its ring on the slice nearest its centroid, with its diameter and probability, and the first
    :data:`MAX_ZOOMED` are shown again below, zoomed (:data:`ZOOM_MM` around the lesion), unmarked beside marked, so
    that the dark dot itself can be judged. The header holds
    ``title`` (wrapped, never cut), the count, the voxel size, whether the phase was used, the location's counts
    per MARS class and burden class (when ``location``), and a warning for slices
    thicker than :data:`MAX_SLICE_MM`; the footer says :data:`FOOTER`. Intensities are windowed to the 1st-99th
    percentiles of the non-zero voxels. Drawn with matplotlib's Agg canvas (no display, no global backend change).

    Args:
        image: scan ``(X, Y, Z)`` as stored.
        mask: detections ``(X, Y, Z)`` (booleans or 0/1).
        affine_or_spacing: the 4x4 voxel-to-world affine, or the voxel size in mm ``(sx, sy, sz)`` of a RAS-stored
            scan.
        title: first header line (default: the number of detections).
        max_slices: most slices shown, >= 1.
        lesions: the lesion table of ``mask`` (:func:`lesion_table`), to number the detections; None: not numbered.
        phase_used: whether the phase image was used (said in the header); None: not said.
        location: the :class:`~cmb_kd.location.LocationResult` of ``lesions`` (said in the header); None: not said.

    Returns:
        The PNG file's bytes.

    Raises:
        ValueError: for arrays that are not 3D or of different shapes, NaN/Inf, a bad affine or spacing, a
            ``max_slices`` below 1, or ``lesions`` that are not :class:`Lesion` objects.
    """
    volume, detections, affine, lesions = _checked_inputs(image, mask, affine_or_spacing, max_slices, lesions)
    voxel = spacing_of(affine)
    shown, axes_order, flips = radiological(volume, affine)
    marked = radiological(detections, affine)[0]
    row_mm, column_mm = voxel[axes_order[0]], voxel[axes_order[1]]
    slices = _choose_slices(marked, max_slices)
    n_detections = int(ndimage.label(detections, structure=_STRUCTURE_26)[1])
    low, high = _intensity_window(volume)
    to_picture = functools.partial(_to_picture, shape=volume.shape, axes=axes_order, flips=flips)
    numbered = _numbered_labels(lesions, slices, to_picture)
    zoomed = lesions[:MAX_ZOOMED]
    lines = [
        (part, colour)
        for text, colour in header_lines(title, n_detections, voxel, phase_used, location)
        for part in wrap_header(text)
    ]
    figure, grid, per_row, span = _figure_grid(shown.shape, (row_mm, column_mm), len(slices), len(zoomed), len(lines))
    window = {"cmap": "gray", "vmin": low, "vmax": high, "interpolation": "nearest", "aspect": row_mm / column_mm}
    for index, z in enumerate(slices):
        row_index, column_index = divmod(index, per_row)
        ax = figure.add_subplot(grid[row_index, column_index * span : (column_index + 1) * span])
        ax.axis("off")
        _draw_slice(ax, shown[:, :, z], marked[:, :, z], numbered.get(z, []), window)
        ax.set_title(f"slice {z} (inferior to superior)", color="white", fontsize=8)
    first_zoom_row = math.ceil(len(slices) / per_row)
    half = (0.5 * ZOOM_MM / row_mm, 0.5 * ZOOM_MM / column_mm)
    regions = [] if location is None else [f"{side} {region}" for side, region in zip(location.sides, location.regions)]
    for index, lesion in enumerate(zoomed):
        cells = (grid[first_zoom_row + index // 2, 2 * (index % 2) + c] for c in (0, 1))
        caption = zoom_caption(lesion, regions[index] if index < len(regions) else None)
        _draw_zoomed(figure, cells, lesion, shown, marked, to_picture(lesion.centroid_voxel), half, window, caption)
    _draw_texts(figure, lines)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, facecolor="black")
    return buffer.getvalue()


def _checked_inputs(
    image: Any, mask: Any, affine_or_spacing: Any, max_slices: int, lesions: Sequence[Lesion] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Lesion]]:
    """The arguments of :func:`render_report_png` checked: the volume, the bool mask of its shape, the affine and
    the lesions as a list."""
    volume = as_real_volume(image, "image")
    detections = as_binary_mask(mask, "mask", volume.shape)
    affine = _as_affine(affine_or_spacing)
    if isinstance(max_slices, bool) or not isinstance(max_slices, int) or max_slices < 1:
        raise ValueError(f"max_slices: expected an integer >= 1, got {max_slices!r}")
    return volume, detections, affine, as_lesions(lesions)


def _intensity_window(volume: np.ndarray) -> tuple[float, float]:
    """The grey window: the 1st and 99th percentiles of the non-zero voxels ((0, 1) without any), at least 1 wide."""
    signal = volume[volume != 0]
    low, high = np.percentile(signal, [1, 99]) if signal.size else (0.0, 1.0)
    if high <= low:
        high = low + 1.0
    return low, high


def _numbered_labels(
    lesions: Sequence[Lesion], slices: Sequence[int], to_picture: Callable[[Sequence[float]], np.ndarray]
) -> dict[int | None, list[tuple[float, float, str]]]:
    """Per shown slice, the ``(row, column, text)`` label of each lesion whose centroid is nearest to it (the
    number, diameter and probability of the lesion table)."""
    numbered: dict[int | None, list[tuple[float, float, str]]] = {}
    for lesion in lesions:
        row, column, k = to_picture(lesion.centroid_voxel)
        nearest = min(slices, key=lambda z: abs(z - k)) if slices else None
        probability = "" if math.isnan(lesion.max_probability) else f", p {lesion.max_probability:.2f}"
        numbered.setdefault(nearest, []).append((row, column, f"{lesion.id}: {lesion.diameter_mm:.1f} mm{probability}"))
    return numbered


def _draw_texts(figure: Any, lines: Sequence[tuple[str, str]]) -> None:
    """The header ``lines`` at the top of ``figure`` (the first, the title, larger) and the footer at its foot."""
    for index, (text, colour) in enumerate(lines):
        y = 1.0 - (index + 0.7) * 0.25 / figure.get_figheight()
        figure.text(0.01, y, text, color=colour, fontsize=10 if index == 0 else 8, va="top", wrap=True)
    figure.text(0.01, 0.01, FOOTER, color="gray", fontsize=7, va="bottom")


def _figure_grid(
    shape: Sequence[int], pixel_mm: tuple[float, float], n_slices: int, n_zoomed: int, n_lines: int
) -> tuple[Any, Any, int, int]:
    """The black figure on an Agg canvas and its grid: rows of up to four slices (one or two slices span two grid
    columns each), then a row per two zoomed lesions, under a header of ``n_lines`` lines.

    Returns:
        ``(figure, grid, per_row, span)``: the figure, its grid spec, the slices per row and the grid columns each
        slice spans.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    zoom_rows = math.ceil(n_zoomed / 2)  # two lesions per row, each as an unmarked and a marked panel
    grid_columns = 4
    per_row = min(4, n_slices)
    span = min(2, grid_columns // per_row)  # one or two slices take two grid columns each
    rows = math.ceil(n_slices / per_row)
    height_mm, width_mm = shape[0] * pixel_mm[0], shape[1] * pixel_mm[1]
    panel = 2.4
    header_in = 0.25 * (n_lines + 2)  # the lines, a margin and the slice titles
    ratios = [span * height_mm / width_mm] * rows + [1.0] * zoom_rows
    figure = Figure(
        figsize=(panel * grid_columns, panel * sum(ratios) + 0.3 * (rows + zoom_rows) + header_in + 0.3),
        facecolor="black",
    )
    FigureCanvasAgg(figure)
    top = 1.0 - header_in / figure.get_figheight()
    grid = figure.add_gridspec(rows + zoom_rows, grid_columns, top=top, bottom=0.06, height_ratios=ratios)
    return figure, grid, per_row, span


def _draw_zoomed(
    figure: Any,
    cells: Any,
    lesion: Lesion,
    shown: np.ndarray,
    marked: np.ndarray,
    centre: np.ndarray,
    half: tuple[float, float],
    window: dict[str, Any],
    caption: str,
) -> None:
    """One lesion zoomed in two grid ``cells``: the slice nearest its ``centre`` (row, column, slice of the
    picture) within ``half`` pixels of it, unmarked, then outlined under ``caption``."""
    row, column, k = centre
    z = int(np.clip(round(k), 0, shown.shape[2] - 1))
    box = tuple(
        slice(max(int(round(c - h)), 0), min(int(round(c + h)) + 1, n))
        for c, h, n in zip((row, column), half, shown.shape[:2])
    )
    plain, outlined = (figure.add_subplot(cell) for cell in cells)
    plain.axis("off")
    outlined.axis("off")
    plain.imshow(shown[box + (z,)], **window)
    plain.set_title(f"{lesion.id}, slice {z}", color="white", fontsize=8)
    _draw_slice(outlined, shown[box + (z,)], marked[box + (z,)], [], window, marks=False)
    outlined.set_title(caption, color="yellow", fontsize=8)
