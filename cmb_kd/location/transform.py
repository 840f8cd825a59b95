"""A transform from a scan's world (RAS mm) to the template's (MNI, RAS mm): a displacement field then an affine.

``T(p) = A (p + d(p))`` with ``d`` a dense displacement field (RAS mm) on a grid in the scan's world, zero off the
grid, interpolated trilinearly, and ``A`` a 4x4 RAS-to-RAS affine. This is the composite ITK's registration
returns (affine applied after the B-spline, both in LPS) written in RAS with numpy, so it can be applied,
pickled and stored without ITK.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import itk
import numpy as np
from scipy import ndimage

from cmb_kd.location.orientation import RAS_TO_LPS, itk_to_array

__all__ = ["TemplateTransform", "transform_from_itk"]


@dataclass(frozen=True)
class TemplateTransform:
    """Maps points of a scan's world (RAS mm) to MNI (RAS mm).

    Attributes:
        affine: 4x4 RAS-to-RAS matrix applied last.
        displacement: (3, X, Y, Z) float32 displacement in RAS mm on ``grid_affine``'s grid, or None (affine only).
        grid_affine: 4x4 RAS voxel-to-world matrix of the displacement grid (None with no displacement).
    """

    affine: np.ndarray
    displacement: np.ndarray | None = None
    grid_affine: np.ndarray | None = None

    def __post_init__(self) -> None:
        affine = np.asarray(self.affine, dtype=np.float64)
        if affine.shape != (4, 4) or not np.isfinite(affine).all():
            raise ValueError(f"affine: expected a finite 4x4 matrix, got shape {affine.shape}")
        if (self.displacement is None) != (self.grid_affine is None):
            raise ValueError("displacement, grid_affine: expected both or neither, got only one")
        if self.displacement is not None:
            shape = np.shape(self.displacement)
            if len(shape) != 4 or shape[0] != 3:
                raise ValueError(f"displacement: expected shape (3, X, Y, Z), got {shape}")
            if np.shape(self.grid_affine) != (4, 4):
                raise ValueError(f"grid_affine: expected a 4x4 matrix, got shape {np.shape(self.grid_affine)}")

    def apply(self, points_mm: Any) -> np.ndarray:
        """Maps (N, 3) scan-world RAS points (mm) to (N, 3) MNI RAS points (mm).

        Raises:
            ValueError: ``points_mm`` is not a finite (N, 3) array.
        """
        points = np.asarray(points_mm, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != 3 or not np.isfinite(points).all():
            raise ValueError(f"points_mm: expected finite (N, 3) coordinates in mm, got shape {points.shape}")
        moved = points + self.displacement_at(points)
        return moved @ self.affine[:3, :3].T + self.affine[:3, 3]

    def displacement_at(self, points_mm: np.ndarray) -> np.ndarray:
        """The (N, 3) RAS displacement in mm at scan-world points (zero off the grid or with no field)."""
        points = np.asarray(points_mm, dtype=np.float64)
        if self.displacement is None or len(points) == 0:
            return np.zeros_like(points)
        inverse = np.linalg.inv(self.grid_affine)
        index = (points @ inverse[:3, :3].T + inverse[:3, 3]).T
        samples = [ndimage.map_coordinates(self.displacement[k], index, order=1, cval=0.0) for k in range(3)]
        return np.stack(samples, axis=1).astype(np.float64)


def transform_from_itk(
    affine: itk.Transform, field: itk.Image | None, grid_affine: np.ndarray | None
) -> TemplateTransform:
    """Writes ITK's ``affine ∘ (identity + field)`` (LPS, fixed = scan, moving = template) in RAS.

    With ``F = diag(-1, -1, 1)``: the RAS displacement at RAS point p is ``F d_lps(F p)``, and an ITK affine
    ``x -> M x + t`` becomes ``p -> F M F p + F t``.

    Args:
        affine: an ITK matrix-offset transform (``GetMatrix``, ``GetOffset``) in LPS.
        field: the displacement field (vector image, LPS mm) on the scan-side grid, or None.
        grid_affine: 4x4 RAS voxel-to-world matrix of that grid (the grid ``field`` was sampled on).

    Returns:
        The :class:`TemplateTransform`.
    """
    flip = RAS_TO_LPS[:3, :3]
    matrix = np.asarray(itk.array_from_matrix(affine.GetMatrix()), dtype=np.float64)
    offset = np.asarray(affine.GetOffset(), dtype=np.float64)
    ras = np.eye(4)
    ras[:3, :3] = flip @ matrix @ flip
    ras[:3, 3] = flip @ offset
    if field is None:
        return TemplateTransform(affine=ras)
    vectors = itk_to_array(field).astype(np.float32)  # (X, Y, Z, 3) LPS
    displacement = np.moveaxis(vectors, -1, 0) * np.array([-1.0, -1.0, 1.0], dtype=np.float32)[:, None, None, None]
    return TemplateTransform(affine=ras, displacement=displacement, grid_affine=np.asarray(grid_affine, dtype=float))
