"""Argument checks shared by the whole package: one clear ``ValueError`` at the door, ``"name: expected …, got …"``.

Every function returns the checked value in the form the caller works with (a float64 affine, a float32 volume,
a bool mask, a tuple of floats), so a caller writes ``affine = as_affine(affine)`` and never checks twice. One
tolerance decides what an affine is: finite, 4x4, and ``|det(affine[:3, :3])| >= MIN_VOXEL_VOLUME_MM3``. This module
imports nothing else of cmb_kd; the file layer (``cmb_kd.io``) and everything above it may import it.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "MIN_VOXEL_VOLUME_MM3",
    "as_affine",
    "as_factor_triple",
    "as_triple",
    "as_binary_mask",
    "as_mask",
    "as_option",
    "as_positive",
    "as_probability",
    "as_radii",
    "as_range",
    "as_real_volume",
    "as_spacing",
    "as_volume",
    "check_finite",
    "check_ndim",
    "check_not_all_zero",
    "output_keys_for",
    "require_keys",
    "sequence_of_str",
    "spacing_of",
]

MIN_VOXEL_VOLUME_MM3 = 1e-9
"""|det(affine[:3, :3])| below this (mm³) counts as a non-invertible affine."""


def _is_number(value: Any) -> bool:
    """Whether ``value`` is a real number (a bool is not)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _to_numpy(value: Any) -> Any:
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return value


def as_affine(affine: Any, name: str = "affine") -> np.ndarray:
    """Return a finite invertible 4x4 voxel-to-world matrix as float64, or raise ValueError."""
    expected = f"{name}: expected a finite, invertible 4x4 voxel-to-world matrix"
    try:
        array = np.asarray(_to_numpy(affine), dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{expected}, got {type(affine).__name__}") from err
    if array.shape != (4, 4):
        raise ValueError(f"{expected}, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{expected}, got non-finite values {array.tolist()}")
    determinant = abs(float(np.linalg.det(array[:3, :3])))
    if determinant < MIN_VOXEL_VOLUME_MM3:
        raise ValueError(f"{expected}, got |det| = {determinant:.3g} for {np.round(array[:3, :3], 6).tolist()}")
    return array


def spacing_of(affine: np.ndarray) -> tuple[float, float, float]:
    """Voxel sizes in mm along (X, Y, Z): the column norms of a checked affine."""
    norms = np.linalg.norm(np.asarray(affine, dtype=np.float64)[:3, :3], axis=0)
    return float(norms[0]), float(norms[1]), float(norms[2])


def as_spacing(spacing: Any, name: str = "spacing") -> tuple[float, float, float]:
    """Return three positive finite voxel sizes in mm ``(sx, sy, sz)`` or raise ValueError."""
    try:
        values = tuple(float(s) for s in np.asarray(_to_numpy(spacing), dtype=float).reshape(-1))
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name}: expected three positive voxel sizes in mm (X, Y, Z), got {spacing!r}") from err
    if len(values) != 3 or not all(math.isfinite(s) and s > 0 for s in values):
        raise ValueError(f"{name}: expected three positive voxel sizes in mm (X, Y, Z), got {spacing!r}")
    return values[0], values[1], values[2]


def as_volume(image: Any, name: str = "image") -> np.ndarray:
    """Return ``image`` as a finite float32 3D array ``(X, Y, Z)`` or raise ValueError."""
    try:
        array = np.asarray(_to_numpy(image))
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


def as_real_volume(volume: Any, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Return a finite 3D real array as float64 (of ``shape`` when given), or raise ValueError."""
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


def as_mask(mask: Any, shape: tuple[int, ...], name: str = "brain_mask", *, required: bool = True) -> np.ndarray | None:
    """Return ``mask`` as a boolean array of ``shape`` (above 0.5 is inside, at least one voxel) or raise
    ValueError; None stays None unless ``required``."""
    if mask is None:
        if required:
            raise ValueError(f"{name}: expected a 3D mask of shape {shape}, got None")
        return None
    array = np.asarray(_to_numpy(mask))
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


def as_binary_mask(mask: Any, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Return a 3D mask holding only 0 and 1 (or booleans) as a bool array (of ``shape`` when given), or raise
    ValueError."""
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


def as_positive(value: Any, name: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a finite float > 0 (or >= 0 with ``allow_zero``) or raise ValueError."""
    bound = ">= 0" if allow_zero else "> 0"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name}: expected a finite number {bound}, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        raise ValueError(f"{name}: expected a finite number {bound}, got {value!r}")
    return number


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


def as_range(name: str, value: Sequence[float], low: float, high: float) -> tuple[float, float]:
    """``value`` as ``(min, max)`` floats with ``low <= min <= max <= high``; ValueError naming ``name`` otherwise
    (also for anything but two real numbers: a string or a bool is no bound)."""
    expected = f"{name}: expected (min, max) with {low} <= min <= max <= {high}, got {value!r}"
    if (
        isinstance(value, (str, bytes))
        or not isinstance(value, (Sequence, np.ndarray))
        or not all(map(_is_number, value))
    ):
        raise ValueError(expected)
    pair = tuple(float(v) for v in value)
    if len(pair) != 2 or not low <= pair[0] <= pair[1] <= high:
        raise ValueError(expected)
    return pair


def as_probability(name: str, value: float) -> float:
    """``value`` as a float in [0, 1]; ValueError naming ``name`` otherwise (also for a string or a bool)."""
    if not _is_number(value) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name}: expected a probability in [0, 1], got {value!r}")
    return float(value)


def as_option(name: str, value: str, choices: tuple[str, ...]) -> str:
    """Look ``value`` up in ``choices`` (MONAI's ``look_up_option``), naming the argument on failure.

    Raises:
        ValueError: ``value`` is not one of ``choices``; the message suggests the closest one.
    """
    from monai.utils import look_up_option

    try:
        return look_up_option(value, choices)
    except ValueError as e:
        raise ValueError(f"{name}: {e}".rstrip()) from e


def sequence_of_str(values: Sequence[str], name: str) -> tuple[str, ...]:
    """Return ``values`` as a tuple of non-empty strings or raise ValueError."""
    if isinstance(values, str) or not all(isinstance(v, str) and v for v in values):
        raise ValueError(f"{name}: expected a sequence of non-empty names, got {values!r}")
    return tuple(values)


def check_ndim(x: Any, allowed: Sequence[int], name: str, layout: str) -> None:
    """Raise ValueError unless ``x.ndim`` is one of ``allowed``."""
    if x.ndim not in allowed:
        raise ValueError(
            f"{name}: expected a {layout} array ({' or '.join(str(n) for n in allowed)} dimensions), "
            f"got shape {tuple(x.shape)} ({x.ndim} dimensions)"
        )


def check_finite(x: Any, name: str) -> None:
    """Raise ValueError if the floating tensor ``x`` holds NaN or Inf values."""
    if x.is_floating_point() and not bool(x.isfinite().all()):
        n_bad = int((~x.isfinite()).sum())
        raise ValueError(
            f"{name}: expected finite values, got {n_bad} NaN/Inf voxel(s) in an array of shape {tuple(x.shape)}"
        )


def check_not_all_zero(x: Any, name: str) -> None:
    """Raise ValueError if every voxel of the tensor ``x`` is zero."""
    if not bool(x.ne(0).any()):
        raise ValueError(f"{name}: expected an image with signal, got an all-zero array of shape {tuple(x.shape)}")


def as_factor_triple(factor: int | Sequence[int], name: str = "factor") -> tuple[int, int, int]:
    """Normalise a resolution factor to per-axis integers ``(fx, fy, fz)``.

    An integer applies to the slice axis (last) only: ``4 -> (1, 1, 4)``.

    Raises:
        ValueError: not an integer or three integers (a float or a bool is refused), or a value below 1.
    """
    if isinstance(factor, (int, np.integer)):
        values: tuple = (1, 1, factor)
    else:
        try:
            values = tuple(factor)
        except TypeError:
            values = ()
    if len(values) != 3 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        raise ValueError(f"{name}: expected an integer or three integers (one per spatial axis), got {factor!r}")
    if any(v < 1 for v in values):
        raise ValueError(f"{name}: expected integers >= 1, got {factor!r}")
    return int(values[0]), int(values[1]), int(values[2])


def output_keys_for(
    keys: tuple[Hashable, ...], output_keys: Hashable | Sequence[Hashable] | None
) -> tuple[Hashable, ...]:
    """Output key per input key; ``None`` means in place."""
    if output_keys is None:
        return keys
    out = (output_keys,) if isinstance(output_keys, (str, int)) else tuple(output_keys)
    if len(out) != len(keys):
        raise ValueError(f"output_keys: expected {len(keys)} key(s) to match keys {keys}, got {out}")
    return out


def require_keys(d: Mapping[Hashable, object], keys: Sequence[Hashable], allow_missing: bool = False) -> None:
    """Raise ValueError naming the first of ``keys`` missing from ``d`` (unless ``allow_missing``)."""
    if allow_missing:
        return
    for key in keys:
        if key not in d:
            raise ValueError(f"key {key!r} is missing from the data; expected keys {list(keys)}, got {list(d)}")


def as_triple(value: object, name: str, what: str) -> tuple:
    """One value repeated three times, or a sequence of exactly three values; ValueError naming ``name``."""
    if isinstance(value, (int, float, np.integer, np.floating)):
        return (value, value, value)
    try:
        out = tuple(value)  # type: ignore[arg-type]
    except TypeError:
        out = ()
    if len(out) != 3:
        raise ValueError(f"{name}: expected one or three {what}, got {value!r}")
    return out
