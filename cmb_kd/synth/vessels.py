"""Vessels, the commonest CMB mimics: veins (sulcal, medullary, superior sagittal sinus, sub-voxel) and flow voids.

Each vessel is a tube around a smooth random path, rasterised as a sub-voxel volume fraction
(:mod:`~cmb_kd.synth.tubes`), so thin vessels have the partial volume a real acquisition gives them. Sub-voxel
veins run close to the slice
axis, so a thick slice shows them as dots; flow voids are segments of the large arteries and sinuses
whose fast flow leaves no signal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from cmb_kd.synth.tubes import rasterise_tube

__all__ = [
    "Vein",
    "FLOW_VOID_PATHS",
    "draw_veins",
    "draw_thin_veins",
    "draw_flow_voids",
]

#: Centrelines (MNI mm, a few control points each) of the large vessels where flow voids appear: the circle
#: of Willis and its feeding arteries, and the transverse and sigmoid sinuses; "_l"/"_r" are the two sides.
FLOW_VOID_PATHS: dict[str, tuple[tuple[float, float, float], ...]] = {
    "basilar": ((0.0, -26.0, -50.0), (0.0, -21.0, -34.0), (0.0, -16.0, -18.0)),
    **{
        f"{name}_{side}": tuple((sign * x, y, z) for x, y, z in points)
        for side, sign in (("l", -1.0), ("r", 1.0))
        for name, points in {
            "internal_carotid": ((18.0, 2.0, -34.0), (16.0, 4.0, -24.0), (14.0, 2.0, -14.0)),
            "middle_cerebral": ((14.0, 2.0, -14.0), (28.0, 4.0, -12.0), (40.0, 4.0, -6.0)),
            "anterior_cerebral": ((14.0, 2.0, -14.0), (4.0, 12.0, -10.0), (3.0, 22.0, 0.0), (3.0, 32.0, 14.0)),
            "posterior_cerebral": ((0.5, -16.0, -18.0), (10.0, -18.0, -14.0), (19.0, -30.0, -9.0), (25.0, -46.0, -4.0)),
            "vertebral": ((10.0, -42.0, -62.0), (4.0, -33.0, -54.0), (0.5, -26.0, -50.0)),
            "transverse_sinus": ((2.0, -99.0, -6.0), (28.0, -95.0, -12.0), (48.0, -76.0, -20.0), (56.0, -56.0, -28.0)),
            "sigmoid_sinus": ((56.0, -56.0, -28.0), (54.0, -42.0, -38.0), (44.0, -32.0, -50.0)),
        }.items()
    },
}


@dataclass
class Vein:
    """One vein: its path in voxel coordinates, radius in mm and kind."""

    kind: str
    points: np.ndarray
    radius: float


def _sample(volume: np.ndarray, point: np.ndarray) -> float:
    return float(ndimage.map_coordinates(volume, point[:, None], order=1, mode="nearest")[0])


def _normal(volume: np.ndarray, point: np.ndarray) -> np.ndarray:
    offsets = np.eye(3)
    grad = np.array(
        [
            ndimage.map_coordinates(volume, np.stack([point + o, point - o], axis=1), order=1, mode="nearest")
            @ np.array([0.5, -0.5])
            for o in offsets
        ]
    )
    norm = np.linalg.norm(grad)
    return grad / norm if norm > 0 else grad


def _surface_path(signed: np.ndarray, start: np.ndarray, depth: float, length: float, rng, step=0.5) -> np.ndarray:
    """Random smooth path that follows the level set ``signed == depth`` (voxel units)."""
    point = start.astype(np.float64)
    normal = _normal(signed, point)
    direction = rng.standard_normal(3)
    direction -= direction @ normal * normal
    direction /= np.linalg.norm(direction) + 1e-9
    points = []
    for _ in range(int(length / step)):
        normal = _normal(signed, point)
        point = point - (_sample(signed, point) - depth) * normal
        points.append(point.copy())
        direction = direction + 0.15 * rng.standard_normal(3)
        direction -= direction @ normal * normal
        direction /= np.linalg.norm(direction) + 1e-9
        point = point + step * direction
        if np.any(point < 2) or np.any(point > np.array(signed.shape) - 3):
            break
    return np.array(points)


def _cortical_veins(
    signed: np.ndarray, inside_distance: np.ndarray, spacing: float, rng: np.random.Generator, count: int
) -> list[Vein]:
    """Sulcal veins along the cortical surface of the convexity (the upper two thirds of the brain).

    Args:
        signed: signed distance to the brain surface in voxels (negative inside), (X, Y, Z).
        inside_distance: distance to the brain surface inside the brain, mm, (X, Y, Z).
        spacing: voxel size in mm.
        rng: random generator.
        count: number of veins drawn (those shorter than 5 path points are dropped).

    Returns:
        The veins (kind ``"cortical"``).
    """
    veins: list[Vein] = []
    surface = np.argwhere((inside_distance > 0) & (inside_distance <= 1.5 * spacing))
    z_cut = np.percentile(surface[:, 2], 30) if len(surface) else 0
    surface = surface[surface[:, 2] >= z_cut]
    for _ in range(count if len(surface) else 0):
        start = surface[rng.integers(len(surface))].astype(np.float64)
        path = _surface_path(signed, start, depth=-1.5 / spacing, length=rng.uniform(30, 70) / spacing, rng=rng)
        if len(path) > 4:
            veins.append(Vein("cortical", path, float(rng.uniform(0.5, 1.1))))
    return veins


def _medullary_veins(
    wm: np.ndarray, csf: np.ndarray, inside_distance: np.ndarray, spacing: float, rng: np.random.Generator, count: int
) -> list[Vein]:
    """Medullary veins: from 3-6 mm under the cortex toward the lateral ventricle of their side.

    Args:
        wm, csf: white-matter and CSF fractions (X, Y, Z).
        inside_distance: distance to the brain surface inside the brain, mm, (X, Y, Z).
        spacing: voxel size in mm.
        rng: random generator.
        count: number of veins drawn (none without deep CSF or white matter to start from).

    Returns:
        The veins (kind ``"medullary"``).
    """
    shape = wm.shape
    veins: list[Vein] = []
    deep_csf = (csf > 0.5) & (inside_distance > 15.0)
    starts = np.argwhere((wm > 0.5) & (inside_distance > 3.0) & (inside_distance < 6.0))
    if not (deep_csf.any() and len(starts)):
        return veins
    ventricles = np.argwhere(deep_csf)
    for _ in range(count):
        start = starts[rng.integers(len(starts))].astype(np.float64)
        side = ventricles[(ventricles[:, 0] > shape[0] / 2) == (start[0] > shape[0] / 2)]
        target = (side if len(side) else ventricles).mean(axis=0)
        direction = (target - start) / (np.linalg.norm(target - start) + 1e-9)
        n = int(rng.uniform(12, 25) / spacing / 0.5)
        wiggle = np.cumsum(0.03 * rng.standard_normal((n, 3)), axis=0)
        dirs = direction + wiggle
        dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
        path = start + 0.5 * np.cumsum(dirs, axis=0)
        path = path[np.all((path > 1) & (path < np.array(shape) - 2), axis=1)]
        if len(path) > 4:
            veins.append(Vein("medullary", path, float(rng.uniform(0.3, 0.6))))
    return veins


def _sagittal_sinus(brain: np.ndarray, spacing: float, rng: np.random.Generator, csf_rim_mm: float) -> list[Vein]:
    """The superior sagittal sinus: over the vertex along the midline, inside the CSF rim.

    Args:
        brain: brain fraction (X, Y, Z).
        spacing: voxel size in mm.
        rng: random generator (draws the radius only when the sinus exists).
        csf_rim_mm: thickness of the CSF rim in mm.

    Returns:
        The sinus (kind ``"sagittal_sinus"``), or nothing when the brain top has fewer than 5 points.
    """
    ys = np.flatnonzero(brain.max(axis=(0, 2)) > 0.5)
    top_points = []
    for y in ys[int(0.1 * len(ys)) : int(0.9 * len(ys)) : 2]:
        plane = brain[:, y, :] > 0.5
        if not plane.any():
            continue
        xs = np.flatnonzero(plane.any(axis=1))
        x_mid = int(round(xs.mean()))
        zs = np.flatnonzero(plane[x_mid])
        if len(zs):
            top_points.append((x_mid, y, zs.max() + 0.5 * csf_rim_mm / spacing))
    if len(top_points) <= 4:
        return []
    coarse = ndimage.gaussian_filter1d(np.array(top_points, dtype=np.float64), 2.0, axis=0, mode="nearest")
    t = np.linspace(0, len(coarse) - 1, 4 * len(coarse))
    path = np.stack([np.interp(t, np.arange(len(coarse)), coarse[:, k]) for k in range(3)], axis=1)
    return [Vein("sagittal_sinus", path, float(rng.uniform(2.0, 3.0)))]


def draw_veins(
    brain: np.ndarray,
    wm: np.ndarray,
    csf: np.ndarray,
    inside_distance: np.ndarray,
    outside_distance: np.ndarray,
    spacing: float,
    rng: np.random.Generator,
    cortical_count: int,
    medullary_count: int,
    csf_rim_mm: float,
) -> tuple[np.ndarray, list[Vein]]:
    """Draws the veins of one subject and returns their volume fraction and descriptions.

    Args:
        brain, wm, csf: anatomy fractions (X, Y, Z).
        inside_distance: distance to the brain surface inside the brain, mm.
        outside_distance: distance to the brain surface outside the brain, mm.
        spacing: voxel size in mm.
        rng: random generator.
        cortical_count: number of sulcal veins along the cortical surface.
        medullary_count: number of medullary veins running from the cortex toward the ventricles.
        csf_rim_mm: thickness of the CSF rim (the sinus runs inside it).

    Returns:
        ``(fraction, veins)``: vein volume fraction (float32, X×Y×Z) and the list of veins.
    """
    shape = brain.shape
    fraction = np.zeros(shape, dtype=np.float32)
    signed = ((outside_distance - inside_distance) / spacing).astype(np.float32)
    veins = _cortical_veins(signed, inside_distance, spacing, rng, cortical_count)
    veins += _medullary_veins(wm, csf, inside_distance, spacing, rng, medullary_count)
    veins += _sagittal_sinus(brain, spacing, rng, csf_rim_mm)
    for vein in veins:
        rasterise_tube(vein.points, vein.radius, shape, spacing, fraction)
    return fraction, veins


def _far_from(points_mm: np.ndarray, keep_away: Sequence[tuple[np.ndarray, float]]) -> bool:
    return all(np.min(np.linalg.norm(points_mm - centre, axis=1)) >= distance for centre, distance in keep_away)


def draw_thin_veins(
    allowed: np.ndarray,
    spacing: float,
    rng: np.random.Generator,
    count: int,
    radius_range: tuple[float, float],
    length_range: tuple[float, float],
    tilt_degrees: float,
    keep_away: Sequence[tuple[np.ndarray, float]] = (),
    tries: int = 20,
) -> list[Vein]:
    """Draws straight sub-voxel veins that run close to the slice axis (the scanner z axis, B0).

    On thick slices a vein crossing the slice direction is a dark dot, the mimic of a small CMB.
    Each vein's centre is a random voxel of ``allowed``; its direction is tilted from the slice axis
    by an angle uniform in ``[0, tilt_degrees]`` about a random azimuth.

    Args:
        allowed: boolean mask (X, Y, Z) of the voxels a vein may be centred in.
        spacing: isotropic voxel size in mm.
        rng: random generator.
        count: number of veins.
        radius_range: radius range in mm.
        length_range: length range in mm.
        tilt_degrees: largest angle to the slice axis, degrees.
        keep_away: ``(centre_voxel, distance_mm)`` pairs that no point of a vein may come nearer than.
        tries: draws per vein before it is dropped.

    Returns:
        The veins (kind ``"thin"``); their paths are sampled densely enough for
        :func:`~cmb_kd.synth.tubes.tube_fraction`.
    """
    pool = np.argwhere(allowed)
    shape = np.array(allowed.shape)
    veins: list[Vein] = []
    if len(pool) == 0:
        return veins
    away = [(np.asarray(c, dtype=np.float64) * spacing, float(d)) for c, d in keep_away]
    for _ in range(count):
        radius = float(rng.uniform(*radius_range))
        length = float(rng.uniform(*length_range))
        tilt, azimuth = np.deg2rad(rng.uniform(0.0, tilt_degrees)), rng.uniform(0.0, 2.0 * np.pi)
        direction = np.array([np.sin(tilt) * np.cos(azimuth), np.sin(tilt) * np.sin(azimuth), np.cos(tilt)])
        step = min(0.5, radius / 2.0) / spacing
        offsets = np.arange(-length / 2.0, length / 2.0 + 1e-9, step * spacing) / spacing
        for _ in range(tries):
            centre = pool[rng.integers(len(pool))] + rng.uniform(-0.5, 0.5, 3)
            path = centre + offsets[:, None] * direction
            if np.any(path < 1) or np.any(path > shape - 2):
                continue
            if _far_from(path * spacing, away):
                veins.append(Vein("thin", path, radius))
                break
    return veins


def draw_flow_voids(
    to_grid: Callable[[np.ndarray], np.ndarray],
    shape: tuple[int, int, int],
    spacing: float,
    rng: np.random.Generator,
    count: int,
    radius_range: tuple[float, float],
    jitter_mm: float = 1.5,
) -> list[Vein]:
    """Draws flow-void segments of the large vessels of :data:`FLOW_VOID_PATHS`.

    ``count`` distinct segments are chosen at random; their control points are moved by Gaussian
    jitter (``jitter_mm`` per axis), mapped into the subject grid by ``to_grid`` and joined by a
    densely sampled polyline.

    Args:
        to_grid: maps (N, 3) template mm to (N, 3) voxel coordinates of the subject grid.
        shape: grid shape.
        spacing: isotropic voxel size in mm.
        rng: random generator.
        count: number of segments (at most the number of paths).
        radius_range: tube radius range in mm.
        jitter_mm: standard deviation of the control-point jitter in mm.

    Returns:
        The segments (``kind`` is the vessel name) that lie at least partly inside the grid.
    """
    names = list(FLOW_VOID_PATHS)
    chosen = rng.choice(len(names), size=min(int(count), len(names)), replace=False)
    veins: list[Vein] = []
    for index in chosen:
        name = names[int(index)]
        control = np.array(FLOW_VOID_PATHS[name]) + jitter_mm * rng.standard_normal((len(FLOW_VOID_PATHS[name]), 3))
        radius = float(rng.uniform(*radius_range))
        control = to_grid(control)
        step = min(0.5, radius / 2.0) / spacing
        pieces = []
        for a, b in zip(control[:-1], control[1:], strict=True):
            n = max(2, int(np.ceil(np.linalg.norm(b - a) / step)))
            pieces.append(a + np.linspace(0.0, 1.0, n, endpoint=False)[:, None] * (b - a))
        path = np.concatenate([*pieces, control[-1:]])
        path = path[np.all((path > 0) & (path < np.array(shape) - 1), axis=1)]
        if len(path) > 4:
            veins.append(Vein(name, path, radius))
    return veins
