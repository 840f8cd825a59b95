"""Partial volume of tubes: the fraction of each voxel that a tube around a path or a straight segment covers.

A tube around a curved path is sampled on a regular grid of points per voxel (3×3×3 by default); a straight
segment (capsule), which may be much thinner than a voxel, on 128 low-discrepancy points per voxel, so that
thin vessels get the partial volume a real acquisition gives them. A union of tubes whose radius varies along
their paths (a vessel tree) is rasterised on a grid of any voxel size by :func:`rasterise_paths`.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["tube_fraction", "segment_fraction", "rasterise_tube", "rasterise_paths"]


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


class _Polyline:
    """A tube around a polyline whose radius and carried value vary linearly between its points (mm)."""

    def __init__(self, points: np.ndarray, radii: np.ndarray, values: np.ndarray) -> None:
        self.points, self.radii, self.values = points, radii, values
        self.tree = cKDTree(points)

    def excess(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distance from ``x`` (M, 3) to the tube's surface (negative inside) and the value at the nearest piece.

        The nearest point of the centreline lies on one of the two pieces around the nearest vertex.
        """
        _, nearest = self.tree.query(x)
        best, value = np.full(len(x), np.inf), np.zeros(len(x))
        last = len(self.points) - 2
        for first in (np.clip(nearest - 1, 0, last), np.clip(nearest, 0, last)):
            a, b = self.points[first], self.points[first + 1]
            ab = b - a
            t = np.clip(((x - a) * ab).sum(axis=1) / np.maximum((ab * ab).sum(axis=1), 1e-12), 0.0, 1.0)
            distance = np.linalg.norm(x - (a + t[:, None] * ab), axis=1)
            excess = distance - (self.radii[first] + t * (self.radii[first + 1] - self.radii[first]))
            better = excess < best
            best[better] = excess[better]
            value[better] = (self.values[first] + t * (self.values[first + 1] - self.values[first]))[better]
        return best, value


def _near_voxels(points_vox: np.ndarray, reach_mm: float, spacing: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Flat indices of the grid voxels whose centres may lie within ``reach_mm`` of a polyline (points every
    0.5 mm or closer): boxes stamped around its points."""
    half = np.ceil((reach_mm + 0.25) / spacing).astype(int)
    box = np.stack(np.meshgrid(*[np.arange(-h, h + 1) for h in half], indexing="ij"), -1).reshape(-1, 3)
    centres = np.unique(np.round(points_vox).astype(int), axis=0)
    voxels = (centres[:, None, :] + box[None]).reshape(-1, 3)
    voxels = voxels[np.all((voxels >= 0) & (voxels < np.array(shape)), axis=1)]
    return np.unique(np.ravel_multi_index(tuple(voxels.T), shape))


def rasterise_paths(
    paths: list[np.ndarray],
    radii: list[np.ndarray],
    values: list[np.ndarray],
    shape: tuple[int, int, int],
    spacing: tuple[float, float, float],
    samples: int = 32,
) -> tuple[np.ndarray, np.ndarray]:
    """Partial volume of a union of tubes whose radius varies along their paths, on a grid of any voxel size.

    Each tube is the set of points within the linearly interpolated radius of its polyline (cone frusta joined at
    the points). Voxels whose centre lies deeper inside a tube than half the voxel diagonal are whole; the others
    near a surface are sampled at ``samples`` points of the shifted Halton sequence of :func:`segment_fraction`,
    shared by all tubes, so where tubes overlap (a branch leaving its parent) a sample counts once.

    Args:
        paths: centrelines in voxel coordinates, each (N, 3), N >= 2, points at most 0.5 mm apart.
        radii: radius in mm at each point, each (N,).
        values: a positive value carried by each tube at each point (e.g. the blood signal), each (N,).
        shape: grid shape.
        spacing: voxel size (X, Y, Z) in mm.
        samples: sample points per voxel near a surface.

    Returns:
        ``(fraction, value)``: float32 arrays of ``shape``: the fraction of each voxel inside the tubes, and the
        mean over the voxel of the value of the tube covering each sample (the largest where several do; 0
        outside every tube).
    """
    spacing = np.asarray(spacing, dtype=np.float64)
    half_diagonal = 0.5 * float(np.linalg.norm(spacing))
    whole_index, whole_value, surface = [], [], []
    for path, radius, value in zip(paths, radii, values, strict=True):
        path = np.asarray(path, dtype=np.float64)
        tube = _Polyline(path * spacing, np.asarray(radius, dtype=np.float64), np.asarray(value, dtype=np.float64))
        near = _near_voxels(path, float(tube.radii.max()) + half_diagonal, spacing, shape)
        excess, carried = tube.excess(np.stack(np.unravel_index(near, shape), axis=1) * spacing)
        whole = excess <= -half_diagonal
        whole_index.append(near[whole])
        whole_value.append(carried[whole])
        surface.append((near[(excess > -half_diagonal) & (excess <= half_diagonal)], tube))
    rows_all = np.unique(np.concatenate([s for s, _ in surface])) if surface else np.zeros(0, int)
    inside = np.zeros((len(rows_all), samples), dtype=np.float32)
    offsets = _halton(samples)
    for near, tube in surface:
        if len(near) == 0:
            continue
        voxels = np.stack(np.unravel_index(near, shape), axis=1)
        shift = np.mod(voxels @ _WEYL, 1.0)
        points = (voxels[:, None, :] + np.mod(offsets[None] + shift[:, None, :], 1.0) - 0.5) * spacing
        excess, carried = tube.excess(points.reshape(-1, 3))
        rows = np.searchsorted(rows_all, near)
        inside[rows] = np.maximum(inside[rows], np.where(excess <= 0, carried, 0.0).reshape(len(near), samples))
    fraction, mean = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    fraction.flat[rows_all] = (inside > 0).mean(axis=1)
    mean.flat[rows_all] = inside.mean(axis=1)
    for index, value in zip(whole_index, whole_value, strict=True):
        fraction.flat[index] = 1.0
        mean.flat[index] = np.maximum(mean.flat[index], value)
    return fraction, mean
