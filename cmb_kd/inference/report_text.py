"""What a scan's report says, in the picture and on the page alike: the header lines (wrapped so that nothing of
them is cut), the caption of each zoomed lesion and the footer."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from typing import Any

from cmb_kd.inference.lesion_table import Lesion
from cmb_kd.inference.location_output import location_header_line
from cmb_kd.inference.scan_plausibility import MAX_SLICE_MM

__all__ = ["FOOTER", "HEADER_CHARACTERS", "header_lines", "wrap_header", "zoom_caption"]

FOOTER = "research use only; trained on synthetic data; not a diagnosis"
"""The last line of every report."""
HEADER_CHARACTERS = 90
"""Longest line of the picture's header, in characters: the narrowest picture holds that many at the title's size."""


def header_lines(
    title: str | None, n_detections: int, voxel: Sequence[float], phase_used: bool | None, location: Any = None
) -> list[tuple[str, str]]:
    """The header of a scan's report (the picture's and the HTML page's), one ``(text, colour)`` per line: the title,
    the acquisition, the location's counts per MARS class and burden class when located and, when the slices are
    thicker than the model card's range, a warning.

    Args:
        title: the first line; None: the number of detections.
        n_detections: number of detections (26-connected components of the mask).
        voxel: voxel size in mm ``(sx, sy, sz)``.
        phase_used: whether the phase image was used; None: not said.
        location: the :class:`~cmb_kd.location.LocationResult` of the detections (:func:`location_header_line`);
            None: no location line.

    Returns:
        The lines, each with a matplotlib/CSS colour name (``"white"``, ``"orange"`` for a warning).
    """
    thickness = max(voxel)
    acquisition = f"{n_detections} detection(s); voxels {voxel[0]:.2g} x {voxel[1]:.2g} x {voxel[2]:.2g} mm"
    if phase_used is not None:
        acquisition += "; phase used" if phase_used else "; magnitude only"
    lines = [(title if title is not None else f"{n_detections} detection(s)", "white"), (acquisition, "white")]
    if location is not None:
        lines.append((location_header_line(location), "white"))
    if thickness > MAX_SLICE_MM:
        lines.append(
            (
                f"warning: {thickness:.2g} mm slices, thicker than the {MAX_SLICE_MM:g} mm the model is validated for",
                "orange",
            )
        )
    return lines


def wrap_header(text: str, width: int = HEADER_CHARACTERS) -> list[str]:
    """A header line cut into lines of at most ``width`` characters, at spaces where it can and inside a word (a
    long scan name without spaces) where it must, so that nothing of it falls outside the picture."""
    return textwrap.wrap(text, width=width, break_long_words=True, break_on_hyphens=False) or [""]


def zoom_caption(lesion: Lesion, region: str | None = None) -> str:
    """The caption of a zoomed lesion: its number as in the lesion table, diameter, probability (when known) and
    side and MARS region (when located), e.g. ``2: 4.1 mm, p 0.93, left basal ganglia``."""
    parts = [f"{lesion.id}: {lesion.diameter_mm:.1f} mm"]
    if math.isfinite(lesion.max_probability):
        parts.append(f"p {lesion.max_probability:.2f}")
    if region is not None:
        parts.append(region.replace("_", " "))
    return ", ".join(parts)
