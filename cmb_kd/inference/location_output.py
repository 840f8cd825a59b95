"""The anatomical location of a scan's detections in the outputs of ``cmb-kd infer --location``.

:func:`locate_lesions` registers the scan to MNI and gives each lesion of the lesion table its MARS region
(:func:`cmb_kd.location.locate`); the other functions put that result into the outputs: the per-lesion columns of
``NAME_cmb_lesions.csv`` and of the HTML report's table (:func:`lesion_columns`, :func:`with_location`), the JSON
file ``NAME_cmb_location.json`` (:func:`location_json_bytes`), the report's header line
(:func:`location_header_line`) and the burden columns of ``cmb_summary.csv`` (:data:`LOCATION_SUMMARY_COLUMNS`,
:func:`location_summary_row`). :func:`located_or_warning` is the batch run's step: a scan whose registration fails
keeps its detections and gets a warning instead of a location.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from cmb_kd.inference.lesion_table import LESION_COLUMNS, Lesion, as_lesions
from cmb_kd.location import BURDEN_COLUMNS, LESION_LOCATION_COLUMNS, LocationResult, locate

if TYPE_CHECKING:
    from cmb_kd.inference.detection_result import DetectionResult

__all__ = [
    "LOCATION_SUFFIX",
    "LOCATION_SUMMARY_COLUMNS",
    "lesion_columns",
    "locate_lesions",
    "located_or_warning",
    "location_header_line",
    "location_json_bytes",
    "location_summary_row",
    "with_location",
]

logger = logging.getLogger(__name__)

LOCATION_SUFFIX = "_cmb_location"
"""Suffix added to the input name ``NAME`` of the location summary ``NAME_cmb_location.json``."""

LOCATION_SUMMARY_COLUMNS: tuple[str, ...] = tuple(column for column in BURDEN_COLUMNS if column != "n_cmb")
"""The burden columns of ``cmb_summary.csv`` (:data:`~cmb_kd.location.BURDEN_COLUMNS` less ``n_cmb``, which is the
summary's ``count``); empty in the rows of scans run without location."""


def _checked(location: Any, n_lesions: int) -> LocationResult:
    """``location`` checked to be a :class:`LocationResult` with one region per lesion."""
    if not isinstance(location, LocationResult):
        raise ValueError(f"location: expected a LocationResult (from cmb_kd.location.locate), got {location!r}")
    if len(location.regions) != n_lesions:
        raise ValueError(f"location: expected the regions of {n_lesions} lesion(s), got {len(location.regions)}")
    return location


def locate_lesions(
    image: Any, affine: Any, brain_mask: Any, lesions: Sequence[Lesion], **options: Any
) -> LocationResult:
    """Register the scan to MNI and locate each lesion's centroid (``centroid_mm``) in the MARS atlas.

    Args:
        image: the scan ``(X, Y, Z)`` on the input grid.
        affine: its 4x4 voxel-to-world affine (RAS, mm).
        brain_mask: the brain mask ``(X, Y, Z)`` on the input grid (``DetectionResult.brain_mask``).
        lesions: the lesion table of the scan's mask (:func:`lesion_table`).
        **options: ``settings`` and ``atlas`` of :func:`cmb_kd.location.locate`.

    Returns:
        The :class:`LocationResult`, its lesions in the table's order.

    Raises:
        ValueError: for bad inputs (e.g. no brain mask); a registration failure raises what ITK raised.
    """
    if brain_mask is None:
        raise ValueError("brain_mask: expected the brain mask on the input grid to register the scan, got None")
    centroids = np.array([lesion.centroid_mm for lesion in as_lesions(lesions)], dtype=np.float64).reshape(-1, 3)
    return locate(image, affine, brain_mask, centroids, **options)


def located_or_warning(result: DetectionResult, image: Any, name: str) -> tuple[DetectionResult, tuple[str, ...]]:
    """``result`` with its location (:meth:`DetectionResult.locate`), or unchanged with a warning that says why
    there is none: a registration that fails (any ``Exception``, logged with its traceback at DEBUG level) loses
    the location of one scan, never its detections."""
    try:
        return result.locate(image), ()
    except Exception as err:  # ITK raises RuntimeError, bad inputs ValueError, a missing module ImportError
        logger.debug("%s: location failed", name, exc_info=True)
        detail = " ".join(str(err).split())[:200]
        warning = f"location failed ({type(err).__name__}: {detail}); outputs written without location"
        logger.warning("%s: %s", name, warning)
        return result, (warning,)


def lesion_columns(location: LocationResult | None) -> tuple[str, ...]:
    """The columns of the lesion table: :data:`LESION_COLUMNS`, then the location's when there is one."""
    return LESION_COLUMNS if location is None else (*LESION_COLUMNS, *LESION_LOCATION_COLUMNS)


def with_location(rows: Sequence[Mapping[str, Any]], location: LocationResult | None) -> list[dict[str, Any]]:
    """The lesion table's rows, each with its lesion's region, class, side and MNI coordinates when ``location``.

    Raises:
        ValueError: ``location`` is not a :class:`LocationResult` with one region per row.
    """
    if location is None:
        return [dict(row) for row in rows]
    return [{**row, **extra} for row, extra in zip(rows, _checked(location, len(rows)).lesion_rows())]


def location_json_bytes(name: str, lesions: Sequence[Lesion], location: LocationResult) -> bytes:
    """The UTF-8 JSON file ``NAME_cmb_location.json``: the scan's name, its burden (total, burden class, flags,
    counts per class and per region and side; :meth:`LocationResult.summary`) and one entry per lesion (its ``id``
    in the lesion table, region, class, side and MNI coordinates in mm).

    Raises:
        ValueError: ``location`` is not a :class:`LocationResult` with one region per lesion.
    """
    lesions = as_lesions(lesions)
    summary = _checked(location, len(lesions)).summary()
    summary["lesions"] = [{"id": lesion.id, **row} for lesion, row in zip(lesions, summary["lesions"])]
    return (json.dumps({"name": name, **summary}, indent=2) + "\n").encode("utf-8")


def location_header_line(location: LocationResult) -> str:
    """The report's header line of a location: the counts per MARS class and the burden class."""
    burden = _checked(location, len(location.regions)).burden
    counts = ", ".join(f"{burden.class_total(name)} {name}" for name in ("lobar", "deep", "infratentorial"))
    unlocated = burden.class_total("unlocated")
    counts += f", {unlocated} unlocated" if unlocated else ""
    flags = [flag.replace("_", " ") for flag in ("strictly_lobar", "mixed") if getattr(burden, flag)]
    return f"location (MARS): {counts}; burden class {burden.burden_class}" + "".join(f"; {f}" for f in flags)


def location_summary_row(location: LocationResult | None) -> dict[str, str]:
    """The :data:`LOCATION_SUMMARY_COLUMNS` of a scan's summary row as text (flags ``true``/``false``); every
    cell empty without a location."""
    if location is None:
        return dict.fromkeys(LOCATION_SUMMARY_COLUMNS, "")
    row = _checked(location, len(location.regions)).row()
    return {column: _text(row[column]) for column in LOCATION_SUMMARY_COLUMNS}


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)
