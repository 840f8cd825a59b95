"""Placing lesions in their anatomical regions, apart from each other and from veins."""

from __future__ import annotations

import logging

import numpy as np

from cmb_kd.synth.lesions import Lesion, patch_half_width

__all__ = ["place_lesions"]

logger = logging.getLogger(__name__)

#: Weight of the slice-axis distance in the separation test: thick slices smear lesions along Z.
_Z_WEIGHT = 0.5


def place_lesions(
    lesions: list[Lesion],
    candidates: dict[str, np.ndarray],
    affine: np.ndarray,
    shape: tuple[int, int, int],
    spacing: float,
    min_separation: float,
    rng: np.random.Generator,
    tries: int = 200,
) -> list[Lesion]:
    """Draws a centre for each lesion from the candidate voxels of its location class.

    Centres keep ``min_separation`` (mm, with the slice-axis distance counted at half weight so
    that lesions stay apart after thick-slice averaging) from every lesion placed before, and the
    simulation box of each lesion stays inside the grid.

    Args:
        lesions: lesions with ``location`` set; ``centre`` and ``centre_mm`` are filled in.
        candidates: location -> (N, 3) integer voxel indices allowed for that location.
        affine: voxel-to-world matrix.
        shape: grid shape.
        spacing: voxel size in mm.
        min_separation: minimum weighted centre distance in mm.
        rng: random generator.
        tries: draws per lesion before it is dropped.

    Returns:
        The lesions that could be placed (a lesion is dropped, with a log message, only when its
        region has no free room).
    """
    placed: list[Lesion] = []
    weight = np.array([1.0, 1.0, _Z_WEIGHT])
    for lesion in lesions:
        pool = candidates.get(lesion.location)
        if pool is None or len(pool) == 0:
            logger.debug("no candidate voxels for %s lesions; dropped", lesion.location)
            continue
        margin = patch_half_width(lesion, spacing) + 2
        for _ in range(tries):
            centre = pool[rng.integers(len(pool))] + rng.uniform(-0.5, 0.5, 3)
            if np.any(centre < margin) or np.any(centre > np.array(shape) - 1 - margin):
                continue
            if all(np.linalg.norm((centre - other.centre) * spacing * weight) >= min_separation for other in placed):
                lesion.centre = centre
                lesion.centre_mm = affine[:3, :3] @ centre + affine[:3, 3]
                placed.append(lesion)
                break
        else:
            logger.debug("no free room for a %s %s lesion after %d draws; dropped", lesion.location, lesion.kind, tries)
    return placed
