"""World conventions between NIfTI and ITK: NIfTI world is RAS (x to the right, y to the front, z up), ITK's
physical space is LPS (x to the left, y to the back, z up); the two differ by flipping x and y.

Arrays are ``(X, Y, Z)`` with the slice axis last, as everywhere in cmb_kd; ITK arrays are ``(Z, Y, X)``. A
4x4 RAS voxel-to-world matrix becomes ITK's spacing (column norms), direction (normalised columns, x and y rows
negated) and origin (x and y negated).
"""

from __future__ import annotations

from typing import Any

import itk
import numpy as np

__all__ = ["RAS_TO_LPS", "ras_to_lps", "lps_to_ras", "image_to_itk", "itk_to_array"]

RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])
"""4x4 matrix taking RAS homogeneous points to LPS (its own inverse)."""


def _points(points: Any, name: str) -> np.ndarray:
    array = np.asarray(points, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 3 or not np.isfinite(array).all():
        raise ValueError(f"{name}: expected finite (N, 3) coordinates in mm, got shape {array.shape}")
    return array


def ras_to_lps(points: Any) -> np.ndarray:
    """(N, 3) RAS points in mm as LPS points (x and y negated)."""
    return _points(points, "points") * np.array([-1.0, -1.0, 1.0])


def lps_to_ras(points: Any) -> np.ndarray:
    """(N, 3) LPS points in mm as RAS points (x and y negated)."""
    return _points(points, "points") * np.array([-1.0, -1.0, 1.0])


def image_to_itk(array: np.ndarray, affine: np.ndarray) -> itk.Image:
    """A float32 ITK image of an ``(X, Y, Z)`` array on the grid of a RAS voxel-to-world matrix.

    Args:
        array: (X, Y, Z) values.
        affine: 4x4 RAS voxel-to-world matrix with orthogonal columns (any orientation, any voxel size).

    Returns:
        ``itk.Image[itk.F, 3]`` whose physical points are the LPS positions of the voxels.

    Raises:
        ValueError: the array is not 3D, or the affine is not 4x4 with orthogonal non-zero columns.
    """
    array = np.asarray(array)
    affine = np.asarray(affine, dtype=np.float64)
    if array.ndim != 3:
        raise ValueError(f"array: expected a 3D array (X, Y, Z), got shape {array.shape}")
    if affine.shape != (4, 4) or not np.isfinite(affine).all():
        raise ValueError(f"affine: expected a finite 4x4 matrix, got shape {affine.shape}")
    lps = RAS_TO_LPS @ affine
    spacing = np.linalg.norm(lps[:3, :3], axis=0)
    if np.any(spacing <= 0):
        raise ValueError(f"affine: expected non-zero voxel sizes, got {spacing.tolist()}")
    direction = lps[:3, :3] / spacing
    if not np.allclose(direction.T @ direction, np.eye(3), atol=1e-4):
        raise ValueError(f"affine: expected orthogonal axes (no shear), got {np.round(affine[:3, :3], 4).tolist()}")
    image = itk.image_from_array(np.ascontiguousarray(array.transpose(2, 1, 0), dtype=np.float32))
    image.SetSpacing(spacing.tolist())
    image.SetOrigin(lps[:3, 3].tolist())
    image.SetDirection(itk.matrix_from_array(np.ascontiguousarray(direction)))
    return image


def itk_to_array(image: itk.Image) -> np.ndarray:
    """The ``(X, Y, Z)`` (or ``(X, Y, Z, C)`` for vector images) array of an ITK image, a copy."""
    array = np.asarray(itk.array_from_image(image))
    axes = (2, 1, 0) if array.ndim == 3 else (2, 1, 0, 3)
    return np.ascontiguousarray(array.transpose(axes))
