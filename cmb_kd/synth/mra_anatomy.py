"""The brain-shaped background of the MRA: the MNI152 template posed per subject and resampled onto the MRA grid.

The template's grey and white matter maps and brain mask (:func:`~cmb_kd.synth.anatomy.load_template`, shipped in
nilearn) and the distance outside the intracranial volume (:func:`~cmb_kd.synth.head.closed_distance`) are pulled
into the subject's grid through one random rigid-plus-scaling pose, :class:`HeadPose`; the vessel tree, drawn in
template mm, goes through the same pose. :class:`BrainDistance` tells the vessel growth how deep a point lies in the
template brain.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from scipy.spatial.transform import Rotation

from cmb_kd.synth.anatomy import GRID_CENTRE, load_template
from cmb_kd.synth.head import closed_distance

__all__ = ["HeadPose", "draw_pose", "BrainDistance", "brain_distance", "MRAAnatomy", "mra_grid_affine", "pose_template"]

#: Slices of the subject grid resampled at once (bounds the memory of the sampling grid).
_CHUNK = 16
#: Standard deviation (mm) of the smoothing of the distance outside the intracranial volume.
_SMOOTH_MM = 1.5


@dataclass(frozen=True)
class HeadPose:
    """Where the template head lies in the scanner: rotation (degrees about x, y, z, applied in that order),
    per-axis scale and translation (mm), about the template's brain centre."""

    rotation_degrees: tuple[float, float, float]
    scale: tuple[float, float, float]
    translation_mm: tuple[float, float, float]

    @property
    def linear(self) -> np.ndarray:
        """3×3 linear part of the template-to-subject map."""
        rotation = Rotation.from_euler("xyz", self.rotation_degrees, degrees=True).as_matrix()
        return rotation @ np.diag(self.scale)

    @property
    def offset(self) -> np.ndarray:
        """Offset of the template-to-subject map ``p -> linear @ p + offset`` (mm)."""
        centre = np.array(GRID_CENTRE)
        return centre - self.linear @ centre + np.array(self.translation_mm)

    @property
    def radius_scale(self) -> float:
        """Factor on vessel radii: the geometric mean of the scales."""
        return float(np.prod(self.scale) ** (1.0 / 3.0))

    def to_subject(self, points_mm: np.ndarray) -> np.ndarray:
        """Template mm (N, 3) to subject mm (N, 3)."""
        return np.atleast_2d(points_mm) @ self.linear.T + self.offset

    def record(self) -> dict:
        """JSON-serialisable values."""
        return {
            "rotation_degrees": np.round(self.rotation_degrees, 3).tolist(),
            "scale": np.round(self.scale, 4).tolist(),
            "translation_mm": np.round(self.translation_mm, 3).tolist(),
        }


def draw_pose(
    rng: np.random.Generator, rotation_degrees: float, scale_range: tuple[float, float], translation_mm: float
) -> HeadPose:
    """Draws a pose: rotation uniform in ±``rotation_degrees`` per axis, an isotropic scale in ``scale_range``
    times ±3 % per axis, a translation uniform in ±``translation_mm`` per axis."""
    angles = rng.uniform(-rotation_degrees, rotation_degrees, 3)
    scale = rng.uniform(*scale_range) * rng.uniform(0.97, 1.03, 3)
    shift = rng.uniform(-translation_mm, translation_mm, 3)
    return HeadPose(tuple(angles.tolist()), tuple(scale.tolist()), tuple(shift.tolist()))


class BrainDistance:
    """Signed distance (mm) inside the template brain surface, negative outside, and its inward gradient.

    Args:
        signed: signed distance on the template grid (X, Y, Z).
        affine: template voxel-to-mm matrix.
    """

    def __init__(self, signed: np.ndarray, affine: np.ndarray) -> None:
        self.signed = signed.astype(np.float32)
        self.to_voxel = np.linalg.inv(affine)
        self.spacing = float(abs(affine[0, 0]))

    def __call__(self, points_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distance (N,) and unit inward gradient (N, 3) at template points (N, 3) in mm."""
        voxels = np.atleast_2d(points_mm) @ self.to_voxel[:3, :3].T + self.to_voxel[:3, 3]
        offsets = np.concatenate([np.zeros((1, 3)), np.eye(3), -np.eye(3)])
        coords = (voxels[None, :, :] + offsets[:, None, :]).reshape(-1, 3).T
        values = ndimage.map_coordinates(self.signed, coords, order=1, mode="nearest").reshape(7, -1)
        gradient = (values[1:4] - values[4:7]).T
        gradient /= np.linalg.norm(gradient, axis=1, keepdims=True) + 1e-9
        return values[0], gradient


@functools.lru_cache(maxsize=1)
def _template_fields() -> tuple[np.ndarray, np.ndarray, BrainDistance]:
    """Template channels (grey matter, white matter, brain, distance outside the intracranial volume), the template
    affine and the brain's signed distance (computed once per process)."""
    maps, affine = load_template()
    brain = maps[3] >= 0.5
    spacing = float(abs(affine[0, 0]))
    signed = ndimage.distance_transform_edt(brain, sampling=spacing) - ndimage.distance_transform_edt(
        ~brain, sampling=spacing
    )
    # the closing is computed on a 2 mm grid: smooth its blocks away
    outside = ndimage.gaussian_filter(closed_distance(brain, spacing), _SMOOTH_MM / spacing)
    channels = np.stack([maps[1], maps[2], maps[3], outside]).astype(np.float32)
    return channels, affine, BrainDistance(signed, affine)


def brain_distance() -> BrainDistance:
    """The template brain's :class:`BrainDistance` (computed once per process)."""
    return _template_fields()[2]


@dataclass
class MRAAnatomy:
    """The posed template on the MRA grid; maps float32 (X, Y, Z).

    Attributes:
        affine: RAS voxel-to-mm matrix of the grid.
        gm, wm, csf: grey matter, white matter and CSF fractions of the brain (sum = brain).
        brain: brain fraction.
        outside_distance: distance in subject mm outside the intracranial volume (0 inside).
    """

    affine: np.ndarray
    gm: np.ndarray
    wm: np.ndarray
    csf: np.ndarray
    brain: np.ndarray
    outside_distance: np.ndarray


def mra_grid_affine(
    shape: tuple[int, int, int], spacing: tuple[float, float, float], centre_mm: tuple[float, float, float]
) -> np.ndarray:
    """RAS voxel-to-mm matrix of a grid of ``spacing`` whose centre lies at ``centre_mm``."""
    affine = np.diag([*map(float, spacing), 1.0])
    affine[:3, 3] = np.asarray(centre_mm, dtype=np.float64) - np.asarray(spacing) * (np.asarray(shape) - 1) / 2.0
    return affine


def pose_template(
    shape: tuple[int, int, int], spacing: tuple[float, float, float], centre_mm: tuple[float, float, float],
    pose: HeadPose,
) -> MRAAnatomy:  # fmt: skip
    """Resamples the template (trilinear) onto the grid of ``shape``, ``spacing`` and ``centre_mm`` through ``pose``.

    Returns:
        The anatomy on the grid.
    """
    channels, template_affine, _ = _template_fields()
    affine = mra_grid_affine(shape, spacing, centre_mm)
    # subject voxel -> subject mm -> template mm -> template voxel, one linear map
    to_template = (
        np.linalg.inv(template_affine)
        @ np.block(
            [[np.linalg.inv(pose.linear), -np.linalg.inv(pose.linear) @ pose.offset[:, None]], [np.zeros((1, 3)), 1.0]]
        )
        @ affine
    )
    source = torch.from_numpy(channels)[None]
    tshape = channels.shape[1:]
    out = np.empty((len(channels), *shape), dtype=np.float32)
    axes = [torch.arange(n, dtype=torch.float64) for n in shape[:2]]
    for z0 in range(0, shape[2], _CHUNK):
        zs = torch.arange(z0, min(z0 + _CHUNK, shape[2]), dtype=torch.float64)
        ix, iy, iz = torch.meshgrid(*axes, zs, indexing="ij")
        grid = torch.empty((*ix.shape, 3), dtype=torch.float32)
        for k in range(3):
            coord = to_template[k, 0] * ix + to_template[k, 1] * iy + to_template[k, 2] * iz + to_template[k, 3]
            grid[..., 2 - k] = (coord * (2.0 / (tshape[k] - 1)) - 1.0).float()
        sampled = F.grid_sample(source, grid[None], mode="bilinear", padding_mode="border", align_corners=True)
        out[:, :, :, z0 : z0 + len(zs)] = sampled[0].numpy()
    gm, wm, brain, outside = out
    brain = np.clip(brain, 0.0, 1.0)
    gm, wm = np.clip(gm, 0.0, 1.0), np.clip(wm, 0.0, 1.0)
    csf = np.clip(brain - gm - wm, 0.0, 1.0)
    return MRAAnatomy(affine, gm, wm, csf, brain, outside * pose.radius_scale)
