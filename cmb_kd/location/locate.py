"""Anatomical location of lesions: register the scan to MNI, look each centroid up in the MARS atlas, count.

The inference layer calls :func:`locate` with the scan, its affine, its brain mask and the lesion centroids in
world mm (the ``centroid_*_mm`` columns of the lesion table); :func:`assign_regions` does the look-up alone for
points already in MNI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cmb_kd.location.atlas import MarsAtlas, load_mars_atlas
from cmb_kd.location.burden import Burden, burden
from cmb_kd.location.regions import REGION_CLASS, region_name, side_of
from cmb_kd.location.registration import RegistrationSettings, register_to_template
from cmb_kd.location.transform import TemplateTransform

__all__ = ["LESION_LOCATION_COLUMNS", "LocationResult", "assign_regions", "locate"]

LESION_LOCATION_COLUMNS: tuple[str, ...] = ("region", "location_class", "side", "mni_x_mm", "mni_y_mm", "mni_z_mm")
"""Columns of :meth:`LocationResult.lesion_rows`, in order."""


def _centroids(centroids_mm: Any, name: str = "centroids_mm") -> np.ndarray:
    try:
        points = np.asarray(centroids_mm, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name}: expected (N, 3) coordinates in mm, got {type(centroids_mm).__name__}") from err
    if points.size == 0:
        return np.zeros((0, 3))
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"{name}: expected (N, 3) coordinates in mm, got shape {points.shape}")
    if not np.isfinite(points).all():
        n_bad = int((~np.isfinite(points)).sum())
        raise ValueError(f"{name}: expected finite coordinates in mm, got NaN/Inf in {n_bad} value(s)")
    return points


def assign_regions(points_mni: Any, atlas: MarsAtlas | None = None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """MARS region and side of points in MNI space.

    Args:
        points_mni: (N, 3) MNI (RAS) coordinates in mm; an empty sequence gives empty results.
        atlas: the atlas; :func:`~cmb_kd.location.atlas.load_mars_atlas` when None.

    Returns:
        ``(regions, sides)``: region names (``outside`` off the atlas) and ``left``/``right`` by the sign of x.

    Raises:
        ValueError: ``points_mni`` is not a finite (N, 3) array.
    """
    points = _centroids(points_mni, "points_mni")
    atlas = load_mars_atlas() if atlas is None else atlas
    codes = atlas.lookup(points) if len(points) else np.zeros(0, dtype=np.uint8)
    regions = tuple(region_name(int(code)) for code in codes)
    sides = tuple(side_of(float(x)) for x in points[:, 0])
    return regions, sides


@dataclass(frozen=True)
class LocationResult:
    """Where the lesions of one scan are, and the scan's burden.

    Attributes:
        centroids_mm: (N, 3) lesion centroids in the scan's world (RAS mm), as given.
        mni_mm: (N, 3) the same points in MNI (RAS mm).
        regions: MARS region of each lesion (``outside`` when off the atlas).
        sides: ``left`` or ``right`` of each lesion (sign of its MNI x).
        transform: the scan-to-MNI transform.
        burden: counts and flags of the scan.
    """

    centroids_mm: np.ndarray
    mni_mm: np.ndarray
    regions: tuple[str, ...]
    sides: tuple[str, ...]
    transform: TemplateTransform
    burden: Burden

    @property
    def classes(self) -> tuple[str, ...]:
        """MARS class of each lesion (``lobar``, ``deep``, ``infratentorial``, ``unlocated``)."""
        return tuple(REGION_CLASS[region] for region in self.regions)

    def lesion_rows(self) -> list[dict[str, str | float]]:
        """One mapping of :data:`LESION_LOCATION_COLUMNS` per lesion, in the input order."""
        return [
            dict(zip(LESION_LOCATION_COLUMNS, (r, c, s, *(round(float(v), 2) for v in p))))
            for r, c, s, p in zip(self.regions, self.classes, self.sides, self.mni_mm)
        ]

    def summary(self) -> dict[str, Any]:
        """A JSON-serialisable summary: the burden (:meth:`Burden.as_dict`) and the lesions."""
        return {**self.burden.as_dict(), "lesions": self.lesion_rows()}

    def row(self) -> dict[str, int | str | bool]:
        """The scan's flat CSV row (:data:`~cmb_kd.location.burden.BURDEN_COLUMNS`)."""
        return self.burden.as_row()


def locate(
    volume: Any,
    affine: Any,
    brain_mask: Any,
    centroids_mm: Any,
    *,
    settings: RegistrationSettings | None = None,
    atlas: MarsAtlas | None = None,
) -> LocationResult:
    """Registers the scan to MNI and assigns each lesion centroid a MARS region and side.

    Args:
        volume: (X, Y, Z) scan, any voxel size and orientation.
        affine: 4x4 voxel-to-world (RAS, mm) matrix of ``volume``.
        brain_mask: (X, Y, Z) brain mask (> 0.5 inside).
        centroids_mm: (N, 3) lesion centroids in the scan's world (RAS mm); may be empty.
        settings: registration options (defaults when None).
        atlas: the MARS atlas (the cached one when None).

    Returns:
        The :class:`LocationResult`.

    Raises:
        ValueError: bad inputs, ``"name: expected …, got …"``.
    """
    points = _centroids(centroids_mm)
    transform = register_to_template(volume, affine, brain_mask, settings)
    mni = transform.apply(points) if len(points) else np.zeros((0, 3))
    regions, sides = assign_regions(mni, atlas)
    return LocationResult(points, mni, regions, sides, transform, burden(regions, sides))
