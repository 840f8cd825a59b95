"""One detected lesion: a row of ``NAME_cmb_lesions.csv``."""

from __future__ import annotations

import dataclasses
import math

__all__ = ["LESION_COLUMNS", "Lesion"]

LESION_COLUMNS: tuple[str, ...] = (
    "id",
    "centroid_x",
    "centroid_y",
    "centroid_z",
    "centroid_x_mm",
    "centroid_y_mm",
    "centroid_z_mm",
    "n_voxels",
    "volume_mm3",
    "diameter_mm",
    "max_probability",
)
"""Columns of the per-lesion table, in order (voxel centroid, world RAS centroid in mm, size, probability)."""


@dataclasses.dataclass(frozen=True)
class Lesion:
    """One 26-connected component of a CMB mask on the input grid.

    Attributes:
        id: 1-based lesion number in the table's order.
        centroid_voxel: mean voxel index ``(x, y, z)`` of the component (0-based, slice axis last).
        centroid_mm: that centroid mapped through the affine to world RAS coordinates in mm.
        n_voxels: number of voxels.
        volume_mm3: ``n_voxels * |det(affine[:3, :3])|``.
        diameter_mm: equivalent sphere diameter ``(6 V / π)^(1/3)``.
        max_probability: highest probability inside the component; NaN when no probability map was given.
    """

    id: int
    centroid_voxel: tuple[float, float, float]
    centroid_mm: tuple[float, float, float]
    n_voxels: int
    volume_mm3: float
    diameter_mm: float
    max_probability: float = math.nan

    def as_row(self) -> dict[str, int | float]:
        """The lesion as a mapping of :data:`LESION_COLUMNS` to values."""
        x, y, z = self.centroid_voxel
        xm, ym, zm = self.centroid_mm
        values = (self.id, x, y, z, xm, ym, zm, self.n_voxels, self.volume_mm3, self.diameter_mm, self.max_probability)
        return dict(zip(LESION_COLUMNS, values))
