"""Measurements of the 26-connected components of a detection mask that the stage-3 clean-up rules judge: size,
elongation, depth in the brain, mean phase and the fit of the phase around each to a dipole."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import ndimage

from cmb_kd.candidates import principal_variances
from cmb_kd.inference.dipole_fit import dipole_fit

__all__ = ["ComponentMeasures", "measure_components"]


@dataclasses.dataclass(frozen=True)
class ComponentMeasures:
    """Measurements of the ``n`` components of a labelled mask, one entry per label ``1..n`` in label order.

    Attributes:
        centroids: float64 ``(n, 3)`` mean voxel index ``(x, y, z)``.
        counts: float64 ``(n,)`` number of voxels.
        volume_mm3: float64 ``(n,)`` voxel count times voxel volume.
        diameter_mm: float64 ``(n,)`` equivalent sphere diameter ``(6 V / π)^(1/3)``.
        elongation: float64 ``(n,)`` ratio of largest to smallest standard deviation along principal axes.
        inside_fraction: float64 ``(n,)`` fraction of voxels deeper in the brain than the margin; NaN without brain.
        mean_phase: float64 ``(n,)`` mean phase, radians; NaN without phase.
        dipole_fit: float64 ``(n,)`` correlation of the surrounding phase with a dipole (:func:`dipole_fit`); NaN
            without phase.
    """

    centroids: np.ndarray
    counts: np.ndarray
    volume_mm3: np.ndarray
    diameter_mm: np.ndarray
    elongation: np.ndarray
    inside_fraction: np.ndarray
    mean_phase: np.ndarray
    dipole_fit: np.ndarray

    def reading_order(self) -> np.ndarray:
        """Indices ``0..n-1`` of the components ordered by centroid ``z``, then ``y``, then ``x`` (rounded to 1e-6
        voxel), ties by label."""
        keys = np.round(self.centroids, 6)
        return np.lexsort((np.arange(len(keys)), keys[:, 0], keys[:, 1], keys[:, 2]))


def measure_components(
    labels: np.ndarray,
    n: int,
    voxel: tuple[float, float, float],
    *,
    shape_floor_mm: float,
    brain: np.ndarray | None = None,
    brain_margin_mm: float = 0.0,
    phase: np.ndarray | None = None,
    axes: np.ndarray | None = None,
    support: np.ndarray | None = None,
) -> ComponentMeasures:
    """Measure the components of a label map on a grid of voxel size ``voxel`` (mm).

    Args:
        labels: int ``(X, Y, Z)`` component labels ``1..n``, 0 for the background; ``n`` >= 1.
        n: number of components.
        voxel: voxel size in mm along ``(X, Y, Z)``.
        shape_floor_mm: extent added as a uniform voxel's variance to every principal variance (elongation).
        brain: bool brain mask ``(X, Y, Z)``; None: no inside fraction.
        brain_margin_mm: depth in mm below which a voxel is not inside the brain.
        phase: float high-pass phase ``(X, Y, Z)`` in radians; None: no mean phase or dipole fit.
        axes: 3x3 voxel-to-world matrix (mm), which tells the dipole fit where the main field points; needed with
            ``phase``.
        support: bool mask ``(X, Y, Z)`` of the voxels the dipole fit may use, or None for all.

    Returns:
        The :class:`ComponentMeasures`.
    """
    ids = labels[labels > 0]
    coords = np.nonzero(labels)
    counts = np.bincount(ids, minlength=n + 1)[1:].astype(np.float64)
    centroids = np.stack([np.bincount(ids, weights=c, minlength=n + 1)[1:] / counts for c in coords], axis=1)
    volume = counts * float(np.prod(voxel))
    diameter = (6.0 * volume / math.pi) ** (1.0 / 3.0)
    eigen = principal_variances(ids, coords, counts, voxel, shape_floor_mm, n)
    inside = np.full(n, math.nan)
    if brain is not None:
        deep = _deep_in_brain(brain, coords, voxel, float(brain_margin_mm))
        inside = np.bincount(ids, weights=deep.astype(np.float64), minlength=n + 1)[1:] / counts
    mean_phase = np.full(n, math.nan)
    fit = np.full(n, math.nan)
    if phase is not None:
        mean_phase = np.bincount(ids, weights=phase[coords], minlength=n + 1)[1:] / counts
        for k in range(n):
            fit[k] = dipole_fit(phase, centroids[k], diameter[k] / 2.0 + 1.0, axes, brain=support)
    return ComponentMeasures(
        centroids=centroids,
        counts=counts,
        volume_mm3=volume,
        diameter_mm=diameter,
        elongation=np.sqrt(eigen[:, 2] / eigen[:, 0]),
        inside_fraction=inside,
        mean_phase=mean_phase,
        dipole_fit=fit,
    )


def _deep_in_brain(
    brain: np.ndarray, coords: tuple[np.ndarray, ...], spacing: tuple[float, float, float], margin: float
) -> np.ndarray:
    """Whether each voxel ``coords`` lies more than ``margin`` mm inside ``brain`` (the volume's edge is outside).

    The distance transform runs only over the box around the voxels grown by ``margin`` plus one voxel, which
    holds every background voxel that could be within ``margin`` of them; the full volume would cost about a
    second per scan for a handful of detections.
    """
    reach = [int(math.ceil(margin / s)) + 1 for s in spacing]
    low = [max(0, int(c.min()) - r) for c, r in zip(coords, reach)]
    high = [min(n, int(c.max()) + 1 + r) for c, n, r in zip(coords, brain.shape, reach)]
    box = brain[tuple(slice(a, b) for a, b in zip(low, high))]
    # outside the volume counts as outside the brain: pad with background only where the box meets the edge
    pad = [(int(a == 0), int(b == n)) for a, b, n in zip(low, high, brain.shape)]
    padded = np.pad(box, pad, constant_values=False)
    if padded.all():
        return np.ones(len(coords[0]), dtype=bool)
    distance = ndimage.distance_transform_edt(padded, sampling=spacing)
    local = tuple(c - a + before for c, a, (before, _) in zip(coords, low, pad))
    return distance[local] > margin
