"""Lesion-level matching of connected components and voxel counts for one subject."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from scipy import ndimage
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

from cmb_kd.metrics.lesion_counts import LesionCounts

__all__ = ["CONNECTIVITIES", "compute_lesion_counts"]

CONNECTIVITIES: dict[int, int] = {6: 1, 18: 2, 26: 3}
"""Valid 3D neighbourhoods (number of neighbours) and the matching rank of ``scipy.ndimage``'s structure."""


def _binarise(mask: Any, name: str) -> np.ndarray:
    if isinstance(mask, torch.Tensor):
        mask = mask.detach().cpu().numpy()
    try:
        array = np.asarray(mask)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name}: expected a numpy array or torch tensor, got {type(mask).__name__}: {err}") from err
    if array.dtype == np.bool_:
        return array
    if not (np.issubdtype(array.dtype, np.number)):
        raise ValueError(f"{name} must hold numbers or booleans, got dtype {array.dtype}.")
    return array > 0.5


def _check_connectivity(connectivity: int) -> int:
    if isinstance(connectivity, bool) or connectivity not in CONNECTIVITIES:
        raise ValueError(f"connectivity: expected one of {sorted(CONNECTIVITIES)}, got {connectivity!r}")
    return CONNECTIVITIES[connectivity]


def _check_distance(max_distance_mm: float | None, spacing: Sequence[float] | None) -> tuple[float, ...] | None:
    if max_distance_mm is None:
        return None
    if isinstance(max_distance_mm, bool) or not isinstance(max_distance_mm, (int, float)):
        raise ValueError(f"max_distance_mm: expected a positive number or None, got {max_distance_mm!r}")
    if not math.isfinite(max_distance_mm) or max_distance_mm <= 0:
        raise ValueError(f"max_distance_mm: expected a positive finite number of mm or None, got {max_distance_mm}")
    if spacing is None:
        raise ValueError(
            "spacing is required when max_distance_mm is set: give the voxel size in mm along (X, Y, Z), "
            "e.g. the column norms of the image affine."
        )
    return check_spacing(spacing)


def check_spacing(spacing: Sequence[float]) -> tuple[float, float, float]:
    """Three positive finite voxel sizes in mm, or a ValueError naming ``spacing``."""
    try:
        values = tuple(float(s) for s in spacing)
    except (TypeError, ValueError) as err:
        raise ValueError(f"spacing: expected three positive numbers (mm along X, Y, Z), got {spacing!r}") from err
    if len(values) != 3 or not all(math.isfinite(s) and s > 0 for s in values):
        raise ValueError(f"spacing: expected three positive numbers (mm along X, Y, Z), got {spacing!r}")
    return values  # type: ignore[return-value]


def _centroids(labels: np.ndarray, n_labels: int, sizes: np.ndarray) -> np.ndarray:
    coords = np.nonzero(labels)
    ids = labels[coords]
    return np.stack(
        [np.bincount(ids, weights=axis_coords, minlength=n_labels + 1)[1:] / sizes for axis_coords in coords], axis=1
    )


def _overlaps(pred_labels: np.ndarray, ref_labels: np.ndarray, n_ref: int) -> dict[tuple[int, int], int]:
    """Overlap in voxels of every (pred, ref) pair of components (0-based ids) that share voxels, kept sparse."""
    both = (pred_labels > 0) & (ref_labels > 0)
    pair_ids = (pred_labels[both].astype(np.int64) - 1) * n_ref + (ref_labels[both].astype(np.int64) - 1)
    pairs, pair_overlaps = np.unique(pair_ids, return_counts=True)
    return {(int(k // n_ref), int(k % n_ref)): int(v) for k, v in zip(pairs, pair_overlaps)}


def _centroid_distances(
    pred_centroids: np.ndarray, ref_centroids: np.ndarray, max_distance_mm: float, overlap: dict[tuple[int, int], int]
) -> dict[tuple[int, int], float]:
    """Centroid distance (mm) of every pair within ``max_distance_mm`` and of every overlapping pair."""
    near = cKDTree(pred_centroids).sparse_distance_matrix(cKDTree(ref_centroids), max_distance_mm, output_type="dict")
    distance = {(int(p), int(r)): float(d) for (p, r), d in near.items()}
    for p, r in overlap:
        distance.setdefault((p, r), float(np.linalg.norm(pred_centroids[p] - ref_centroids[r])))
    return distance


def _match(
    overlap: dict[tuple[int, int], int],
    distance: dict[tuple[int, int], float],
    pred_sizes: np.ndarray,
    ref_sizes: np.ndarray,
) -> tuple[int, int]:
    """The one-to-one matching of the compatible pairs (overlapping, or within the centroid distance).

    Returns:
        The number of matched pairs (TP) and the number of predicted components compatible with some lesion.
    """
    compatible = sorted(set(overlap) | set(distance))
    row_index = {p: i for i, p in enumerate(sorted({p for p, _ in compatible}))}
    col_index = {r: j for j, r in enumerate(sorted({r for _, r in compatible}))}
    # weight of a compatible pair: a bonus larger than any sum of the other terms (so the number of pairs is
    # maximised first), then the IoU, then a small closeness term; incompatible pairs weigh 0
    bonus = 2.0 * (min(len(row_index), len(col_index)) + 1)
    weights = np.zeros((len(row_index), len(col_index)))
    for p, r in compatible:
        inter = overlap.get((p, r), 0)
        iou = inter / (pred_sizes[p] + ref_sizes[r] - inter)
        closeness = 1.0 / (1.0 + distance[(p, r)]) if (p, r) in distance else 0.0
        weights[row_index[p], col_index[r]] = bonus + iou + 1e-3 * closeness
    matched_rows, matched_cols = linear_sum_assignment(weights, maximize=True)
    return int(np.count_nonzero(weights[matched_rows, matched_cols] > 0)), len(row_index)


def compute_lesion_counts(
    y_pred: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    *,
    spacing: Sequence[float] | None = None,
    max_distance_mm: float | None = None,
    connectivity: int = 26,
) -> LesionCounts:
    """Matches predicted CMB components to reference lesions and counts TP, FP, FN and voxel overlaps.

    Counting rules (metrics of Table 2 in paper ``000``; duplicate handling as in the VALDO challenge and the
    MICCAI WMH challenge, where a predicted component touching a reference lesion is never a false positive):

    1. Both masks are binarised (``True`` for booleans, values ``> 0.5`` otherwise) and split into connected
       components with the given 3D ``connectivity`` (26 by default). Each reference component is one lesion.
    2. A predicted component and a reference lesion are *compatible* when they share at least one voxel, or,
       when ``max_distance_mm`` is given, also when their centroids (in mm, voxel index times ``spacing``) are at
       most ``max_distance_mm`` apart.
    3. Compatible pairs are matched one-to-one: each reference lesion and each predicted component is used at
       most once. The matching has the largest possible number of pairs (``scipy.optimize.linear_sum_assignment``);
       among such matchings the total overlap (IoU) is largest, then the centroids closest. The counts therefore
       do not depend on how components are labelled or ordered.
    4. TP = matched pairs; FN = reference lesions left unmatched; FP = predicted components compatible with no
       reference lesion; duplicates = the remaining predicted components (compatible with a lesion that another
       component matched). Two components on one lesion give 1 TP and 1 duplicate; one component across two
       lesions gives 1 TP and 1 FN unless another component matches the second lesion.
    5. Voxel counts for Dice compare the binarised masks voxel by voxel.

    Args:
        y_pred: predicted mask of shape (X, Y, Z), numpy or torch, boolean, integer or float.
        y: reference mask of the same shape.
        spacing: voxel size in mm along (X, Y, Z); required only when ``max_distance_mm`` is set.
        max_distance_mm: optional centroid distance in mm under which a non-overlapping component still matches.
        connectivity: neighbourhood of the connected components, 6, 18 or 26.

    Returns:
        The :class:`LesionCounts` of this subject.

    Raises:
        ValueError: when the masks are not 3D arrays of the same shape, ``connectivity`` is not 6, 18 or 26,
            ``max_distance_mm`` is not positive, or ``spacing`` is missing or not three positive numbers while
            ``max_distance_mm`` is set.
    """
    rank = _check_connectivity(connectivity)
    spacing_mm = _check_distance(max_distance_mm, spacing)
    pred = _binarise(y_pred, "y_pred")
    ref = _binarise(y, "y")
    if pred.ndim != 3 or ref.ndim != 3 or pred.shape != ref.shape:
        raise ValueError(
            f"y_pred and y: expected 3D masks (X, Y, Z) of the same shape, got {tuple(pred.shape)} and "
            f"{tuple(ref.shape)}"
        )
    voxel_tp = int(np.count_nonzero(pred & ref))
    voxel_fp = int(np.count_nonzero(pred)) - voxel_tp
    voxel_fn = int(np.count_nonzero(ref)) - voxel_tp

    structure = ndimage.generate_binary_structure(3, rank)
    pred_labels, n_pred = ndimage.label(pred, structure=structure)
    ref_labels, n_ref = ndimage.label(ref, structure=structure)
    voxels = {"voxel_tp": voxel_tp, "voxel_fp": voxel_fp, "voxel_fn": voxel_fn}
    if n_pred == 0 or n_ref == 0:
        return LesionCounts(tp=0, fp=n_pred, fn=n_ref, duplicates=0, **voxels)

    pred_sizes = np.bincount(pred_labels.ravel(), minlength=n_pred + 1)[1:]
    ref_sizes = np.bincount(ref_labels.ravel(), minlength=n_ref + 1)[1:]
    overlap = _overlaps(pred_labels, ref_labels, n_ref)
    distance: dict[tuple[int, int], float] = {}
    if spacing_mm is not None:
        pred_centroids = _centroids(pred_labels, n_pred, pred_sizes) * np.asarray(spacing_mm)
        ref_centroids = _centroids(ref_labels, n_ref, ref_sizes) * np.asarray(spacing_mm)
        distance = _centroid_distances(pred_centroids, ref_centroids, float(max_distance_mm), overlap)
    tp, n_compatible = _match(overlap, distance, pred_sizes, ref_sizes)
    return LesionCounts(tp=tp, fp=n_pred - n_compatible, fn=n_ref - tp, duplicates=n_compatible - tp, **voxels)
