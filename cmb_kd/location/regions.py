"""The regions of the Microbleed Anatomical Rating Scale (MARS), their classes and the side of a point.

MARS (Gregoire et al., Neurology 2009;73:1759-1766) rates CMBs in lobar regions (frontal, parietal, temporal,
occipital, insula), deep regions (basal ganglia, thalamus, internal capsule, external capsule, corpus callosum,
deep and periventricular white matter) and infratentorial regions (brainstem, cerebellum), each on the left or
the right. The rating sheet has one "deep and periventricular white matter" box; it is kept here as two labels
(``deep_white_matter``, ``periventricular_white_matter``) whose counts add up to that box.

Every region has an integer code (its label in :class:`cmb_kd.location.atlas.MarsAtlas`, 0 is outside the
atlas) and a class (``lobar``, ``deep``, ``infratentorial``; ``unlocated`` for code 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "OUTSIDE",
    "MARS_REGIONS",
    "LOCATION_CLASSES",
    "SIDES",
    "REGION_CLASS",
    "region_code",
    "region_name",
    "region_class",
    "side_of",
]

OUTSIDE = "outside"
"""Name of code 0: a point farther from every labelled voxel than the atlas' margin."""

MARS_REGIONS: tuple[str, ...] = (
    "frontal",
    "parietal",
    "temporal",
    "occipital",
    "insula",
    "basal_ganglia",
    "thalamus",
    "internal_capsule",
    "external_capsule",
    "corpus_callosum",
    "deep_white_matter",
    "periventricular_white_matter",
    "brainstem",
    "cerebellum",
)
"""MARS regions in label order: region ``MARS_REGIONS[i]`` has code ``i + 1``."""

LOCATION_CLASSES: tuple[str, ...] = ("lobar", "deep", "infratentorial")
"""The three MARS classes, in this order in every count and column."""

SIDES: tuple[str, ...] = ("left", "right")
"""Sides in the order of every count and column."""

REGION_CLASS: dict[str, str] = {
    **dict.fromkeys(MARS_REGIONS[:5], "lobar"),
    **dict.fromkeys(MARS_REGIONS[5:12], "deep"),
    **dict.fromkeys(MARS_REGIONS[12:], "infratentorial"),
    OUTSIDE: "unlocated",
}
"""Region name -> class (``unlocated`` for :data:`OUTSIDE`)."""

_CODES = {name: i + 1 for i, name in enumerate(MARS_REGIONS)} | {OUTSIDE: 0}
_NAMES = (OUTSIDE, *MARS_REGIONS)


def region_code(name: str) -> int:
    """The atlas label of a region name (0 for :data:`OUTSIDE`).

    Raises:
        ValueError: ``name`` is not a MARS region; the message lists the valid names.
    """
    if name not in _CODES:
        raise ValueError(f"region: expected one of {', '.join(_NAMES)}, got {name!r}")
    return _CODES[name]


def region_name(code: Any) -> str:
    """The region name of an atlas label (``outside`` for 0).

    Raises:
        ValueError: ``code`` is not an integer in ``0 .. len(MARS_REGIONS)``.
    """
    if isinstance(code, (bool, np.bool_)) or not isinstance(code, (int, np.integer)) or not 0 <= code < len(_NAMES):
        raise ValueError(f"code: expected an integer label in 0..{len(_NAMES) - 1}, got {code!r}")
    return _NAMES[int(code)]


def region_class(name: str) -> str:
    """The MARS class (``lobar``, ``deep``, ``infratentorial``; ``unlocated`` for :data:`OUTSIDE`) of a region.

    Raises:
        ValueError: ``name`` is not a MARS region.
    """
    region_code(name)
    return REGION_CLASS[name]


def side_of(x_mm: Any) -> str:
    """The side of a point from its template (MNI, RAS) x coordinate: ``left`` for x < 0, else ``right``.

    Midline structures (brainstem, corpus callosum) get the side of their centroid's x; x = 0 exactly counts as
    right.

    Raises:
        ValueError: ``x_mm`` is not a finite real number.
    """
    if isinstance(x_mm, (bool, np.bool_)) or not isinstance(x_mm, (int, float, np.integer, np.floating)):
        raise ValueError(f"x_mm: expected a finite number (MNI x in mm), got {x_mm!r}")
    if not np.isfinite(x_mm):
        raise ValueError(f"x_mm: expected a finite number (MNI x in mm), got {x_mm!r}")
    return "left" if x_mm < 0 else "right"
