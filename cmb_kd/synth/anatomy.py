"""Subject anatomy: the MNI ICBM152 2009 template, randomly deformed per subject.

The template (T1, grey and white matter probability maps and brain mask) ships inside the
``nilearn`` package and is loaded with nilearn's own loaders. Deep grey nuclei, the
infratentorial region, the posterior fossa and the paranasal/mastoid air spaces are located in template
(MNI) coordinates, then every map is pulled into the subject's grid through one random affine
(rotation, scaling, translation) plus a smooth elastic displacement.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "BRAINSTEM_HALF_WIDTH",
    "BRAINSTEM_Y",
    "DEEP_NUCLEI",
    "Anatomy",
    "load_template",
    "deform_template",
    "grid_affine",
    "template_to_grid",
]

# (centre x, y, z), (semi-axes) in MNI mm; both hemispheres where x != 0.
DEEP_NUCLEI = (
    ((25.0, 3.0, 1.0), (6.0, 14.0, 9.0)),  # putamen
    ((19.0, -3.0, -1.0), (4.0, 8.0, 6.0)),  # globus pallidus
    ((13.0, 10.0, 10.0), (5.0, 10.0, 8.0)),  # caudate head and body
    ((11.0, -18.0, 7.0), (7.0, 12.0, 8.0)),  # thalamus
)
_AIR_SPACES = (
    ((0.0, 68.0, -8.0), (14.0, 6.0, 10.0)),  # frontal sinus
    ((0.0, 38.0, -34.0), (10.0, 16.0, 6.0)),  # ethmoid cells
    ((0.0, 12.0, -40.0), (12.0, 10.0, 8.0)),  # sphenoid sinus
    ((48.0, -35.0, -42.0), (8.0, 10.0, 8.0)),  # mastoid air cells
)
#: Template slices added below the template's lower edge (the brainstem continues into the cord).
_BOTTOM_PAD = 24
#: Centre of the subject grid in template mm (the brain's bounding box centre, raised for the scalp).
GRID_CENTRE = (0.0, -17.0, 10.0)
_CHANNELS = ("t1", "gm", "wm", "brain", "deep_region", "infratentorial", "air", "posterior_fossa")
#: Tentorium cerebelli as a tent in MNI mm: z of its apex over the midline, slope toward the sides
#: (per mm of |x|) and toward the back behind y = -50 (per mm); the cerebellum lies under it and behind
#: y = _CEREBELLUM_FRONT - 0.1 |x| (the petrous ridges).
_TENT_APEX_Z, _TENT_SIDE_SLOPE, _TENT_BACK_SLOPE = -4.0, 0.35, 0.25
_CEREBELLUM_FRONT = -36.0
#: Brainstem (midbrain, pons, medulla) as a box in MNI mm: |x| < half width, y range, z below the top.
BRAINSTEM_HALF_WIDTH, BRAINSTEM_Y, _BRAINSTEM_TOP = 14.0, (-42.0, -12.0), -3.0


@dataclass
class Anatomy:
    """Anatomical maps of one subject on its HR grid, all float32 (X, Y, Z) in [0, 1].

    Attributes:
        affine: 4×4 voxel-to-world (RAS mm) matrix of the grid.
        t1: template T1 intensity (texture within tissues).
        gm, wm, csf: tissue fractions of the brain (sum = brain).
        brain: brain fraction (template brain mask, interpolated).
        deep_region: deep grey nuclei region (basal ganglia, thalamus).
        infratentorial: cerebellum and brainstem region (a box: below z = -18 mm behind y = -40 mm, and the
            brainstem below z = -10 mm); it leaves out the upper cerebellum and the midbrain.
        air: air fraction of the paranasal sinuses and mastoid cells.
        posterior_fossa: the whole cerebellum under the tentorium and the brainstem with the midbrain.
    """

    affine: np.ndarray
    t1: np.ndarray
    gm: np.ndarray
    wm: np.ndarray
    csf: np.ndarray
    brain: np.ndarray
    deep_region: np.ndarray
    infratentorial: np.ndarray
    air: np.ndarray
    posterior_fossa: np.ndarray


def _ellipsoids(coords: np.ndarray, items, mirror: bool = True) -> np.ndarray:
    out = np.zeros(coords.shape[1:], dtype=bool)
    for centre, axes in items:
        for sign in (1.0, -1.0) if (mirror and centre[0] != 0.0) else (1.0,):
            c = np.array([sign * centre[0], centre[1], centre[2]])[:, None, None, None]
            a = np.array(axes)[:, None, None, None]
            out |= (((coords - c) / a) ** 2).sum(axis=0) <= 1.0
    return out


@functools.lru_cache(maxsize=1)
def load_template() -> tuple[np.ndarray, np.ndarray]:
    """Loads the MNI152 2009 template maps from nilearn and derives the anatomical regions.

    Returns:
        ``(maps, affine)``: maps float32 (8, X, Y, Z) with channels t1, gm, wm, brain,
        deep_region, infratentorial, air, posterior_fossa (in that order), padded below the template's lower edge
        by replicating its last slice; affine the 4×4 template voxel-to-MNI-mm matrix.
    """
    from nilearn import datasets

    t1_img = datasets.load_mni152_template(resolution=1)
    t1 = np.asarray(t1_img.dataobj, dtype=np.float32)
    gm = np.asarray(datasets.load_mni152_gm_template(resolution=1).dataobj, dtype=np.float32)
    wm = np.asarray(datasets.load_mni152_wm_template(resolution=1).dataobj, dtype=np.float32)
    brain = np.asarray(datasets.load_mni152_brain_mask(resolution=1).dataobj, dtype=np.float32)
    pad = ((0, 0), (0, 0), (_BOTTOM_PAD, 0))
    t1, gm, wm, brain = (np.pad(a, pad, mode="edge") for a in (t1, gm, wm, brain))
    affine = t1_img.affine.copy()
    affine[:3, 3] -= affine[:3, 2] * _BOTTOM_PAD
    gm, wm = gm * brain, wm * brain
    total = gm + wm
    over = total > brain
    gm[over] *= brain[over] / total[over]
    wm[over] *= brain[over] / total[over]

    idx = np.indices(t1.shape, dtype=np.float32).reshape(3, -1)
    coords = (affine[:3, :3] @ idx + affine[:3, 3:]).reshape((3, *t1.shape))
    x, y, z = coords
    deep = _ellipsoids(coords, DEEP_NUCLEI) & (gm > 0.3)
    cerebellum = (y < -40.0) & (z < -18.0)
    brainstem = (np.abs(x) < 14.0) & (y > -42.0) & (y < -12.0) & (z < -10.0)
    infratentorial = (cerebellum | brainstem) & (brain > 0.5)
    air = _ellipsoids(coords, _AIR_SPACES)
    tent = _TENT_APEX_Z - _TENT_SIDE_SLOPE * np.abs(x) - _TENT_BACK_SLOPE * np.maximum(-50.0 - y, 0.0)
    whole_cerebellum = (z < tent) & (y < _CEREBELLUM_FRONT - 0.1 * np.abs(x))
    whole_brainstem = (np.abs(x) < BRAINSTEM_HALF_WIDTH) & (y > BRAINSTEM_Y[0]) & (y < BRAINSTEM_Y[1])
    posterior_fossa = (whole_cerebellum | (whole_brainstem & (z < _BRAINSTEM_TOP))) & (brain > 0.5)
    t1 = t1 / max(float(np.percentile(t1[brain > 0.5], 99)), 1e-6)
    maps = np.stack([t1, gm, wm, brain, deep, infratentorial, air, posterior_fossa]).astype(np.float32)
    return maps, affine


def grid_affine(shape: tuple[int, int, int], spacing: float) -> np.ndarray:
    """RAS voxel-to-world matrix of the subject grid, centred on :data:`GRID_CENTRE`."""
    affine = np.diag([spacing, spacing, spacing, 1.0])
    affine[:3, 3] = np.array(GRID_CENTRE) - spacing * (np.array(shape) - 1) / 2.0
    return affine


def template_to_grid(points_mm: np.ndarray, params: dict, shape: tuple[int, int, int], spacing: float) -> np.ndarray:
    """Maps template (MNI) points into the voxel coordinates of a subject grid.

    Uses the affine part of the subject's deformation (rotation, scaling and translation as
    :func:`deform_template` records them); the smooth elastic part (standard deviation ``elastic_mm``)
    is left out, so a point lands within a few mm of where the deformed anatomy puts it.

    Args:
        points_mm: (N, 3) MNI coordinates in mm.
        params: the deformation record of :func:`deform_template`.
        shape: subject grid shape.
        spacing: isotropic voxel size in mm.

    Returns:
        (N, 3) float voxel coordinates on the subject grid.
    """
    angles = np.deg2rad(np.asarray(params["rotation_degrees"], dtype=np.float64))
    forward = _rotation(angles) @ np.diag(np.asarray(params["scale"], dtype=np.float64))
    centre = np.array(GRID_CENTRE)
    subject_mm = (np.atleast_2d(points_mm) - centre) @ forward.T + centre + np.asarray(params["translation_mm"])
    affine = grid_affine(shape, spacing)
    return (subject_mm - affine[:3, 3]) / spacing


def _rotation(angles: np.ndarray) -> np.ndarray:
    cx, cy, cz = np.cos(angles)
    sx, sy, sz = np.sin(angles)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def deform_template(
    shape: tuple[int, int, int],
    spacing: float,
    rng: np.random.Generator,
    rotation_degrees: float = 8.0,
    scale_range: tuple[float, float] = (0.92, 1.06),
    elastic_mm: float = 2.0,
) -> tuple[Anatomy, dict]:
    """Draws a subject: the template pulled through a random affine + smooth elastic deformation.

    Args:
        shape: subject grid shape (X, Y, Z).
        spacing: isotropic voxel size in mm.
        rng: random generator (the only source of randomness).
        rotation_degrees: maximum rotation about each axis.
        scale_range: isotropic scaling range (head size); each axis also gets ±3 % anisotropy.
        elastic_mm: standard deviation of the elastic displacement in mm (control points every ~32 mm).

    Returns:
        ``(anatomy, params)`` with the drawn deformation parameters for the subject's record.
    """
    maps, template_affine = load_template()
    angles = np.deg2rad(rng.uniform(-rotation_degrees, rotation_degrees, 3))
    scale = rng.uniform(*scale_range) * rng.uniform(0.97, 1.03, 3)
    shift = rng.uniform(-4.0, 4.0, 3)
    forward = _rotation(angles) @ np.diag(scale)  # template mm -> subject mm (about the grid centre)
    inverse = np.linalg.inv(forward)
    centre = np.array(GRID_CENTRE)
    affine = grid_affine(shape, spacing)
    control = tuple(max(2, int(round(n * spacing / 32.0)) + 1) for n in shape)
    displacement = torch.from_numpy(rng.standard_normal((1, 3, *control)).astype(np.float32) * elastic_mm)

    # subject voxel -> template voxel, as a flat linear map plus the elastic field
    to_template_vox = np.linalg.inv(template_affine)
    linear = to_template_vox[:3, :3] @ inverse @ affine[:3, :3]
    offset = to_template_vox[:3, :3] @ (inverse @ (affine[:3, 3] - centre - shift) + centre) + to_template_vox[:3, 3]
    elastic_vox = to_template_vox[:3, :3] @ inverse  # mm displacement in subject space -> template voxels
    dense = F.interpolate(displacement, size=shape, mode="trilinear", align_corners=True)[0]
    grid = torch.empty((*shape, 3), dtype=torch.float32)
    axes = [torch.arange(n, dtype=torch.float32) for n in shape]
    ix, iy, iz = torch.meshgrid(*axes, indexing="ij")
    tshape = maps.shape[1:]
    for k in range(3):
        coord = linear[k, 0] * ix + linear[k, 1] * iy + linear[k, 2] * iz + float(offset[k])
        coord += sum(float(elastic_vox[k, j]) * dense[j] for j in range(3))
        # grid_sample wants (x, y, z) = (last, middle, first) input axes, normalised with align_corners=True
        grid[..., 2 - k] = coord * (2.0 / (tshape[k] - 1)) - 1.0
    del ix, iy, iz, dense
    sampled = F.grid_sample(
        torch.from_numpy(maps)[None], grid[None], mode="bilinear", padding_mode="zeros", align_corners=True
    )[0].numpy()
    del grid
    t1, gm, wm, brain, deep, infra, air, fossa = sampled
    brain = np.clip(brain, 0.0, 1.0)
    gm, wm = np.clip(gm, 0.0, 1.0), np.clip(wm, 0.0, 1.0)
    csf = np.clip(brain - gm - wm, 0.0, 1.0)
    anatomy = Anatomy(
        affine, t1, gm, wm, csf, brain, np.clip(deep, 0, 1), np.clip(infra, 0, 1), np.clip(air, 0, 1),
        np.clip(fossa, 0, 1),
    )  # fmt: skip
    params = {
        "rotation_degrees": np.rad2deg(angles).round(3).tolist(),
        "scale": scale.round(4).tolist(),
        "translation_mm": shift.round(3).tolist(),
        "elastic_mm": float(elastic_mm),
    }
    return anatomy, params
