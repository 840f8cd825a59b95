"""Greedy non-maximum suppression of scored points within a radius in mm."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from cmb_kd.checks import as_positive

__all__ = ["non_maximum_suppression"]


def non_maximum_suppression(
    points_mm: np.ndarray,
    scores: np.ndarray,
    radius_mm: float,
    *,
    max_count: int | None = None,
) -> np.ndarray:
    """Keep the highest-scoring points, dropping any point within ``radius_mm`` of a kept, higher one.

    Candidate de-duplication of the two-stage detectors (``000_2429e8a773e1f797``, ``003_d1ee2ec489957e65``):
    one candidate per blob however many local maxima the fused score has on it. Points are visited by
    decreasing score (ties by index); distances are Euclidean in mm, so the radius means the same on
    anisotropic grids. The loop runs over points, not voxels (a k-d tree finds neighbours).

    Args:
        points_mm: point coordinates in mm, shape ``(N, D)``.
        scores: point scores, shape ``(N,)``, finite.
        radius_mm: suppression radius in mm (> 0); points at exactly this distance are suppressed.
        max_count: keep at most this many points (the highest-scoring), or all when None.

    Returns:
        int64 indices into ``points_mm`` of the kept points, ordered by decreasing score, shape ``(K,)``.

    Raises:
        ValueError: if the shapes do not match, scores are not finite, ``radius_mm`` is not positive or
            ``max_count`` is not a non-negative integer.
    """
    points = np.asarray(points_mm, dtype=np.float64)
    values = np.asarray(scores, dtype=np.float64)
    if points.ndim != 2 or values.ndim != 1 or points.shape[0] != values.shape[0]:
        raise ValueError(f"points_mm, scores: expected shapes (N, D) and (N,), got {points.shape} and {values.shape}")
    if not (np.isfinite(values).all() and np.isfinite(points).all()):
        raise ValueError("points_mm, scores: expected finite values, got NaN or Inf")
    radius_mm = as_positive(radius_mm, "radius_mm")
    if max_count is not None and (
        isinstance(max_count, bool) or not isinstance(max_count, (int, np.integer)) or max_count < 0
    ):
        raise ValueError(f"max_count: expected a non-negative integer or None, got {max_count!r}")
    limit = values.shape[0] if max_count is None else int(max_count)
    if values.shape[0] == 0 or limit == 0:
        return np.zeros(0, np.int64)
    order = np.lexsort((np.arange(values.shape[0]), -values))
    tree = cKDTree(points)
    suppressed = np.zeros(values.shape[0], bool)
    kept: list[int] = []
    for index in order:
        if suppressed[index]:
            continue
        kept.append(int(index))
        if len(kept) == limit:
            break
        suppressed[tree.query_ball_point(points[index], r=radius_mm + 1e-9)] = True
    return np.asarray(kept, np.int64)
