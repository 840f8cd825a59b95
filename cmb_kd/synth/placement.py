"""Placing lesions in their anatomical regions, apart from each other and from veins, alone or in clusters."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence

import numpy as np

from cmb_kd.synth.lesions import Lesion, patch_half_width

__all__ = ["place_lesions", "visible_radius", "extent_separation", "relocate_lesions", "place_clusters"]

logger = logging.getLogger(__name__)

#: Weight of the slice-axis distance in the separation test: thick slices smear lesions along Z.
_Z_WEIGHT = 0.5
#: Margin on the expected visible radius in the cluster separation (the simulated extent can exceed the target).
_EXTENT_MARGIN = 1.5


def place_lesions(
    lesions: list[Lesion],
    candidates: dict[str, np.ndarray],
    affine: np.ndarray,
    shape: tuple[int, int, int],
    spacing: float,
    min_separation: float,
    rng: np.random.Generator,
    tries: int = 200,
    *,
    fixed: Sequence[Lesion] = (),
    separation: Callable[[Lesion, Lesion], float] | None = None,
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
        fixed: lesions placed earlier that the new ones must also keep apart from.
        separation: ``(new, other) -> mm``, the minimum weighted distance of a pair, in place of
            ``min_separation`` (e.g. :func:`extent_separation` for clusters).

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
        others = [*fixed, *placed]
        for _ in range(tries):
            centre = pool[rng.integers(len(pool))] + rng.uniform(-0.5, 0.5, 3)
            if np.any(centre < margin) or np.any(centre > np.array(shape) - 1 - margin):
                continue
            if separation is None:
                apart = all(
                    np.linalg.norm((centre - other.centre) * spacing * weight) >= min_separation for other in others
                )
            else:
                apart = all(
                    np.linalg.norm((centre - other.centre) * spacing * weight) >= separation(lesion, other)
                    for other in others
                )
            if apart:
                lesion.centre = centre
                lesion.centre_mm = affine[:3, :3] @ centre + affine[:3, 3]
                placed.append(lesion)
                break
        else:
            logger.debug("no free room for a %s %s lesion after %d draws; dropped", lesion.location, lesion.kind, tries)
    return placed


def visible_radius(lesion: Lesion) -> float:
    """Expected radius (mm) of a lesion's visible extent: half the target visible diameter of a CMB, else twice the
    source radius (calcifications bloom little)."""
    if lesion.target_diameter is not None:
        return 0.5 * float(lesion.target_diameter)
    return 2.0 * lesion.radius


def extent_separation(gap: float, margin: float = _EXTENT_MARGIN) -> Callable[[Lesion, Lesion], float]:
    """The separation of clusters: ``gap + margin·(r_a + r_b)`` mm, r the :func:`visible_radius` of each lesion.

    The visible extents of two lesions that far apart (expected extents widened by ``margin``) stay
    ``gap`` mm apart, so their labels stay separate components while their centres may be a few mm apart.

    Args:
        gap: gap between the widened extents, mm.
        margin: factor on the expected visible radii.

    Returns:
        A ``separation`` for :func:`place_lesions`.
    """

    def separation(a: Lesion, b: Lesion) -> float:
        return gap + margin * (visible_radius(a) + visible_radius(b))

    return separation


def relocate_lesions(
    placed: list[Lesion],
    candidates: dict[str, np.ndarray],
    probabilities: dict[str, float],
    affine: np.ndarray,
    shape: tuple[int, int, int],
    spacing: float,
    min_separation: float,
    rng: np.random.Generator,
) -> list[Lesion]:
    """Moves CMBs to other location classes: each CMB goes to location ``L`` with probability ``probabilities[L]``.

    A moved CMB gets a centre drawn from the candidates of its new class, apart (``min_separation``)
    from every other placed lesion; one that finds no room keeps its place.

    Args:
        placed: placed lesions (calcifications are kept as they are).
        candidates: location -> (N, 3) candidate voxel indices (must hold every key of ``probabilities``).
        probabilities: new location -> probability; the sum is at most 1 (the rest stay).
        affine, shape, spacing, min_separation: as for :func:`place_lesions`.
        rng: random generator (one uniform draw per CMB, then the placement draws).

    Returns:
        The lesions, moved ones replaced by their moved copies, in the same order.
    """
    names = list(probabilities)
    cumulative = np.cumsum([probabilities[name] for name in names])
    out = list(placed)
    for i, lesion in enumerate(out):
        if lesion.kind != "cmb":
            continue
        k = int(np.searchsorted(cumulative, rng.random(), side="right"))
        if k >= len(names):
            continue
        moved = dataclasses.replace(lesion, location=names[k], centre=None, centre_mm=None, extra=dict(lesion.extra))
        others = out[:i] + out[i + 1 :]
        if place_lesions([moved], candidates, affine, shape, spacing, min_separation, rng, fixed=others):
            out[i] = moved
    return out


def _ball_pool(allowed: np.ndarray, centre: np.ndarray, radius: float, spacing: float) -> np.ndarray:
    """Voxels of ``allowed`` whose centre is within ``radius`` mm of ``centre`` (voxel coordinates)."""
    reach = int(np.ceil(radius / spacing)) + 1
    lo = np.maximum(np.round(centre).astype(int) - reach, 0)
    hi = np.minimum(np.round(centre).astype(int) + reach + 1, allowed.shape)
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    pool = np.argwhere(allowed[box]) + lo
    return pool[np.linalg.norm((pool - centre) * spacing, axis=1) <= radius]


def place_clusters(
    placed: list[Lesion],
    make_member: Callable[[Lesion], Lesion],
    allowed: np.ndarray,
    probability: float,
    members_range: tuple[int, int],
    radius: float,
    gap: float,
    affine: np.ndarray,
    shape: tuple[int, int, int],
    spacing: float,
    rng: np.random.Generator,
    max_cmbs: int,
) -> list[Lesion]:
    """Grows clusters: each placed CMB seeds, with ``probability``, further CMBs within ``radius`` mm of its centre.

    Members are drawn by ``make_member(seed)`` and placed in ``allowed`` voxels around the seed with the
    separation of :func:`extent_separation` (``gap``) from every other lesion, so a cluster's CMBs lie a
    few mm apart while their labels stay apart. Seed and members get ``extra["cluster"]``, the cluster
    number; the seed also gets ``extra["cluster_seed"] = True``.

    Args:
        placed: placed lesions.
        make_member: draws one unplaced member CMB for a seed (location, size, susceptibility, shape).
        allowed: boolean mask (X, Y, Z) of the voxels a member may be centred in.
        probability: probability that a CMB seeds a cluster.
        members_range: ``(min, max)`` further CMBs per cluster (inclusive).
        radius: largest distance of a member's centre from the seed's centre, mm.
        gap: see :func:`extent_separation`, mm.
        affine, shape, spacing: as for :func:`place_lesions`.
        rng: random generator.
        max_cmbs: the subject's CMB count is not grown beyond this.

    Returns:
        The lesions followed by the placed members.
    """
    out = list(placed)
    separation = extent_separation(gap)
    n_cmb = sum(lesion.kind == "cmb" for lesion in out)
    # a member's centre is a pool voxel moved by up to half a voxel along each axis
    pool_radius = radius - 0.5 * np.sqrt(3.0) * spacing
    seeds = [lesion for lesion in placed if lesion.kind == "cmb"]
    for number, seed in enumerate(seeds):
        if rng.random() >= probability:
            continue
        count = min(int(rng.integers(members_range[0], members_range[1] + 1)), max_cmbs - n_cmb)
        if count <= 0 or pool_radius <= 0:
            continue
        members = [make_member(seed) for _ in range(count)]
        pool = _ball_pool(allowed, seed.centre, pool_radius, spacing)
        grown = place_lesions(
            members, {seed.location: pool}, affine, shape, spacing, 0.0, rng, fixed=out, separation=separation
        )
        for member in grown:
            member.extra["cluster"] = number
        if grown:
            seed.extra.update(cluster=number, cluster_seed=True)
        out += grown
        n_cmb += len(grown)
    return out
