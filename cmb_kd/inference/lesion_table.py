"""The lesions of a CMB mask on the input grid: one :class:`Lesion` per component (a row of
``NAME_cmb_lesions.csv``: centroids in voxels and mm, volume, diameter, probability) and :func:`lesion_table`."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import ndimage

from cmb_kd.checks import as_affine, as_binary_mask, as_real_volume

__all__ = ["LESION_COLUMNS", "Lesion", "as_lesions", "lesion_table"]

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


def as_lesions(lesions: Sequence[Any] | None, name: str = "lesions") -> list[Lesion]:
    """``lesions`` as a list (None: empty), each checked to be a :class:`Lesion`.

    Raises:
        ValueError: naming ``name[i]`` for an item that is not a :class:`Lesion`.
    """
    checked = list(lesions or [])
    for index, lesion in enumerate(checked):
        if not isinstance(lesion, Lesion):
            raise ValueError(f"{name}[{index}]: expected a Lesion (from lesion_table), got {type(lesion).__name__}")
    return checked


_STRUCTURE_26 = np.ones((3, 3, 3), dtype=bool)


def lesion_table(mask: Any, affine: Any, probability: Any | None = None) -> list[Lesion]:
    """One :class:`Lesion` per 26-connected component of a binary mask.

    Lesions are ordered by centroid ``z``, then ``y``, then ``x`` (voxel indices, slice axis last) and numbered
    from 1. The voxel volume is ``|det(affine[:3, :3])|``, so sheared and oblique grids are measured correctly.

    Args:
        mask: binary mask ``(X, Y, Z)`` of 0/1 values or booleans, on the grid of ``affine``.
        affine: 4x4 voxel-to-world (RAS, mm) matrix of that grid.
        probability: optional probability map ``(X, Y, Z)`` with values in [0, 1]; gives ``max_probability``.

    Returns:
        The lesions; an empty list for an empty mask.

    Raises:
        ValueError: for a mask that is not 3D binary, a bad affine, or a probability map of another shape, with
            NaN/Inf or values outside [0, 1].
    """
    inside = as_binary_mask(mask, "mask")
    matrix = as_affine(affine, "affine")
    prob = None
    if probability is not None:
        prob = as_real_volume(probability, "probability", inside.shape)
        if prob.size and (prob.min() < 0.0 or prob.max() > 1.0):
            raise ValueError(f"probability: expected values in [0, 1], got range [{prob.min():.4g}, {prob.max():.4g}]")
    labels, n = ndimage.label(inside, structure=_STRUCTURE_26)
    if n == 0:
        return []
    index = np.arange(1, n + 1)
    counts = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    centroids = np.asarray(ndimage.center_of_mass(inside, labels, index), dtype=np.float64).reshape(n, 3)
    world = centroids @ matrix[:3, :3].T + matrix[:3, 3]
    voxel_volume = abs(float(np.linalg.det(matrix[:3, :3])))
    maxima = (
        np.full(n, math.nan)
        if prob is None
        else np.asarray(ndimage.maximum(prob, labels, index), dtype=np.float64).reshape(n)
    )
    keys = np.round(centroids, 6)
    order = np.lexsort((index, keys[:, 0], keys[:, 1], keys[:, 2]))
    lesions = []
    for rank, k in enumerate(order, start=1):
        volume = float(counts[k]) * voxel_volume
        lesions.append(
            Lesion(
                id=rank,
                centroid_voxel=tuple(float(v) for v in centroids[k]),
                centroid_mm=tuple(float(v) for v in world[k]),
                n_voxels=int(counts[k]),
                volume_mm3=volume,
                diameter_mm=(6.0 * volume / math.pi) ** (1.0 / 3.0),
                max_probability=float(maxima[k]),
            )
        )
    return lesions
