"""Lesion labels as visible extents: where a lesion darkens the magnitude, one component per lesion."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["visible_extent"]

_CONNECTIVITY = np.ones((3, 3, 3), dtype=bool)


def visible_extent(
    ratio: np.ndarray, centre: np.ndarray, box: tuple[slice, slice, slice], threshold: float
) -> tuple[np.ndarray, bool]:
    """The visible extent of one lesion inside ``box``.

    The extent is the 26-connected component of ``ratio < threshold`` (ratio: magnitude with the
    lesion over magnitude without it) that contains the voxel nearest the lesion centre, or, when
    that voxel is not below the threshold, the component holding the darkest voxel within 1.5
    voxels of the centre. A lesion that darkens no voxel that much still gets the single darkest
    voxel next to its centre, so every lesion has exactly one component (``visible`` tells which case).

    Args:
        ratio: full-grid darkening ratio (X, Y, Z).
        centre: lesion centre in voxel coordinates of this grid.
        box: slices of the neighbourhood to search.
        threshold: visibility threshold on the ratio.

    Returns:
        ``(mask, visible)``: boolean mask of the box's shape and whether the threshold was reached.
    """
    local = ratio[box]
    lo = np.array([s.start for s in box])
    grid = np.stack(np.meshgrid(*[np.arange(n) for n in local.shape], indexing="ij"), axis=-1) + lo
    near = np.linalg.norm(grid - centre, axis=-1) <= 1.5
    if not near.any():
        near[tuple(np.clip(np.round(centre - lo).astype(int), 0, np.array(local.shape) - 1))] = True
    darkest = np.unravel_index(np.argmin(np.where(near, local, np.inf)), local.shape)
    below = local < threshold
    if below[darkest]:
        components, _ = ndimage.label(below, structure=_CONNECTIVITY)
        return components == components[darkest], True
    mask = np.zeros(local.shape, dtype=bool)
    mask[darkest] = True
    return mask, False
