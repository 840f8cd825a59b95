"""Partial-volume rasterisation of an ellipsoid: the fraction of each voxel that it covers."""

from __future__ import annotations

import numpy as np

__all__ = ["ellipsoid_fraction"]


def ellipsoid_fraction(
    centre: np.ndarray,
    axes: tuple[float, float, float],
    rotation: np.ndarray,
    shape: tuple[int, int, int],
    spacing: float,
    samples: int = 4,
) -> tuple[tuple[slice, slice, slice], np.ndarray]:
    """Volume fraction of an ellipsoid in the voxels of the box around it.

    Each voxel is sampled on a regular grid of ``samples``³ points; its fraction is the share of
    points inside the ellipsoid.

    Args:
        centre: centre in voxel coordinates, (3,).
        axes: semi-axes in mm.
        rotation: 3×3 matrix whose columns are the directions of the axes (grid frame).
        shape: grid shape (X, Y, Z).
        spacing: isotropic voxel size in mm.
        samples: sample points per voxel and axis.

    Returns:
        ``(box, fraction)``: the slices of the box on the grid (clipped to it) and the float32 fraction
        (zeros when the box lies outside the grid).

    Raises:
        ValueError: if an axis is not positive or ``samples < 1``.
    """
    axes_mm = np.asarray(axes, dtype=np.float64)
    if axes_mm.shape != (3,) or np.any(axes_mm <= 0):
        raise ValueError(f"ellipsoid_fraction: axes: expected three positive semi-axes in mm, got {axes}")
    if int(samples) != samples or samples < 1:
        raise ValueError(f"ellipsoid_fraction: samples: expected a positive integer, got {samples}")
    centre = np.asarray(centre, dtype=np.float64)
    reach = axes_mm.max() / spacing + 1.0
    lo = np.maximum(np.floor(centre - reach).astype(int), 0)
    hi = np.minimum(np.ceil(centre + reach).astype(int) + 1, shape)
    box = tuple(slice(int(a), int(max(a, b))) for a, b in zip(lo, hi, strict=True))
    size = tuple(s.stop - s.start for s in box)
    if min(size) == 0:
        return box, np.zeros(size, np.float32)
    rotation = np.asarray(rotation, dtype=np.float64)
    # only voxels whose centre lies in the ellipsoid's bounding box (in its own axes) widened by half a voxel
    # diagonal can hold part of it
    idx = np.stack(np.meshgrid(*[np.arange(n) for n in size], indexing="ij"), axis=-1).reshape(-1, 3)
    centres = idx + lo - centre
    reach_local = axes_mm + 0.5 * np.sqrt(3.0) * spacing
    near = np.all(np.abs((centres * spacing) @ rotation) <= reach_local, axis=1)
    idx, centres = idx[near], centres[near]
    fraction = np.zeros(size, np.float32)
    if len(idx) == 0:
        return box, fraction
    axis = (np.arange(samples) - (samples - 1) / 2.0) / samples
    offsets = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1).reshape(-1, 3)
    local = ((centres[:, None, :] + offsets[None]) * spacing) @ rotation  # coordinates along the ellipsoid axes
    inside = ((local / axes_mm) ** 2).sum(axis=-1) <= 1.0
    fraction[tuple(idx.T)] = inside.mean(axis=1)
    return box, fraction
