"""The mimic label map of a subject: which voxels hold a CMB mimic, and of which kind."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["MIMIC_LABELS", "SUB_VOXEL_MIMICS", "dropout_mask", "mimic_label_map"]

#: Values of the mimic label map.
MIMIC_LABELS = {
    "vein": 1,
    "calcification": 2,
    "susceptibility_dropout": 3,
    "thin_vein": 4,
    "flow_void": 5,
    "sulcal_csf": 6,
    "air_pocket": 7,
}
#: Vein fraction above which a voxel is marked as vein in the mimic map.
_VEIN_MASK_FRACTION = 0.3
#: Fraction above which a voxel is marked as sub-voxel vein, flow void, sulcal CSF cleft or air pocket, in the
#: order they are marked (a voxel keeps the first mark it gets).
SUB_VOXEL_MIMICS = {
    "thin_vein": 0.02,
    "flow_void": 0.3,
    "sulcal_csf": 0.2,
    "air_pocket": 0.5,
}
#: Signal kept by background-field dephasing below which a brain voxel is marked as dropout.
_DROPOUT_FRACTION = 0.5


def dropout_mask(
    signal: np.ndarray, decay_only: np.ndarray, gain: np.ndarray, scale: float, brain_mask: np.ndarray
) -> np.ndarray:
    """Brain voxels where the background field dephases away more than half of the signal.

    Args:
        signal: complex signal without lesions (X, Y, Z), in the scaled intensity units.
        decay_only: magnitude the voxel would have without any field, ``ρ·e^(−R2*·TE)`` (X, Y, Z).
        gain: receive bias field applied to ``signal`` (X, Y, Z).
        scale: intensity scale applied to ``signal``.
        brain_mask: brain mask (X, Y, Z), nonzero inside.

    Returns:
        Boolean mask (X, Y, Z).
    """
    return (np.abs(signal) < _DROPOUT_FRACTION * decay_only * gain * scale) & (brain_mask > 0)


def mimic_label_map(vein: np.ndarray, sub_voxel: Mapping[str, np.ndarray | None], dropout: np.ndarray) -> np.ndarray:
    """The uint8 mimic map (values of :data:`MIMIC_LABELS`) of the veins, sub-voxel mimics and dropout.

    Veins are marked first, then each sub-voxel mimic in the order of :data:`SUB_VOXEL_MIMICS` where its
    fraction passes its level, then dropout; a voxel keeps the first mark it gets.

    Args:
        vein: vein volume fraction (X, Y, Z).
        sub_voxel: fraction (X, Y, Z) of each kind of :data:`SUB_VOXEL_MIMICS`; a missing or ``None`` entry
            marks nothing.
        dropout: boolean susceptibility-dropout mask (X, Y, Z) (see :func:`dropout_mask`).

    Returns:
        The mimic label map (uint8, X, Y, Z).

    Raises:
        ValueError: if ``sub_voxel`` names a kind that is not in :data:`SUB_VOXEL_MIMICS`.
    """
    unknown = sorted(set(sub_voxel) - set(SUB_VOXEL_MIMICS))
    if unknown:
        raise ValueError(f"sub_voxel: unknown mimic kinds {unknown}; expected kinds of {sorted(SUB_VOXEL_MIMICS)}")
    mimic_label = np.zeros(vein.shape, np.uint8)
    mimic_label[vein > _VEIN_MASK_FRACTION] = MIMIC_LABELS["vein"]
    for name, level in SUB_VOXEL_MIMICS.items():
        fraction = sub_voxel.get(name)
        if fraction is not None:
            mimic_label[(fraction > level) & (mimic_label == 0)] = MIMIC_LABELS[name]
    mimic_label[dropout & (mimic_label == 0)] = MIMIC_LABELS["susceptibility_dropout"]
    return mimic_label
