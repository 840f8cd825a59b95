"""Split a reference mask by lesion size, so that detection can be reported for small and large lesions apart."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import ndimage

from cmb_kd.metrics.lesion_matching import _binarise, _check_connectivity, check_spacing

__all__ = ["equivalent_diameters", "split_by_diameter"]


def equivalent_diameters(
    mask: Any, spacing: Sequence[float], *, connectivity: int = 26
) -> tuple[np.ndarray, np.ndarray]:
    """Connected components of ``mask`` and the diameter of the sphere of each one's volume.

    Args:
        mask: lesion mask ``(X, Y, Z)`` (booleans, or values ``> 0.5`` for lesion).
        spacing: voxel size in mm along (X, Y, Z).
        connectivity: neighbourhood of the components, 6, 18 or 26.

    Returns:
        ``(labels, diameters)``: the component labels ``(X, Y, Z)`` (0 = background, 1..N) and the equivalent
        diameters in mm, ``(N,)``, of components 1..N: ``(6 V / π)^(1/3)`` with ``V`` the voxel count times the
        voxel volume.

    Raises:
        ValueError: for a mask that is not 3D, bad ``spacing`` or ``connectivity``.
    """
    rank = _check_connectivity(connectivity)
    binary = _binarise(mask, "mask")
    if binary.ndim != 3:
        raise ValueError(f"mask: expected a 3D mask (X, Y, Z), got shape {tuple(binary.shape)}")
    voxel = float(np.prod(check_spacing(spacing)))
    labels, n = ndimage.label(binary, structure=ndimage.generate_binary_structure(3, rank))
    sizes = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    return labels, (6.0 * sizes * voxel / np.pi) ** (1.0 / 3.0)


def split_by_diameter(
    mask: Any, spacing: Sequence[float], diameter_mm: float, *, connectivity: int = 26
) -> tuple[np.ndarray, np.ndarray]:
    """The lesions of ``mask`` below and at or above an equivalent diameter, as two masks.

    Detection by size is then ``compute_lesion_counts(pred, small)`` and ``compute_lesion_counts(pred, large)``:
    their TP and FN give the TPR of each size class (their FP count every component not on a lesion of that
    class, so only the TPR is meaningful per class).

    Args:
        mask: reference mask ``(X, Y, Z)``.
        spacing: voxel size in mm along (X, Y, Z) (the column norms of the affine).
        diameter_mm: the boundary, in mm of equivalent diameter (:func:`equivalent_diameters`).
        connectivity: neighbourhood of the components, 6, 18 or 26 (as for the matching).

    Returns:
        ``(small, large)``: boolean masks of the lesions with diameter ``< diameter_mm`` and ``>= diameter_mm``.

    Raises:
        ValueError: for a non-positive ``diameter_mm``, or the errors of :func:`equivalent_diameters`.
    """
    if isinstance(diameter_mm, bool) or not isinstance(diameter_mm, (int, float)) or not diameter_mm > 0:
        raise ValueError(f"diameter_mm: expected a positive number of mm, got {diameter_mm!r}")
    labels, diameters = equivalent_diameters(mask, spacing, connectivity=connectivity)
    is_small = np.concatenate([[False], diameters < float(diameter_mm)])
    is_large = np.concatenate([[False], diameters >= float(diameter_mm)])
    return is_small[labels], is_large[labels]
