"""Lesion labels as visible extents: where a lesion darkens the magnitude, one component per lesion."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from cmb_kd.synth.acquisition import thick_slices
from cmb_kd.synth.lesions import Lesion
from cmb_kd.synth.mimic_map import MIMIC_LABELS

__all__ = ["visible_extent", "lesion_labels", "merged_cluster_members"]

#: A lesion box on one grid and the mask of the lesion's visible extent inside it.
BoxMask = tuple[tuple[slice, slice, slice], np.ndarray]

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


def _lr_centre(centre: np.ndarray, factor: int) -> np.ndarray:
    return np.array([centre[0], centre[1], (centre[2] - (factor - 1) / 2.0) / factor])


def _lr_box(box: tuple[slice, slice, slice], factor: int, depth: int) -> tuple[slice, slice, slice]:
    z = box[2]
    return box[0], box[1], slice(z.start // factor, min(-(-z.stop // factor), depth))


def _paint(label: np.ndarray, box: tuple[slice, slice, slice], mask: np.ndarray, value: int) -> None:
    label[box][mask] = value


def _hr_labels(
    ratio: np.ndarray,
    placed: list[Lesion],
    boxes: list[tuple[slice, slice, slice]],
    mimic_label: np.ndarray,
    spacing: float,
    threshold: float,
) -> tuple[np.ndarray, list[BoxMask]]:
    """CMB label on the HR grid and each CMB's ``(box, mask)``; calcifications painted into ``mimic_label``."""
    cmb_label = np.zeros(ratio.shape, np.uint8)
    hr_masks = []
    for lesion, box in zip(placed, boxes, strict=True):
        mask, visible = visible_extent(ratio, lesion.centre, box, threshold)
        lesion.extra["visible_hr"] = visible
        if lesion.kind == "cmb":
            _paint(cmb_label, box, mask, 1)
            lesion.visible_diameter = float((6.0 * mask.sum() * spacing**3 / np.pi) ** (1.0 / 3.0))
            hr_masks.append((box, mask))
        else:
            _paint(mimic_label, box, mask, MIMIC_LABELS["calcification"])
    return cmb_label, hr_masks


def _thick_slice_labels(
    clean: np.ndarray,
    background: np.ndarray,
    placed: list[Lesion],
    boxes: list[tuple[slice, slice, slice]],
    factor: int,
    threshold: float,
) -> tuple[np.ndarray, np.ndarray, list[BoxMask]]:
    """Noise-free thick-slice signal, its CMB label and each CMB's ``(box, mask)`` at one slice factor."""
    lr_clean = thick_slices(clean, factor)
    lr_ratio = np.abs(lr_clean) / np.maximum(np.abs(thick_slices(background, factor)), 1e-6)
    lr_label = np.zeros(lr_clean.shape, np.uint8)
    lr_masks = []
    for lesion, box in zip(placed, boxes, strict=True):
        if lesion.kind != "cmb":
            continue
        lbox = _lr_box(box, factor, lr_clean.shape[2])
        mask, visible = visible_extent(lr_ratio, _lr_centre(lesion.centre, factor), lbox, threshold)
        lesion.extra[f"visible_lr-x{factor}"] = visible
        _paint(lr_label, lbox, mask, 1)
        lr_masks.append((lbox, mask))
    return lr_clean, lr_label, lr_masks


def lesion_labels(
    clean: np.ndarray,
    background: np.ndarray,
    placed: list[Lesion],
    boxes: list[tuple[slice, slice, slice]],
    mimic_label: np.ndarray,
    spacing: float,
    lr_factors: tuple[int, ...],
    threshold: float,
) -> tuple[np.ndarray, dict[int, tuple[np.ndarray, np.ndarray]], list[list[BoxMask]]]:
    """CMB labels on the HR grid and every thick-slice grid (calcifications painted into ``mimic_label``).

    Each lesion's visible extent is found from the ratio of the noise-free signal with lesions to the one
    without, on the HR grid and on the thick slices of each factor (the HR box mapped onto them). Each
    lesion's ``extra`` records whether it was visible on each grid; a CMB gets the visible diameter of its
    HR label.

    Args:
        clean: noise-free complex HR signal with lesions (X, Y, Z).
        background: the same signal without lesions (X, Y, Z).
        placed: the lesions (CMBs and calcifications), updated in place.
        boxes: each lesion's HR box, in the order of ``placed``.
        mimic_label: uint8 mimic map (X, Y, Z), updated in place.
        spacing: isotropic HR voxel size in mm.
        lr_factors: slice-thickness factors of the thick-slice grids.
        threshold: visibility threshold on the ratio.

    Returns:
        ``(cmb_label, lr, masks)``: the HR label; factor -> (noise-free thick-slice signal, label); and per grid
        (HR first, then the factors in order) the ``(box, mask)`` of each CMB, in the order of ``placed``.
    """
    ratio = np.abs(clean) / np.maximum(np.abs(background), 1e-6)
    cmb_label, hr_masks = _hr_labels(ratio, placed, boxes, mimic_label, float(spacing), threshold)
    del ratio
    lr, masks = {}, [hr_masks]
    for factor in lr_factors:
        lr_clean, lr_label, lr_masks = _thick_slice_labels(clean, background, placed, boxes, factor, threshold)
        lr[factor] = (lr_clean, lr_label)
        masks.append(lr_masks)
    return cmb_label, lr, masks


def _is_cluster_member(lesion: Lesion) -> bool:
    return "cluster" in lesion.extra and not lesion.extra.get("cluster_seed", False)


def merged_cluster_members(cmbs: list[Lesion], labels: list[np.ndarray], masks: list[list[BoxMask]]) -> set[int]:
    """Indices (into ``cmbs``) of cluster members whose label shares a component with another CMB's on some grid.

    Of two CMBs that share a component, the later one is taken when it is a cluster member (not a cluster
    seed), else the earlier one when it is; a CMB already taken resolves the pair.

    Args:
        cmbs: the CMBs, in label order.
        labels: the CMB label of each grid.
        masks: per grid, the ``(box, mask)`` of each CMB (see :func:`lesion_labels`).

    Returns:
        The indices of the cluster members to take out.
    """
    drop: set[int] = set()
    for label, grid_masks in zip(labels, masks, strict=True):
        components, _ = ndimage.label(label, structure=_CONNECTIVITY)
        owner: dict[int, int] = {}
        for i, (box, mask) in enumerate(grid_masks):
            component = int(components[box][mask][0])
            if component not in owner:
                owner[component] = i
                continue
            first = owner[component]
            if i in drop or first in drop:
                continue
            if _is_cluster_member(cmbs[i]):
                drop.add(i)
            elif _is_cluster_member(cmbs[first]):
                drop.add(first)
    return drop
