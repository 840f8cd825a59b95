"""Air pockets next to the paranasal sinuses and mastoid cells: stronger air-tissue fields at the skull base."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from cmb_kd.synth.shapes import ellipsoid_fraction

__all__ = ["draw_air_pockets"]

#: Largest distance (mm) of a pocket centre from an air voxel of the template's sinuses and mastoid cells.
_REACH_MM = 15.0
#: Pockets stay this far (mm) outside the intracranial volume, as the sinuses do.
_OUTSIDE_MM = 2.0


def draw_air_pockets(
    air: np.ndarray,
    brain: np.ndarray,
    outside_distance: np.ndarray,
    spacing: float,
    rng: np.random.Generator,
    count: int,
    diameter_range: tuple[float, float],
    tries: int = 50,
) -> tuple[np.ndarray, list[dict]]:
    """Draws ellipsoidal air pockets around the template's air spaces and returns their air fraction.

    A pocket is centred within 15 mm of an air voxel (sinus or mastoid cell), outside the brain and more
    than 2 mm outside the intracranial volume; its air never enters the intracranial volume. Its diameter
    (geometric mean of the axes) is drawn in ``diameter_range``, its aspect ratio in 1-1.5.

    Args:
        air: air fraction of the template's air spaces (X, Y, Z).
        brain: brain fraction.
        outside_distance: distance outside the intracranial volume, mm (0 inside).
        spacing: isotropic voxel size in mm.
        rng: random generator.
        count: number of pockets.
        diameter_range: diameter range in mm.
        tries: draws of a centre per pocket before it is dropped.

    Returns:
        ``(fraction, records)``: float32 (X, Y, Z) air fraction of the pockets and one description per pocket.
    """
    shape = np.array(air.shape)
    fraction = np.zeros(air.shape, np.float32)
    seeds = np.argwhere(air > 0.5)
    records: list[dict] = []
    if len(seeds) == 0:
        return fraction, records
    for _ in range(count):
        diameter = float(rng.uniform(*diameter_range))
        aspect = rng.uniform(1.0, 1.5)
        axes = np.array([aspect, np.sqrt(aspect), 1.0])
        axes = axes / np.prod(axes) ** (1.0 / 3.0) * diameter / 2.0
        rotation = Rotation.random(random_state=rng).as_matrix()
        for _ in range(tries):
            direction = rng.standard_normal(3)
            direction /= np.linalg.norm(direction) + 1e-12
            centre = seeds[rng.integers(len(seeds))] + direction * rng.uniform(0.0, _REACH_MM) / spacing
            voxel = np.round(centre).astype(int)
            if np.any(voxel < 0) or np.any(voxel >= shape):
                continue
            if brain[tuple(voxel)] < 0.05 and outside_distance[tuple(voxel)] > _OUTSIDE_MM:
                break
        else:
            continue
        box, part = ellipsoid_fraction(centre, tuple(axes), rotation, air.shape, spacing, samples=2)
        part *= (outside_distance[box] > _OUTSIDE_MM) * (1.0 - brain[box])
        fraction[box] = np.maximum(fraction[box], part)
        records.append(
            {"type": "air_pocket", "centre_voxel": np.round(centre, 3).tolist(), "diameter_mm": round(diameter, 3)}
        )
    return fraction, records
