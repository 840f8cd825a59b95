"""A MARS label map in MNI space, derived from the MNI ICBM152 2009 template and the simulator's regions.

Where the labels come from:

* **tissue**: the grey matter, white matter and brain maps of the MNI ICBM152 2009 nonlinear template as nilearn
  ships them, loaded through :func:`cmb_kd.synth.anatomy.load_template` (the simulator's own loader, so both
  read the same 1 mm grid, padded 24 slices below the template's lower edge);
* **deep grey nuclei** (basal ganglia, thalamus): the simulator's ``deep_region`` channel, every voxel of it;
  a voxel is thalamus when it is nearer (in ellipsoid-normalised distance) to the simulator's thalamus ellipsoid
  (``cmb_kd.synth.anatomy.DEEP_NUCLEI``, the nucleus with the most posterior centre) than to the putamen,
  pallidus and caudate ellipsoids, else basal ganglia;
* **infratentorial** (brainstem, cerebellum): the simulator's ``infratentorial`` and ``posterior_fossa``
  channels, every voxel of them; brainstem inside the simulator's brainstem box (``BRAINSTEM_HALF_WIDTH``,
  ``BRAINSTEM_Y``), cerebellum elsewhere;
* **lobes, insula, capsules, corpus callosum, deep and periventricular white matter**: the remaining brain voxels
  by tissue (cortex where grey matter is the largest fraction, white matter where white matter is) and the
  geometric rules of :mod:`cmb_kd.location.atlas_rules`.

Voxels left without a label (CSF in sulci and ventricles, and a margin of :data:`ATLAS_MARGIN_MM` outside the
brain mask) take the label of the nearest labelled voxel, so a lesion centroid that lands in CSF or just outside
the brain after registration still gets the region beside it; farther out the label is 0 (``outside``).

The map agrees with the simulator's three classes by construction: every voxel of ``deep_region`` is basal
ganglia or thalamus, every voxel of ``infratentorial`` (and ``posterior_fossa``) is brainstem or cerebellum.

Resolution: 1 mm isotropic on the template grid (197 x 233 x 213 voxels, affine of ``load_template``), cropped
to the labelled box. It is built once per process (:func:`load_mars_atlas`, an ``lru_cache``; about 10 s on one
core, most of it the template) and kept in memory (uint8, about 5 MB).

Licence: the MNI ICBM152 2009 templates are Copyright (C) 1993-2004 Louis Collins, McConnell Brain Imaging Centre,
Montreal Neurological Institute, McGill University, distributed with permission "to use, copy, modify, and
distribute this software and its documentation for any purpose and without fee", provided the copyright notice
appears in all copies; nilearn (BSD-3-Clause) redistributes them. Deriving and using a label map from them is
allowed under those terms; the notice is kept in ``docs/location.md``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from cmb_kd.location import atlas_rules as rules
from cmb_kd.location.regions import MARS_REGIONS, region_code

__all__ = ["ATLAS_MARGIN_MM", "MarsAtlas", "build_mars_atlas", "load_mars_atlas"]

ATLAS_MARGIN_MM = 6.0
"""Unlabelled voxels up to this far (mm) outside the brain mask take the nearest label; beyond, 0 (outside)."""


@dataclass(frozen=True)
class MarsAtlas:
    """A MARS label map on a grid in MNI (RAS) millimetres.

    Attributes:
        labels: uint8 (X, Y, Z) codes of :data:`cmb_kd.location.regions.MARS_REGIONS` (0 = outside).
        affine: 4x4 voxel-to-MNI (RAS, mm) matrix of ``labels``.
    """

    labels: np.ndarray
    affine: np.ndarray

    def __post_init__(self) -> None:
        labels = np.asarray(self.labels)
        if labels.ndim != 3 or labels.dtype != np.uint8:
            raise ValueError(f"labels: expected a uint8 3D array (X, Y, Z), got {labels.dtype} {labels.shape}")
        if int(labels.max(initial=0)) > len(MARS_REGIONS):
            raise ValueError(f"labels: expected codes in 0..{len(MARS_REGIONS)}, got max {int(labels.max())}")
        affine = np.asarray(self.affine, dtype=np.float64)
        if affine.shape != (4, 4) or not np.isfinite(affine).all() or abs(np.linalg.det(affine[:3, :3])) < 1e-9:
            raise ValueError(f"affine: expected a finite invertible 4x4 matrix, got {np.asarray(self.affine)!r}")

    def lookup(self, points_mm: Any) -> np.ndarray:
        """The label of the voxel nearest to each point.

        Args:
            points_mm: (N, 3) MNI coordinates in mm (RAS).

        Returns:
            (N,) uint8 codes; 0 for points off the grid.

        Raises:
            ValueError: ``points_mm`` is not a finite (N, 3) array.
        """
        points = np.asarray(points_mm, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != 3 or not np.isfinite(points).all():
            raise ValueError(f"points_mm: expected finite (N, 3) coordinates in mm, got shape {points.shape}")
        inverse = np.linalg.inv(self.affine)
        index = np.rint(points @ inverse[:3, :3].T + inverse[:3, 3]).astype(np.int64)
        inside = np.all((index >= 0) & (index < np.array(self.labels.shape)), axis=1)
        codes = np.zeros(len(points), dtype=np.uint8)
        codes[inside] = self.labels[tuple(index[inside].T)]
        return codes


def _crop(maps: np.ndarray, margin: int) -> tuple[tuple[slice, ...], np.ndarray]:
    """The box around every voxel any map marks (> 0.5), widened by ``margin`` voxels, and its corner index."""
    marked = (maps[3] > 0.5) | (maps[4] > 0.5) | (maps[5] > 0.5) | (maps[7] > 0.5)
    nonzero = np.argwhere(marked)
    low = np.maximum(nonzero.min(axis=0) - margin, 0)
    high = np.minimum(nonzero.max(axis=0) + margin + 1, marked.shape)
    return tuple(slice(int(a), int(b)) for a, b in zip(low, high)), low


def _deep_codes(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Thalamus or basal ganglia for deep voxels: the nearest of the simulator's nucleus ellipsoids."""
    from cmb_kd.synth.anatomy import DEEP_NUCLEI

    thalamus = int(np.argmin([centre[1] for centre, _ in DEEP_NUCLEI]))
    distances = []
    for centre, axes in DEEP_NUCLEI:
        dx = (np.abs(x) - abs(centre[0])) / axes[0]
        distances.append(dx**2 + ((y - centre[1]) / axes[1]) ** 2 + ((z - centre[2]) / axes[2]) ** 2)
    nearest = np.argmin(np.stack(distances), axis=0)
    return np.where(nearest == thalamus, region_code("thalamus"), region_code("basal_ganglia")).astype(np.uint8)


def _infratentorial_codes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Brainstem inside the simulator's brainstem box, cerebellum elsewhere."""
    from cmb_kd.synth.anatomy import BRAINSTEM_HALF_WIDTH, BRAINSTEM_Y

    stem = (np.abs(x) < BRAINSTEM_HALF_WIDTH) & (y > BRAINSTEM_Y[0]) & (y < BRAINSTEM_Y[1])
    return np.where(stem, region_code("brainstem"), region_code("cerebellum")).astype(np.uint8)


def _white_matter_codes(
    white: np.ndarray, coords: tuple[np.ndarray, ...], cortex: np.ndarray, deep: np.ndarray, ventricles: np.ndarray
) -> np.ndarray:
    """Codes of white-matter voxels, first match wins: corpus callosum, capsules, juxtacortical (lobe),
    periventricular, deep white matter. Returns uint8 codes on the grid (0 off ``white``)."""
    x, y, z = coords
    codes = np.zeros(white.shape, dtype=np.uint8)
    near_cortex = ndimage.distance_transform_edt(~cortex) <= rules.JUXTACORTICAL_MM
    near_deep = ndimage.distance_transform_edt(~deep) <= rules.CAPSULE_MM
    near_ventricle = ndimage.distance_transform_edt(~ventricles) <= rules.PERIVENTRICULAR_MM
    order = (
        (rules.corpus_callosum_mask(x, y, z), region_code("corpus_callosum")),
        (near_deep & (np.abs(x) >= rules.EXTERNAL_CAPSULE_X), region_code("external_capsule")),
        (near_deep, region_code("internal_capsule")),
        (near_cortex, -1),
        (near_ventricle, region_code("periventricular_white_matter")),
        (np.ones_like(white), region_code("deep_white_matter")),
    )
    left = white.copy()
    for mask, code in order:
        hit = left & mask
        codes[hit] = rules.lobe_codes(x[hit], y[hit], z[hit]) if code == -1 else code
        left &= ~hit
    return codes


def _fill_nearest(labels: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """Unlabelled voxels inside ``reach`` take the label of the nearest labelled voxel."""
    if not labels.any():
        return labels
    index = ndimage.distance_transform_edt(labels == 0, return_distances=False, return_indices=True)
    filled = labels[tuple(index)]
    return np.where((labels == 0) & reach, filled, labels).astype(np.uint8)


def build_mars_atlas() -> MarsAtlas:
    """Derives the MARS label map from the template and the simulator's regions (see the module docstring).

    Returns:
        The atlas, 1 mm on the (cropped) template grid; not cached (use :func:`load_mars_atlas`).
    """
    from cmb_kd.synth.anatomy import load_template

    maps, template_affine = load_template()
    margin = int(np.ceil(ATLAS_MARGIN_MM)) + 1
    box, corner = _crop(maps, margin)
    gm, wm, brain_f = (maps[c][box] for c in (1, 2, 3))
    affine = template_affine.copy()
    affine[:3, 3] = template_affine[:3, :3] @ corner + template_affine[:3, 3]
    grid = np.indices(gm.shape, dtype=np.float32)
    coords = tuple(
        (affine[k, 0] * grid[0] + affine[k, 1] * grid[1] + affine[k, 2] * grid[2] + affine[k, 3]).astype(np.float32)
        for k in range(3)
    )
    del grid
    x, y, z = coords
    deep = maps[4][box] > 0.5
    infra = ((maps[5][box] > 0.5) | (maps[7][box] > 0.5)) & ~deep
    brain = brain_f > 0.5
    rest = brain & ~deep & ~infra
    csf = brain_f - gm - wm
    cortex = rest & (gm >= wm) & (gm >= csf)
    white = rest & (wm > gm) & (wm >= csf)
    depth = ndimage.distance_transform_edt(brain)
    ventricles = rules.ventricle_mask(csf, depth, x, brain & ~infra) & rest

    labels = np.zeros(gm.shape, dtype=np.uint8)
    labels[deep] = _deep_codes(x[deep], y[deep], z[deep])
    labels[infra] = _infratentorial_codes(x[infra], y[infra])
    labels[cortex] = rules.lobe_codes(x[cortex], y[cortex], z[cortex])
    labels[white] = _white_matter_codes(white, coords, cortex, deep, ventricles)[white]
    reach = ndimage.distance_transform_edt(~brain) <= ATLAS_MARGIN_MM
    labels = _fill_nearest(labels, reach | brain)
    return MarsAtlas(labels=labels, affine=affine)


@functools.lru_cache(maxsize=1)
def load_mars_atlas() -> MarsAtlas:
    """The MARS atlas of :func:`build_mars_atlas`, built on the first call and kept for the process."""
    return build_mars_atlas()
