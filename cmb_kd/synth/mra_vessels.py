"""A subject's arterial tree: drawn in template mm, posed into the scanner, rasterised and labelled on the MRA grid.

The named arteries (:mod:`~cmb_kd.synth.willis`) and the branches grown from them
(:mod:`~cmb_kd.synth.vessel_growth`, kept inside the template brain) are drawn in template (MNI) mm, then mapped by
the subject's :class:`~cmb_kd.synth.mra_anatomy.HeadPose`. On the grid the tree becomes a partial-volume fraction
and the blood signal it carries (:func:`~cmb_kd.synth.tubes.rasterise_paths`), and a binary label.
"""

from __future__ import annotations

import numpy as np

from cmb_kd.synth.mra_anatomy import BrainDistance
from cmb_kd.synth.mra_config import MRAConfig
from cmb_kd.synth.tubes import rasterise_paths
from cmb_kd.synth.vessel_growth import GrowthParameters, grow_branches
from cmb_kd.synth.vessel_tree import VesselTree, resample_path
from cmb_kd.synth.willis import circle_of_willis

__all__ = ["draw_growth", "draw_vessel_tree", "grid_paths", "rasterise_tree", "vessel_label"]

#: Largest step (mm) between the centreline points whose voxels the label keeps (below half the smallest voxel).
_CENTRELINE_STEP_MM = 0.2


def draw_growth(rng: np.random.Generator, config: MRAConfig) -> GrowthParameters:
    """Draws one subject's growth parameters from the ranges of ``config``."""
    return GrowthParameters(
        branch_density=float(rng.uniform(*config.branch_density_range)),
        murray_share_range=tuple(config.murray_share_range),
        max_branch_radius=float(config.max_branch_radius),
        branch_angle_range=tuple(config.branch_angle_range),
        branch_length_range=tuple(config.branch_length_range),
        taper_range=tuple(config.taper_range),
        tortuosity=float(rng.uniform(*config.branch_tortuosity_range)),
        stop_radius=float(rng.uniform(*config.stop_radius_range)),
        max_order=int(config.max_order),
    )


def draw_vessel_tree(rng: np.random.Generator, config: MRAConfig, inside: BrainDistance) -> tuple[VesselTree, dict]:
    """Draws the arterial tree of one subject in template (MNI) mm.

    Args:
        rng: random generator (the tree's own stream).
        config: cohort settings.
        inside: depth in the template brain (keeps grown branches inside it).

    Returns:
        ``(tree, record)``: the tree, and its drawn parameters (radius scale, wander, variants, growth, branch
        counts per order).
    """
    radius_scale = float(rng.uniform(*config.radius_scale_range))
    tortuosity = float(rng.uniform(*config.tortuosity_mm_range))
    growth = draw_growth(rng, config)
    tree, variants = circle_of_willis(
        rng, jitter_mm=config.artery_jitter_mm, radius_scale=radius_scale, tortuosity_mm=tortuosity,
        pcomm_absent_probability=config.pcomm_absent_probability,
        acomm_absent_probability=config.acomm_absent_probability,
        fetal_pca_probability=config.fetal_pca_probability,
    )  # fmt: skip
    counts = grow_branches(tree, inside, growth, rng)
    record = {
        "radius_scale": round(radius_scale, 4),
        "tortuosity_mm": round(tortuosity, 4),
        "variants": variants,
        "growth": growth.record(),
        "branches_per_order": counts,
        "n_segments": len(tree),
    }
    return tree, record


def grid_paths(tree: VesselTree, affine: np.ndarray) -> list[np.ndarray]:
    """Every segment's centreline in voxel coordinates of a grid with voxel-to-mm ``affine``."""
    to_voxel = np.linalg.inv(affine)
    return [s.points @ to_voxel[:3, :3].T + to_voxel[:3, 3] for s in tree.segments]


def _touches(path: np.ndarray, margin: np.ndarray, shape: tuple[int, ...]) -> bool:
    return bool(np.all(path.min(axis=0) <= np.array(shape) - 1 + margin) and np.all(path.max(axis=0) >= -margin))


def rasterise_tree(
    tree: VesselTree, signals: list[np.ndarray], affine: np.ndarray, shape: tuple[int, int, int], samples: int = 32
) -> tuple[np.ndarray, np.ndarray]:
    """Partial-volume fraction of the vessels and the blood signal they carry, on the grid.

    Args:
        tree: the tree in the grid's mm.
        signals: blood signal at every point of every segment (positive).
        affine: diagonal voxel-to-mm matrix of the grid.
        shape: grid shape.
        samples: sample points per voxel near a vessel wall.

    Returns:
        ``(fraction, blood)``: float32 (X, Y, Z): vessel volume fraction, and the mean blood signal over each
        voxel (0 where no vessel is).
    """
    spacing = np.abs(np.diag(affine)[:3])
    chosen = [
        (path, segment.radii, signal)
        for path, segment, signal in zip(grid_paths(tree, affine), tree.segments, signals, strict=True)
        if _touches(path, (segment.radii.max() + 1.0) / spacing, shape)
    ]
    if not chosen:
        return np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    paths, radii, values = (list(x) for x in zip(*chosen, strict=True))
    return rasterise_paths(paths, radii, values, shape, tuple(spacing), samples)


def vessel_label(
    fraction: np.ndarray, tree: VesselTree, affine: np.ndarray, label_fraction: float = 0.5, centrelines: bool = True
) -> np.ndarray:
    """Binary vessel label: voxels the vessels cover at least ``label_fraction`` of, and with ``centrelines`` every
    voxel a centreline passes through (so that sub-voxel vessels are labelled and stay connected to their parent).

    Args:
        fraction: vessel volume fraction (X, Y, Z).
        tree: the tree in the grid's mm.
        affine: voxel-to-mm matrix of the grid.
        label_fraction: the partial-volume threshold.
        centrelines: also label the centreline voxels.

    Returns:
        uint8 (X, Y, Z) of 0 and 1.
    """
    label = fraction >= label_fraction
    if centrelines:
        to_voxel = np.linalg.inv(affine)
        for segment in tree.segments:
            # the centreline every 0.2 mm and at its own points: a chain of 26-connected voxels
            dense = np.concatenate([resample_path(segment.points, _CENTRELINE_STEP_MM), segment.points])
            dense = dense @ to_voxel[:3, :3].T + to_voxel[:3, 3]
            voxels = np.round(dense).astype(int)
            voxels = voxels[np.all((voxels >= 0) & (voxels < np.array(label.shape)), axis=1)]
            label[tuple(voxels.T)] = True
    return label.astype(np.uint8)
