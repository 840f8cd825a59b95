"""Partial volume of tubes: the fraction of each voxel that a tube around a path or a straight segment covers.

A tube around a curved path is sampled on a regular grid of points per voxel (3×3×3 by default); a straight
segment (capsule), which may be much thinner than a voxel, on 128 low-discrepancy points per voxel, so that
thin vessels get the partial volume a real acquisition gives them.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["tube_fraction", "segment_fraction", "rasterise_tube"]


def tube_fraction(
    points: np.ndarray, radius: float, shape: tuple[int, int, int], spacing: float, samples: int = 3
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """Volume fraction of a tube of ``radius`` (mm) around a path, in the voxels it touches.

    Args:
        points: path in voxel coordinates, (N, 3), densely sampled (spacing below the radius).
        radius: tube radius in mm.
        shape: grid shape.
        spacing: isotropic voxel size in mm.
        samples: sample points per voxel and axis.

    Returns:
        ``(index, fraction)``: the voxel indices (a tuple of three integer arrays) and their float32 fractions.
    """
    r = radius / spacing
    empty = tuple(np.zeros(0, int) for _ in range(3)), np.zeros(0, np.float32)
    lo = np.maximum(np.floor(points.min(axis=0) - r - 1).astype(int), 0)
    hi = np.minimum(np.ceil(points.max(axis=0) + r + 2).astype(int), shape)
    if np.any(hi <= lo):
        return empty
    tree = cKDTree(points)
    box = np.stack(np.meshgrid(*[np.arange(a, b) for a, b in zip(lo, hi, strict=True)], indexing="ij"), -1)
    box = box.reshape(-1, 3).astype(np.float32)
    near, _ = tree.query(box, distance_upper_bound=r + 0.9)
    box = box[np.isfinite(near)]
    if box.size == 0:
        return empty
    axis = (np.arange(samples) - (samples - 1) / 2.0) / samples
    offsets = np.stack(np.meshgrid(*[axis] * 3, indexing="ij"), -1).reshape(-1, 3)
    sample_points = (box[:, None, :] + offsets[None]).reshape(-1, 3)
    dist, _ = tree.query(sample_points)
    fraction = (dist.reshape(len(box), samples**3) <= r).mean(axis=1).astype(np.float32)
    return tuple(box.astype(int).T), fraction


def _radical_inverse(index: np.ndarray, base: int) -> np.ndarray:
    out = np.zeros(len(index))
    scale = 1.0 / base
    index = index.copy()
    while np.any(index > 0):
        out += (index % base) * scale
        index //= base
        scale /= base
    return out


#: Irrational multipliers (square roots of primes) of the per-voxel Weyl shift of the sample points.
_WEYL = np.sqrt(np.array([[2.0, 3.0, 5.0], [7.0, 11.0, 13.0], [17.0, 19.0, 23.0]]))


def _halton(n: int) -> np.ndarray:
    """First ``n`` points of the 3D Halton sequence (bases 2, 3, 5) in [0, 1)³, skipping the origin."""
    index = np.arange(1, n + 1)
    return np.stack([_radical_inverse(index, base) for base in (2, 3, 5)], axis=1)


def _segment_distance(points: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    direction = end - start
    t = np.clip(((points - start) @ direction) / max(float(direction @ direction), 1e-12), 0.0, 1.0)
    return np.linalg.norm(points - (start + t[:, None] * direction), axis=1)


def segment_fraction(
    start: np.ndarray,
    end: np.ndarray,
    radius: float,
    shape: tuple[int, int, int],
    spacing: float,
    samples: int = 128,
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """Volume fraction of a straight tube (capsule) of ``radius`` mm between two points, in the voxels it touches.

    Each voxel is sampled at ``samples`` points of a Halton sequence, whose projections onto the image
    plane are all distinct, shifted modulo 1 by an offset of its own, so a tube much thinner than a voxel
    and parallel to an axis still gets its partial volume (a regular grid would see it through a few
    rows of samples only).

    Args:
        start, end: end points in voxel coordinates, (3,).
        radius: tube radius in mm.
        shape: grid shape.
        spacing: isotropic voxel size in mm.
        samples: sample points per voxel.

    Returns:
        ``(index, fraction)``: the voxel indices (a tuple of three integer arrays) and their float32 fractions.
    """
    start, end = np.asarray(start, dtype=np.float64), np.asarray(end, dtype=np.float64)
    r = radius / spacing
    lo = np.maximum(np.floor(np.minimum(start, end) - r - 1).astype(int), 0)
    hi = np.minimum(np.ceil(np.maximum(start, end) + r + 2).astype(int), shape)
    empty = tuple(np.zeros(0, int) for _ in range(3)), np.zeros(0, np.float32)
    if np.any(hi <= lo):
        return empty
    voxels = np.stack(np.meshgrid(*[np.arange(a, b) for a, b in zip(lo, hi, strict=True)], indexing="ij"), -1)
    voxels = voxels.reshape(-1, 3)
    voxels = voxels[_segment_distance(voxels.astype(np.float64), start, end) <= r + 0.5 * np.sqrt(3.0)]
    if len(voxels) == 0:
        return empty
    # each voxel shifts the sequence (modulo 1) by its own Weyl offset, so that sampling errors do not repeat
    # along a tube that runs parallel to an axis
    shift = np.mod(voxels @ _WEYL, 1.0)
    points = (voxels[:, None, :] + np.mod(_halton(samples)[None] + shift[:, None, :], 1.0) - 0.5).reshape(-1, 3)
    inside = (_segment_distance(points, start, end) <= r).reshape(len(voxels), samples)
    return tuple(voxels.T), inside.mean(axis=1).astype(np.float32)


def rasterise_tube(
    points: np.ndarray, radius: float, shape: tuple[int, int, int], spacing: float, out: np.ndarray, samples: int = 3
) -> None:
    """Adds the volume fraction of a tube of ``radius`` (mm) around a path into ``out`` (clipped at 1).

    Args:
        points: path in voxel coordinates, (N, 3), densely sampled (spacing below the radius).
        radius: tube radius in mm.
        shape: grid shape.
        spacing: isotropic voxel size in mm.
        out: float32 array of ``shape`` updated in place with the maximum of its value and the fraction.
        samples: sample points per voxel and axis (see :func:`tube_fraction`).
    """
    idx, fraction = tube_fraction(points, radius, shape, spacing, samples)
    if fraction.size:
        out[idx] = np.maximum(out[idx], fraction)
