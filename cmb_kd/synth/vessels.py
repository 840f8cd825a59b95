"""Veins, the commonest CMB mimic: sulcal (cortical) veins, medullary veins and the superior sagittal sinus.

Each vein is a tube around a smooth random path, rasterised as a sub-voxel volume fraction
(3×3×3 samples per voxel), so thin veins have the partial volume a real acquisition gives them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

__all__ = ["Vein", "rasterise_tube", "draw_veins"]


@dataclass
class Vein:
    """One vein: its path in voxel coordinates, radius in mm and kind."""

    kind: str
    points: np.ndarray
    radius: float


def rasterise_tube(points: np.ndarray, radius: float, shape: tuple[int, int, int], spacing: float, out: np.ndarray):
    """Adds the volume fraction of a tube of ``radius`` (mm) around a path into ``out`` (clipped at 1).

    Args:
        points: path in voxel coordinates, (N, 3), densely sampled (spacing below the radius).
        radius: tube radius in mm.
        shape: grid shape.
        spacing: isotropic voxel size in mm.
        out: float32 array of ``shape`` updated in place with the maximum of its value and the fraction.
    """
    r = radius / spacing
    lo = np.maximum(np.floor(points.min(axis=0) - r - 1).astype(int), 0)
    hi = np.minimum(np.ceil(points.max(axis=0) + r + 2).astype(int), shape)
    if np.any(hi <= lo):
        return
    tree = cKDTree(points)
    box = np.stack(np.meshgrid(*[np.arange(a, b) for a, b in zip(lo, hi, strict=True)], indexing="ij"), -1)
    box = box.reshape(-1, 3).astype(np.float32)
    near, _ = tree.query(box, distance_upper_bound=r + 0.9)
    box = box[np.isfinite(near)]
    if box.size == 0:
        return
    offsets = (np.stack(np.meshgrid(*[np.arange(3)] * 3, indexing="ij"), -1).reshape(-1, 3) - 1.0) / 3.0
    samples = (box[:, None, :] + offsets[None]).reshape(-1, 3)
    dist, _ = tree.query(samples)
    fraction = (dist.reshape(len(box), 27) <= r).mean(axis=1).astype(np.float32)
    idx = tuple(box.astype(int).T)
    out[idx] = np.maximum(out[idx], fraction)


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
    veins: list[Vein] = []
    # sulcal veins on the convexity (upper two thirds of the brain)
    surface = np.argwhere((inside_distance > 0) & (inside_distance <= 1.5 * spacing))
    z_cut = np.percentile(surface[:, 2], 30) if len(surface) else 0
    surface = surface[surface[:, 2] >= z_cut]
    for _ in range(cortical_count if len(surface) else 0):
        start = surface[rng.integers(len(surface))].astype(np.float64)
        path = _surface_path(signed, start, depth=-1.5 / spacing, length=rng.uniform(30, 70) / spacing, rng=rng)
        if len(path) > 4:
            veins.append(Vein("cortical", path, float(rng.uniform(0.5, 1.1))))
    # medullary veins: from 3-6 mm under the cortex toward the lateral ventricles
    deep_csf = (csf > 0.5) & (inside_distance > 15.0)
    starts = np.argwhere((wm > 0.5) & (inside_distance > 3.0) & (inside_distance < 6.0))
    if deep_csf.any() and len(starts):
        ventricles = np.argwhere(deep_csf)
        for _ in range(medullary_count):
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
    # superior sagittal sinus: over the vertex along the midline, inside the CSF rim
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
    if len(top_points) > 4:
        coarse = ndimage.gaussian_filter1d(np.array(top_points, dtype=np.float64), 2.0, axis=0, mode="nearest")
        t = np.linspace(0, len(coarse) - 1, 4 * len(coarse))
        path = np.stack([np.interp(t, np.arange(len(coarse)), coarse[:, k]) for k in range(3)], axis=1)
        veins.append(Vein("sagittal_sinus", path, float(rng.uniform(2.0, 3.0))))
    for vein in veins:
        rasterise_tube(vein.points, vein.radius, shape, spacing, fraction)
    return fraction, veins
