"""Size and elongation of labelled components in mm, from their second moments (vein versus blob)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from cmb_kd.checks import as_spacing

__all__ = ["component_shape", "principal_variances"]


def component_shape(
    labels: np.ndarray, n_labels: int, spacing: Sequence[float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Volume, equivalent diameter and elongation of each labelled component, in mm.

    Second moments are taken over voxel centres in mm, plus ``s_max²/12`` on every axis (``s_max`` the largest
    voxel size): a structure's extent below the coarsest sampling is unknown, so a single thick-slice voxel
    counts as round rather than as a 1×1×4 mm rod. Elongation is ``sqrt(λ1/λ2)`` of the covariance's two
    largest eigenvalues: about 1 for a ball or a disc, large for a tube (a vein), whatever the tube's direction.

    Args:
        labels: integer component map ``(X, Y, Z)``, 0 for background, components ``1..n_labels``.
        n_labels: number of components.
        spacing: voxel size in mm along ``(X, Y, Z)``.

    Returns:
        ``(volume_mm3, diameter_mm, elongation)``, each of shape ``(n_labels,)``.

    Raises:
        ValueError: if ``labels`` is not 3D, ``n_labels`` is negative or ``spacing`` is not three positive sizes.
    """
    voxel = np.asarray(as_spacing(spacing, "spacing"))
    labels = np.asarray(labels)
    if labels.ndim != 3 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels: expected a 3D integer array (X, Y, Z), got shape {labels.shape}, {labels.dtype}")
    if isinstance(n_labels, bool) or not isinstance(n_labels, (int, np.integer)) or n_labels < 0:
        raise ValueError(f"n_labels: expected a non-negative integer, got {n_labels!r}")
    if n_labels == 0:
        empty = np.zeros(0, np.float64)
        return empty, empty.copy(), empty.copy()
    coords = np.nonzero(labels)
    ids = labels[coords]
    counts = np.bincount(ids, minlength=n_labels + 1)[1:].astype(np.float64)
    safe = np.maximum(counts, 1.0)
    eigen = principal_variances(ids, coords, safe, voxel, float(voxel.max()), n_labels)
    volume = counts * float(np.prod(voxel))
    diameter = (6.0 * volume / math.pi) ** (1.0 / 3.0)
    elongation = np.sqrt(eigen[:, 2] / eigen[:, 1])
    return volume, diameter, elongation


def principal_variances(
    ids: np.ndarray,
    coords: tuple[np.ndarray, ...],
    counts: np.ndarray,
    spacing: Sequence[float],
    floor_mm: float,
    n_labels: int,
) -> np.ndarray:
    """The variances of each component along its principal axes, in mm², ascending: ``(n_labels, 3)``.

    The second moments of the voxel centres in mm plus ``floor_mm²/12`` on every axis (the extent of a structure
    below the sampling is unknown, so one voxel counts as a ball of that size, not a rod). Both elongation measures
    of the package are ratios of these: the candidates' ``sqrt(λ1/λ2)`` (:func:`component_shape`: a tube, whatever
    its direction) and the clean-up's ``sqrt(λ1/λ3)`` (:class:`~cmb_kd.inference.LesionCleanup`: any departure from
    round).

    Args:
        ids: component number (1..n_labels) of each voxel listed in ``coords``.
        coords: voxel indices ``(x, y, z)`` of the component voxels (``np.nonzero`` of the label map).
        counts: voxels per component, ``(n_labels,)``, at least 1.
        spacing: voxel size in mm along ``(X, Y, Z)``.
        floor_mm: the size below which a structure counts as round.
        n_labels: number of components.
    """
    mm = [c.astype(np.float64) * s for c, s in zip(coords, spacing)]
    means = [np.bincount(ids, weights=c, minlength=n_labels + 1)[1:] / counts for c in mm]
    covariance = np.zeros((n_labels, 3, 3), np.float64)
    for i in range(3):
        for j in range(i, 3):
            second = np.bincount(ids, weights=mm[i] * mm[j], minlength=n_labels + 1)[1:] / counts
            covariance[:, i, j] = covariance[:, j, i] = second - means[i] * means[j]
    covariance += np.eye(3) * (floor_mm**2 / 12.0)
    return np.clip(np.linalg.eigvalsh(covariance), 1e-12, None)
