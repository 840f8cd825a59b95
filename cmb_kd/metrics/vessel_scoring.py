"""Scoring of vessel segmentations: the counts of one subject and their pooling over a cohort."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from scipy import ndimage

from cmb_kd.metrics.lesion_matching import CONNECTIVITIES
from cmb_kd.metrics.skeleton import skeletonize
from cmb_kd.metrics.vessel_counts import VesselCounts

__all__ = ["VESSEL_SUMMARY_KEYS", "compute_vessel_counts", "summarize_vessel_counts"]

VESSEL_SUMMARY_KEYS: tuple[str, ...] = (
    "sensitivity",
    "precision",
    "dice",
    "dice_mean",
    "cl_sensitivity",
    "cl_precision",
    "cldice",
    "cldice_mean",
    "fragments_pred",
    "fragments_ref",
    "fragment_ratio",
    "n_subjects",
)
"""Keys of the dictionary returned by :func:`summarize_vessel_counts`, in display order."""


def _binarise(mask: Any, name: str) -> np.ndarray:
    if isinstance(mask, torch.Tensor):
        mask = mask.detach().cpu().numpy()
    array = np.asarray(mask)
    if array.dtype == np.bool_:
        return array
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise ValueError(f"{name}: expected a mask of numbers or booleans, got dtype {array.dtype}")
    return array > 0.5


def compute_vessel_counts(y_pred: Any, y: Any, *, connectivity: int = 26) -> VesselCounts:
    """Counts voxel overlap, centreline overlap and fragments of one predicted vessel mask against the reference.

    Both masks are binarised (``True`` for booleans, values ``> 0.5`` otherwise). Voxel counts compare them voxel
    by voxel; the centreline counts take the skeleton of each (:func:`~cmb_kd.metrics.skeletonize`) and count its
    voxels inside the other mask; the fragments are the connected components of each mask with the given
    ``connectivity``.

    Args:
        y_pred: predicted mask ``(X, Y, Z)``, numpy or torch, boolean, integer or float.
        y: reference mask of the same shape.
        connectivity: neighbourhood of the fragments, 6, 18 or 26.

    Returns:
        The :class:`~cmb_kd.metrics.VesselCounts` of this subject.

    Raises:
        ValueError: the masks are not 3D masks of the same shape, or ``connectivity`` is not 6, 18 or 26.
    """
    if isinstance(connectivity, bool) or connectivity not in CONNECTIVITIES:
        raise ValueError(f"connectivity: expected one of {sorted(CONNECTIVITIES)}, got {connectivity!r}")
    pred, ref = _binarise(y_pred, "y_pred"), _binarise(y, "y")
    if pred.ndim != 3 or pred.shape != ref.shape:
        raise ValueError(
            f"y_pred and y: expected 3D masks (X, Y, Z) of the same shape, got {pred.shape} and {ref.shape}"
        )
    tp = int(np.count_nonzero(pred & ref))
    skeleton_pred, skeleton_ref = skeletonize(pred, name="y_pred"), skeletonize(ref, name="y")
    structure = ndimage.generate_binary_structure(3, CONNECTIVITIES[connectivity])
    return VesselCounts(
        voxel_tp=tp,
        voxel_fp=int(np.count_nonzero(pred)) - tp,
        voxel_fn=int(np.count_nonzero(ref)) - tp,
        skeleton_pred=int(np.count_nonzero(skeleton_pred)),
        skeleton_pred_in_ref=int(np.count_nonzero(skeleton_pred & ref)),
        skeleton_ref=int(np.count_nonzero(skeleton_ref)),
        skeleton_ref_in_pred=int(np.count_nonzero(skeleton_ref & pred)),
        fragments_pred=int(ndimage.label(pred, structure=structure)[1]),
        fragments_ref=int(ndimage.label(ref, structure=structure)[1]),
    )


def _mean(values: list[float]) -> float:
    defined = [v for v in values if not math.isnan(v)]
    return sum(defined) / len(defined) if defined else math.nan


def summarize_vessel_counts(counts: Sequence[VesselCounts]) -> dict[str, float]:
    """Pools per-subject vessel counts over a cohort.

    Ratios pool the counts of all subjects first (micro average): ``sensitivity``, ``precision`` and ``dice`` over
    voxels, ``cl_sensitivity``, ``cl_precision`` and ``cldice`` over skeleton voxels, ``fragment_ratio`` =
    Σ fragments of the predictions / Σ fragments of the references. ``dice_mean`` and ``cldice_mean`` average the
    per-subject values over the subjects where they are defined; ``fragments_pred`` and ``fragments_ref`` are the
    mean numbers of fragments per subject. A pooled ratio is nan only when its denominator is zero over the whole
    cohort.

    Args:
        counts: one :class:`~cmb_kd.metrics.VesselCounts` per subject.

    Returns:
        A dictionary with the keys of :data:`VESSEL_SUMMARY_KEYS`, floats (``n_subjects`` a whole number).

    Raises:
        ValueError: when ``counts`` is empty or holds something other than ``VesselCounts``.
    """
    counts = list(counts)
    if not counts:
        raise ValueError("counts must hold at least one subject, got an empty sequence.")
    for index, item in enumerate(counts):
        if not isinstance(item, VesselCounts):
            raise ValueError(f"counts[{index}]: expected a VesselCounts, got {type(item).__name__}")
    pooled = sum(counts, VesselCounts())
    n = len(counts)
    return {
        "sensitivity": pooled.sensitivity,
        "precision": pooled.precision,
        "dice": pooled.dice,
        "dice_mean": _mean([item.dice for item in counts]),
        "cl_sensitivity": pooled.cl_sensitivity,
        "cl_precision": pooled.cl_precision,
        "cldice": pooled.cldice,
        "cldice_mean": _mean([item.cldice for item in counts]),
        "fragments_pred": pooled.fragments_pred / n,
        "fragments_ref": pooled.fragments_ref / n,
        "fragment_ratio": pooled.fragment_ratio,
        "n_subjects": float(n),
    }
