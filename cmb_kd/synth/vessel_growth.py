"""Smaller branches grown recursively from the named arteries: Murray's-law radii, random angles, tortuous paths.

Order by order, every segment of the tree spawns a Poisson number of branches along its length (fewer per mm on the
arteries thicker than 1 mm, by (1 mm / r)²). A branch takes a share α (log-uniform) of its parent's r³ (Murray's
law: r_branch = α^(1/3)·r_parent, at most ``max_branch_radius``; none thinner than ``stop_radius`` is grown, which
ends the recursion), leaves at a random angle, is √(r / 1 mm) times ``branch_length_range`` long, tapers linearly
(never below ``stop_radius``), and follows a path whose curvature is a smooth random process. It is drawn weakly
toward the cortex (where pial arteries run), steered back inside near the brain surface, and ends when it reaches
its length or leaves the brain. All the branches of one order grow together, one step at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from cmb_kd.synth.vessel_tree import VesselSegment, VesselTree

__all__ = ["GrowthParameters", "grow_branches"]

#: Maps (N, 3) points in mm to their distance inside the brain surface (mm, negative outside) and the unit
#: gradient of that distance (N, 3), which points inward.
InsideDistance = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]

#: Step of the grown centrelines (mm), correlation length of their curvature (mm), depth under the brain surface
#: below which a branch is steered inward (mm), length a branch may run outside the brain at its start (mm, for
#: arteries that leave a cistern), and how far outside the brain a branch may start (mm).
_STEP_MM, _CURVATURE_MM, _MARGIN_MM, _GRACE_MM, _START_OUTSIDE_MM = 0.5, 4.0, 3.0, 5.0, 4.0
#: Arteries thicker than this (mm) branch less often per mm: the density is scaled by (_THICK_MM / radius)².
_THICK_MM = 1.0
#: Gain of the inward steering (per mm, at the surface), and of the weak pull of a branch toward the depth of the
#: pial arteries (per mm), which spreads the tree over the cortex as real arteries are.
_STEER, _SEEK, _PIAL_MM = 1.0, 0.08, 4.0


@dataclass(frozen=True)
class GrowthParameters:
    """One subject's drawn growth parameters (see :class:`~cmb_kd.synth.mra_config.MRAConfig` for the ranges).

    Attributes:
        branch_density: branches per mm of parent (Poisson mean) on parents of at most 1 mm mean radius.
        murray_share_range: range of the share α of the parent's r³ (drawn log-uniformly).
        max_branch_radius: largest branch radius, mm.
        branch_angle_range: range of the angle to the parent, degrees.
        branch_length_range: range of the length of a branch of 1 mm radius, mm (√r scaling).
        taper_range: range of end radius over start radius.
        tortuosity: standard deviation of the curvature, rad/mm.
        stop_radius: thinnest radius drawn, mm.
        max_order: deepest branching order.
    """

    branch_density: float
    murray_share_range: tuple[float, float]
    max_branch_radius: float
    branch_angle_range: tuple[float, float]
    branch_length_range: tuple[float, float]
    taper_range: tuple[float, float]
    tortuosity: float
    stop_radius: float
    max_order: int

    def record(self) -> dict:
        """JSON-serialisable values."""
        return {k: (list(v) if isinstance(v, tuple) else round(v, 5)) for k, v in asdict(self).items()}


@dataclass
class _Sprouts:
    """Branches about to grow: parent, parent point, start, unit direction, radius, length and taper each."""

    parent: list[int]
    parent_point: list[int]
    start: list[np.ndarray]
    direction: list[np.ndarray]
    radius: list[float]
    length: list[float]
    taper: list[float]


def _perpendicular(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    helper = np.array([1.0, 0.0, 0.0]) if abs(t[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(t, helper)
    u /= np.linalg.norm(u)
    return u, np.cross(t, u)


def _sprout(tree: VesselTree, parents: list[int], inside: InsideDistance, params: GrowthParameters, rng) -> _Sprouts:
    """Draws the branches of the segments ``parents``; every draw is made whether or not the branch grows."""
    out = _Sprouts([], [], [], [], [], [], [])
    for index in parents:
        segment = tree.segments[index]
        arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(segment.points, axis=0), axis=1))])
        # thicker arteries (the circle of Willis) branch less often per mm
        mean_radius = float(segment.radii.mean())
        n = int(rng.poisson(params.branch_density * min(1.0, (_THICK_MM / mean_radius) ** 2) * arc[-1]))
        s = np.sort(rng.uniform(0.0, arc[-1], n))
        share = np.exp(rng.uniform(*np.log(params.murray_share_range), n))
        angle = np.deg2rad(rng.uniform(*params.branch_angle_range, n))
        azimuth = rng.uniform(0.0, 2.0 * np.pi, n)
        length_1mm, taper = rng.uniform(*params.branch_length_range, n), rng.uniform(*params.taper_range, n)
        at = np.clip(np.searchsorted(arc, s), 1, len(arc) - 2) if len(arc) > 2 else np.zeros(n, int)
        radius = np.minimum(segment.radii[at] * np.cbrt(share), params.max_branch_radius)
        depth = inside(segment.points[at])[0] if n else np.zeros(0)
        for k in np.flatnonzero((radius >= params.stop_radius) & (depth > -_START_OUTSIDE_MM)):
            i = int(at[k])
            tangent = segment.points[min(i + 1, len(arc) - 1)] - segment.points[max(i - 1, 0)]
            tangent /= np.linalg.norm(tangent) + 1e-12
            u, v = _perpendicular(tangent)
            side = np.cos(azimuth[k]) * u + np.sin(azimuth[k]) * v
            out.parent.append(index)
            out.parent_point.append(i)
            out.start.append(segment.points[i])
            out.direction.append(np.cos(angle[k]) * tangent + np.sin(angle[k]) * side)
            out.radius.append(float(radius[k]))
            out.length.append(float(length_1mm[k] * np.sqrt(radius[k])))
            out.taper.append(float(taper[k]))
    return out


def _grow(sprouts: _Sprouts, inside: InsideDistance, params: GrowthParameters, rng) -> list[np.ndarray]:
    """Grows all ``sprouts`` together; returns each branch's centreline (its start included)."""
    reach = np.array(sprouts.length)
    n_steps = int(np.ceil(reach.max() / _STEP_MM))
    pos, direction = np.array(sprouts.start), np.array(sprouts.direction)
    paths = np.empty((n_steps + 1, len(reach), 3))
    paths[0] = pos
    count = np.ones(len(reach), dtype=int)
    active = reach >= _STEP_MM
    curvature = np.zeros_like(pos)
    keep = np.exp(-_STEP_MM / _CURVATURE_MM)
    depth, inward = inside(pos)
    for step in range(1, n_steps + 1):
        curvature = keep * curvature + np.sqrt(1.0 - keep**2) * rng.standard_normal(pos.shape)
        bend = params.tortuosity * curvature
        bend -= (bend * direction).sum(axis=1, keepdims=True) * direction
        pull = _STEER * np.clip(1.0 - depth / _MARGIN_MM, 0.0, 1.0) - _SEEK * np.clip(depth - _PIAL_MM, 0.0, 10.0)
        steer = pull[:, None] * inward
        direction = direction + _STEP_MM * (bend + steer)
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        pos = pos + _STEP_MM * direction
        depth, inward = inside(pos)
        s = step * _STEP_MM
        active &= (s <= reach) & ((depth > 0) | (s <= _GRACE_MM))
        paths[step, active] = pos[active]
        count += active
        if not active.any():
            break
    return [paths[: count[b], b] for b in range(len(reach))]


def grow_branches(
    tree: VesselTree, inside: InsideDistance, params: GrowthParameters, rng: np.random.Generator
) -> dict[str, int]:
    """Grows branches on every segment of ``tree``, order after order, and appends them (named ``"branch"``).

    Args:
        tree: the named arteries (changed in place).
        inside: distance inside the brain and its inward gradient at given points (same mm as the tree).
        params: the subject's growth parameters.
        rng: random generator.

    Returns:
        Number of branches grown per order (``"order_1"``, ...).
    """
    counts: dict[str, int] = {}
    frontier = list(range(len(tree)))
    for order in range(1, params.max_order + 1):
        sprouts = _sprout(tree, frontier, inside, params, rng)
        if not sprouts.parent:
            break
        frontier = []
        for k, path in enumerate(_grow(sprouts, inside, params, rng)):
            if len(path) < 3:
                continue
            arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
            taper = 1.0 - (1.0 - sprouts.taper[k]) * arc / sprouts.length[k]
            radii = np.maximum(sprouts.radius[k] * taper, params.stop_radius)
            parent = sprouts.parent[k]
            generation = tree.segments[parent].generation + 1
            segment = VesselSegment("branch", path, radii, parent, sprouts.parent_point[k], generation)
            frontier.append(tree.add(segment))
        counts[f"order_{order}"] = len(frontier)
    return counts
