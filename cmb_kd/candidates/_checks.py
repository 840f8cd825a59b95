"""Input checks shared by the candidate detectors: one clear ValueError at the door, naming what was wrong."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "as_volume",
    "as_mask",
    "as_spacing",
    "as_radii",
    "as_positive",
    "as_affine",
    "spacing_of",
    "sequence_of_str",
]


def as_volume(image: Any, name: str = "image") -> np.ndarray:
    """Return ``image`` as a finite float32 3D array ``(X, Y, Z)`` or raise ValueError."""
    if hasattr(image, "detach"):
        image = image.detach().cpu().numpy()
    try:
        array = np.asarray(image)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name}: expected a 3D numeric array (X, Y, Z), got {type(image).__name__}: {err}") from err
    if array.ndim != 3:
        raise ValueError(f"{name}: expected a 3D array (X, Y, Z), got shape {array.shape} ({array.ndim} dimensions)")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_) or np.iscomplexobj(array):
        raise ValueError(f"{name}: expected real numbers, got dtype {array.dtype}")
    if min(array.shape) < 1:
        raise ValueError(f"{name}: expected a non-empty 3D array, got shape {array.shape}")
    array = array.astype(np.float32, copy=False)
    if not np.isfinite(array).all():
        n_bad = int((~np.isfinite(array)).sum())
        raise ValueError(
            f"{name}: expected finite values, got {n_bad} NaN/Inf voxel(s) in an array of shape {array.shape}"
        )
    return array


def as_mask(mask: Any, shape: tuple[int, ...], name: str = "brain_mask", *, required: bool = True) -> np.ndarray | None:
    """Return ``mask`` as a boolean array of ``shape`` (non-zero is inside) or raise ValueError."""
    if mask is None:
        if required:
            raise ValueError(f"{name}: expected a 3D mask of shape {shape}, got None")
        return None
    if hasattr(mask, "detach"):
        mask = mask.detach().cpu().numpy()
    array = np.asarray(mask)
    if array.shape != tuple(shape):
        raise ValueError(f"{name}: expected the image's shape {tuple(shape)}, got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise ValueError(f"{name}: expected numbers or booleans, got dtype {array.dtype}")
    inside = array > 0.5 if array.dtype != np.bool_ else array
    if not inside.any():
        raise ValueError(
            f"{name}: expected at least one voxel inside the mask, got an empty mask of shape {array.shape}"
        )
    return inside


def as_spacing(spacing: Any, name: str = "spacing") -> tuple[float, float, float]:
    """Return three positive finite voxel sizes in mm ``(sx, sy, sz)`` or raise ValueError."""
    try:
        values = tuple(float(s) for s in np.asarray(spacing, dtype=float).reshape(-1))
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name}: expected three positive voxel sizes in mm (X, Y, Z), got {spacing!r}") from err
    if len(values) != 3 or not all(math.isfinite(s) and s > 0 for s in values):
        raise ValueError(f"{name}: expected three positive voxel sizes in mm (X, Y, Z), got {spacing!r}")
    return values[0], values[1], values[2]


def as_radii(radii_mm: Any, name: str = "radii_mm") -> tuple[float, ...]:
    """Return a non-empty tuple of positive finite radii in mm or raise ValueError."""
    if isinstance(radii_mm, (int, float)) and not isinstance(radii_mm, bool):
        radii_mm = (radii_mm,)
    try:
        values = tuple(float(r) for r in radii_mm)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name}: expected one or more positive radii in mm, got {radii_mm!r}") from err
    if not values or not all(math.isfinite(r) and r > 0 for r in values):
        raise ValueError(f"{name}: expected one or more positive finite radii in mm, got {radii_mm!r}")
    return values


def as_positive(value: Any, name: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a finite float > 0 (or >= 0 with ``allow_zero``) or raise ValueError."""
    bound = ">= 0" if allow_zero else "> 0"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name}: expected a finite number {bound}, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        raise ValueError(f"{name}: expected a finite number {bound}, got {value!r}")
    return number


def as_affine(affine: Any, name: str = "affine") -> np.ndarray:
    """Return a finite 4x4 voxel-to-world affine with non-degenerate columns or raise ValueError."""
    if hasattr(affine, "detach"):
        affine = affine.detach().cpu().numpy()
    try:
        array = np.asarray(affine, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name}: expected a 4x4 voxel-to-world matrix, got {type(affine).__name__}") from err
    if array.shape != (4, 4) or not np.isfinite(array).all():
        raise ValueError(f"{name}: expected a finite 4x4 voxel-to-world matrix, got shape {array.shape}")
    if not np.all(np.linalg.norm(array[:3, :3], axis=0) > 0):
        raise ValueError(
            f"{name}: expected non-zero voxel sizes (column norms), got columns {array[:3, :3].T.tolist()}"
        )
    return array


def spacing_of(affine: np.ndarray) -> tuple[float, float, float]:
    """Voxel sizes in mm along (X, Y, Z): the column norms of a validated affine."""
    norms = np.linalg.norm(affine[:3, :3], axis=0)
    return float(norms[0]), float(norms[1]), float(norms[2])


def sequence_of_str(values: Sequence[str], name: str) -> tuple[str, ...]:
    """Return ``values`` as a tuple of non-empty strings or raise ValueError."""
    if isinstance(values, str) or not all(isinstance(v, str) and v for v in values):
        raise ValueError(f"{name}: expected a sequence of non-empty names, got {values!r}")
    return tuple(values)
