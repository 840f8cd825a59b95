"""Sulcal CSF clefts: thin sheets of CSF cut into the cortex, with the partial volume a thick voxel gives them."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from cmb_kd.synth.shapes import ellipsoid_fraction

__all__ = ["draw_sulcal_clefts"]

#: Sample points per voxel and axis: a 0.3 mm cleft must be resolved in a 1 mm voxel.
_SAMPLES = 6
#: Depth range (mm under the brain surface) of cleft centres.
_DEPTH_MM = (1.0, 6.0)


def _surface_normal(distance: np.ndarray, voxel: np.ndarray) -> np.ndarray:
    """Unit gradient of a distance map at an integer voxel (central differences), pointing inward."""
    lo = np.maximum(voxel - 1, 0)
    hi = np.minimum(voxel + 1, np.array(distance.shape) - 1)
    grad = np.array(
        [
            float(distance[tuple(np.where(np.arange(3) == k, hi, voxel))])
            - float(distance[tuple(np.where(np.arange(3) == k, lo, voxel))])
            for k in range(3)
        ]
    )
    norm = np.linalg.norm(grad)
    return grad / norm if norm > 0 else np.array([0.0, 0.0, 1.0])


def draw_sulcal_clefts(
    gm: np.ndarray,
    inside_distance: np.ndarray,
    spacing: float,
    rng: np.random.Generator,
    count: int,
    width_range: tuple[float, float],
    length_range: tuple[float, float],
) -> tuple[np.ndarray, list[dict]]:
    """Draws thin CSF clefts in the cortex and returns the fraction of each voxel they take.

    A cleft is a flat ellipsoid centred in cortical grey matter 1-6 mm under the brain surface: its long
    axes run along the local surface normal (into the depth, as a sulcus does) and along the surface,
    its thickness is drawn in ``width_range``. In the simulation the cleft's fraction of each voxel turns
    grey and white matter into CSF.

    Args:
        gm: grey-matter fraction (X, Y, Z).
        inside_distance: distance to the brain surface inside the brain, mm.
        spacing: isotropic voxel size in mm.
        rng: random generator.
        count: number of clefts.
        width_range: thickness range, mm.
        length_range: range of the extent along the normal and along the surface, mm.

    Returns:
        ``(fraction, records)``: float32 (X, Y, Z) cleft fraction in [0, 1] and one description per cleft.
    """
    fraction = np.zeros(gm.shape, np.float32)
    pool = np.argwhere((gm > 0.5) & (inside_distance >= _DEPTH_MM[0]) & (inside_distance <= _DEPTH_MM[1]))
    records: list[dict] = []
    if len(pool) == 0:
        return fraction, records
    for _ in range(count):
        voxel = pool[rng.integers(len(pool))]
        centre = voxel + rng.uniform(-0.5, 0.5, 3)
        width = float(rng.uniform(*width_range))
        depth, along = (float(v) for v in rng.uniform(*length_range, size=2))
        normal = _surface_normal(inside_distance, voxel)
        # the sheet's plane holds the normal; its thickness axis is a random direction across the normal
        base = np.cross(normal, _any_other(normal))
        across = Rotation.from_rotvec(normal * rng.uniform(0.0, 2.0 * np.pi)).apply(base / np.linalg.norm(base))
        rotation = np.column_stack([normal, np.cross(across, normal), across])
        box, part = ellipsoid_fraction(
            centre, (depth / 2.0, along / 2.0, width / 2.0), rotation, gm.shape, spacing, _SAMPLES
        )
        fraction[box] = np.maximum(fraction[box], part)
        records.append(
            {
                "type": "sulcal_csf",
                "centre_voxel": np.round(centre, 3).tolist(),
                "width_mm": round(width, 3),
                "depth_mm": round(depth, 3),
                "length_mm": round(along, 3),
            }
        )
    return fraction, records


def _any_other(direction: np.ndarray) -> np.ndarray:
    """A unit axis not parallel to ``direction``."""
    axis = np.zeros(3)
    axis[int(np.argmin(np.abs(direction)))] = 1.0
    return axis
