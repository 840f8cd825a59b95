"""Array checks shared by the inference building blocks: one clear ValueError at the door."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["as_binary_mask", "as_real_volume", "as_spacing", "as_affine", "spacing_of"]


def _to_numpy(value: Any) -> Any:
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return value


def as_binary_mask(mask: Any, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Return a 3D mask holding only 0 and 1 (or booleans) as a bool array, or raise ValueError."""
    array = np.asarray(_to_numpy(mask))
    if array.ndim != 3:
        raise ValueError(f"{name}: expected a 3D mask (X, Y, Z), got shape {array.shape} ({array.ndim} dimensions)")
    if shape is not None and array.shape != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)} (the image's), got shape {array.shape}")
    if array.dtype == np.bool_:
        return array
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise ValueError(f"{name}: expected a binary mask of 0 and 1, got dtype {array.dtype}")
    inside = array == 1
    if not np.all(inside | (array == 0)):
        values = np.unique(array[~(inside | (array == 0))])[:5].tolist()
        raise ValueError(f"{name}: expected a binary mask of 0 and 1, got other values such as {values}")
    return inside


def as_real_volume(volume: Any, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Return a finite 3D real array as float64, or raise ValueError."""
    array = np.asarray(_to_numpy(volume))
    if array.ndim != 3:
        raise ValueError(f"{name}: expected a 3D array (X, Y, Z), got shape {array.shape} ({array.ndim} dimensions)")
    if shape is not None and array.shape != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)} (the mask's), got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_) or np.iscomplexobj(array):
        raise ValueError(f"{name}: expected real numbers, got dtype {array.dtype}")
    array = array.astype(np.float64, copy=False)
    n_bad = int(np.count_nonzero(~np.isfinite(array)))
    if n_bad:
        raise ValueError(f"{name}: expected finite values, got {n_bad} NaN/Inf voxel(s) in shape {array.shape}")
    return array


def as_spacing(spacing: Any, name: str = "spacing") -> tuple[float, float, float]:
    """Return three positive finite voxel sizes in mm ``(sx, sy, sz)`` or raise ValueError."""
    try:
        values = tuple(float(s) for s in np.asarray(_to_numpy(spacing), dtype=float).reshape(-1))
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name}: expected three positive voxel sizes in mm (X, Y, Z), got {spacing!r}") from err
    if len(values) != 3 or not all(math.isfinite(s) and s > 0 for s in values):
        raise ValueError(f"{name}: expected three positive voxel sizes in mm (X, Y, Z), got {spacing!r}")
    return values[0], values[1], values[2]


def as_affine(affine: Any, name: str = "affine") -> np.ndarray:
    """Return a finite invertible 4x4 voxel-to-world matrix (float64) or raise ValueError."""
    try:
        array = np.asarray(_to_numpy(affine), dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name}: expected a 4x4 voxel-to-world matrix, got {type(affine).__name__}") from err
    if array.shape != (4, 4) or not np.isfinite(array).all():
        raise ValueError(f"{name}: expected a finite 4x4 voxel-to-world matrix, got shape {array.shape}")
    if abs(float(np.linalg.det(array[:3, :3]))) < 1e-9:
        raise ValueError(f"{name}: expected an invertible matrix, got {array[:3, :3].tolist()}")
    return array


def spacing_of(affine: np.ndarray) -> tuple[float, float, float]:
    """Voxel sizes in mm along (X, Y, Z): the column norms of a validated affine."""
    norms = np.linalg.norm(affine[:3, :3], axis=0)
    return float(norms[0]), float(norms[1]), float(norms[2])
