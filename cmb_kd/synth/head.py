"""Head layers outside the brain: CSF rim, dark skull, bright scalp, and air everywhere else."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = ["CLOSING_MM", "HeadLayers", "closed_distance", "head_layers"]


@dataclass
class HeadLayers:
    """Fractions (float32, X×Y×Z) of the head tissues outside the brain.

    Attributes:
        csf_rim: subarachnoid CSF around the brain.
        skull: cortical bone (very short T2*, dark).
        scalp: skin, fat and muscle (bright).
        outside_distance: distance in mm from the surface of the intracranial volume (the brain closed by a
            12 mm ball; 0 inside it), with ±1 mm of smooth noise.
        params: drawn thicknesses in mm.
    """

    csf_rim: np.ndarray
    skull: np.ndarray
    scalp: np.ndarray
    outside_distance: np.ndarray
    params: dict


def _smooth_noise(shape: tuple[int, ...], rng: np.random.Generator, amplitude: float) -> np.ndarray:
    coarse = rng.standard_normal(tuple(max(2, n // 24) for n in shape)).astype(np.float32)
    zoom = [n / c for n, c in zip(shape, coarse.shape, strict=True)]
    return (
        amplitude
        * ndimage.zoom(coarse, zoom, order=1, grid_mode=True, mode="nearest")[tuple(slice(0, n) for n in shape)]
    )


#: Radius of the morphological closing that turns the brain into the intracranial volume (fills cisterns).
CLOSING_MM = 12.0


def closed_distance(mask: np.ndarray, spacing: float, radius: float = CLOSING_MM) -> np.ndarray:
    """Distance (mm) outside the closing of ``mask`` by a ball of ``radius`` mm (0 inside the closed mask).

    The closing, computed with two distance transforms, fills the basal cisterns and sulcal gaps, so
    only the outer surface of the intracranial volume gets skull and scalp.

    Args:
        mask: boolean brain mask (X, Y, Z).
        spacing: isotropic voxel size in mm.
        radius: radius of the closing ball in mm.

    Returns:
        float32 distances in mm, of the shape of ``mask``.
    """
    step = max(1, int(2.0 // spacing))  # the closing is a coarse shape: compute it on a grid of about 2 mm
    coarse = mask[::step, ::step, ::step]
    dilated = ndimage.distance_transform_edt(~coarse, sampling=spacing * step) <= radius
    closed = ndimage.distance_transform_edt(dilated, sampling=spacing * step) > radius
    for axis, n in enumerate(mask.shape):
        closed = np.repeat(closed, step, axis=axis).take(np.arange(n), axis=axis)
    closed |= mask
    return ndimage.distance_transform_edt(~closed, sampling=spacing).astype(np.float32)


def head_layers(brain: np.ndarray, spacing: float, rng: np.random.Generator) -> HeadLayers:
    """Draws the layers around a brain from the distance to its surface, with smoothly varying thickness.

    Args:
        brain: brain fraction (X, Y, Z) in [0, 1].
        spacing: isotropic voxel size in mm.
        rng: random generator.

    Returns:
        The head layers; each voxel's fractions over brain + layers + air sum to 1.
    """
    t_csf, t_skull, t_scalp = rng.uniform(1.5, 3.5), rng.uniform(4.5, 7.5), rng.uniform(4.0, 7.0)
    distance = closed_distance(brain >= 0.5, spacing, CLOSING_MM)
    distance += _smooth_noise(brain.shape, rng, 1.0)
    edges = np.cumsum([0.0, t_csf, t_skull, t_scalp])

    def band(low: float, high: float) -> np.ndarray:
        # partial volume over one voxel at each boundary
        return np.clip(np.minimum(distance - low, high - distance) / spacing + 0.5, 0.0, 1.0)

    outside = 1.0 - brain
    layers = [band(edges[i], edges[i + 1]) * outside for i in range(3)]
    layers[0] = np.maximum(layers[0], outside * (distance <= edges[1]))  # brain surface gaps are CSF
    return HeadLayers(
        csf_rim=layers[0].astype(np.float32),
        skull=layers[1].astype(np.float32),
        scalp=layers[2].astype(np.float32),
        outside_distance=distance,
        params={"csf_mm": round(t_csf, 3), "skull_mm": round(t_skull, 3), "scalp_mm": round(t_scalp, 3)},
    )
