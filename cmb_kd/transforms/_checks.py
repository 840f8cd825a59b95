"""Tensor and dictionary checks of the transforms (the package-wide argument checks are in cmb_kd.checks)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import torch

__all__ = [
    "check_ndim",
    "check_finite",
    "check_not_all_zero",
    "as_factor_triple",
    "output_keys_for",
    "require_keys",
    "as_triple",
]


def check_ndim(x: torch.Tensor | np.ndarray, allowed: Sequence[int], name: str, layout: str) -> None:
    """Raise ValueError unless ``x.ndim`` is one of ``allowed``."""
    if x.ndim not in allowed:
        raise ValueError(
            f"{name}: expected a {layout} array ({' or '.join(str(n) for n in allowed)} dimensions), "
            f"got shape {tuple(x.shape)} ({x.ndim} dimensions)"
        )


def check_finite(x: torch.Tensor, name: str) -> None:
    """Raise ValueError if ``x`` holds NaN or Inf values."""
    if x.is_floating_point() and not bool(torch.isfinite(x).all()):
        n_bad = int((~torch.isfinite(x)).sum())
        raise ValueError(
            f"{name}: expected finite values, got {n_bad} NaN/Inf voxel(s) in an array of shape {tuple(x.shape)}"
        )


def check_not_all_zero(x: torch.Tensor, name: str) -> None:
    """Raise ValueError if every voxel of ``x`` is zero."""
    if not bool(x.ne(0).any()):
        raise ValueError(f"{name}: expected an image with signal, got an all-zero array of shape {tuple(x.shape)}")


def as_factor_triple(factor: int | Sequence[int], name: str = "factor") -> tuple[int, int, int]:
    """Normalise a resolution factor to per-axis integers ``(fx, fy, fz)``.

    An integer applies to the slice axis (last) only: ``4 -> (1, 1, 4)``.
    """
    values = (1, 1, factor) if isinstance(factor, (int, np.integer)) else tuple(factor)
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
