"""The morphological skeleton of a 3D binary mask: the centrelines that the vessel continuity metric compares."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from scipy import ndimage

__all__ = ["skeletonize"]

_CROSS = ndimage.generate_binary_structure(3, 1)
"""The 6-neighbourhood and its centre: the erosion's structuring element."""
_CUBE = np.ones((3, 3, 3), dtype=bool)
"""The 26-neighbourhood and its centre: the dilation's structuring element."""


def _as_mask(mask: Any, name: str) -> np.ndarray:
    if isinstance(mask, torch.Tensor):
        mask = mask.detach().cpu().numpy()
    array = np.asarray(mask)
    if array.ndim != 3:
        raise ValueError(f"{name}: expected a 3D mask (X, Y, Z), got shape {array.shape} ({array.ndim} dimensions)")
    if array.dtype == np.bool_:
        return array
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise ValueError(f"{name}: expected a mask of numbers or booleans, got dtype {array.dtype}")
    return array > 0.5


def skeletonize(mask: Any, *, name: str = "mask") -> np.ndarray:
    """The morphological skeleton of a 3D mask: what each erosion step leaves that an opening cannot restore.

    The skeleton of the clDice metric (Shit et al., *clDice - a Novel Topology-Preserving Loss Function for Tubular
    Structure Segmentation*, CVPR 2021), computed exactly on a binary mask instead of softly on probabilities.
    With X_0 = the mask and X_{k+1} = X_k eroded by the 6-neighbourhood cross,

        skeleton = ∪_k  X_k \\ dilate_26(X_{k+1})

    (``dilate_26(erode_6(X))`` is clDice's opening), until X_k is empty. What it gives on shapes whose skeleton is
    known (``tests/metrics/test_skeleton.py``):

    - a one-voxel-thin curve is its own skeleton;
    - a straight tube along an axis, centred on a voxel row, gives that row (shortened at each end by about the
      tube's radius); centred between rows (an even diameter), the 2×2 rows around its axis;
    - a digital ball gives its centre voxel;
    - a curved tube (a torus) gives one connected loop within about 1.5 voxels of its centre circle, a few voxels
      thick where the digital circle's steps are.

    The skeleton lies inside the mask, and every connected piece of the mask keeps skeleton voxels (its last
    erosion before it vanishes). It is not guaranteed thin nor connected for every shape (the price of a
    morphological, not a topology-preserving, thinning): a ratio of skeleton voxels inside another mask, as
    :func:`~cmb_kd.metrics.compute_vessel_counts` uses it, only needs it to run along the middle of the vessels.

    Args:
        mask: ``(X, Y, Z)`` numpy array or torch tensor: booleans, or numbers binarised at ``> 0.5``.
        name: the mask's name in error messages.

    Returns:
        A bool array of the mask's shape.

    Raises:
        ValueError: the mask is not 3D or does not hold numbers or booleans.
    """
    binary = _as_mask(mask, name)
    skeleton = np.zeros(binary.shape, dtype=bool)
    if not binary.any():
        return skeleton
    # work inside the mask's bounding box, one voxel of background around it
    (extent,) = ndimage.find_objects(binary.astype(np.uint8))
    box = tuple(slice(max(int(s.start) - 1, 0), int(s.stop) + 1) for s in extent)
    layer = binary[box]
    core = skeleton[box]
    while layer.any():
        eroded = ndimage.binary_erosion(layer, _CROSS, border_value=0)
        core |= layer & ~ndimage.binary_dilation(eroded, _CUBE)
        layer = eroded
    return skeleton
