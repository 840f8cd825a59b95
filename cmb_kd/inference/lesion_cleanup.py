"""Stage-3 clean-up of detected CMB components: size, shape (vessels), brain margin and phase sign rules."""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import ndimage

from cmb_kd.candidates.component_shape import principal_variances
from cmb_kd.checks import as_affine, as_binary_mask, as_real_volume, as_spacing
from cmb_kd.inference.cleanup_rules import CleanupRules
from cmb_kd.inference.dipole_fit import dipole_fit

__all__ = ["ComponentDecision", "LesionCleanup"]


@dataclasses.dataclass(frozen=True)
class ComponentDecision:
    """Measurements of one 26-connected component and the clean-up rules it failed.

    Attributes:
        index: 1-based number of the component, ordered by centroid ``z``, then ``y``, then ``x``.
        centroid_voxel: mean voxel index ``(x, y, z)``.
        n_voxels: number of voxels.
        volume_mm3: voxel count times voxel volume.
        diameter_mm: equivalent sphere diameter ``(6 V / π)^(1/3)``.
        elongation: ratio of largest to smallest standard deviation along principal axes (with the shape floor).
        inside_fraction: fraction of voxels inside the eroded brain mask; NaN when that rule was not applied.
        mean_phase: mean phase over the component, radians; NaN when no phase image was given.
        dipole_fit: correlation of the phase around the component with a point dipole's field (see
            :func:`~cmb_kd.inference.dipole_fit`): negative for paramagnetic sources in this project's phase
            convention; NaN when no phase image was given or too few voxels were usable.
        rejected_by: names of the failed rules (see :data:`CLEANUP_RULES`), empty when the component is kept.
    """

    index: int
    centroid_voxel: tuple[float, float, float]
    n_voxels: int
    volume_mm3: float
    diameter_mm: float
    elongation: float
    inside_fraction: float = math.nan
    mean_phase: float = math.nan
    dipole_fit: float = math.nan
    rejected_by: tuple[str, ...] = ()

    @property
    def kept(self) -> bool:
        """Whether no rule rejected the component."""
        return not self.rejected_by


logger = logging.getLogger(__name__)

_STRUCTURE_26 = np.ones((3, 3, 3), dtype=bool)


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


class LesionCleanup:
    """Removes detected components that cannot be CMBs, by the switchable rules of :class:`CleanupRules`.

    Stage 3 of the pipeline (PLKD's post-processing; the anatomical constraints of the three-step method of
    ``002``; the size and roundness constraints of the FRST method of ``003``). The mask is split into
    26-connected components, each is measured on the grid given by ``spacing`` (the working grid or the input
    grid, axes aligned with the voxel axes), and every component failing one or more rules is removed.

    Args:
        rules: the rule settings (default :class:`CleanupRules()`).
        threshold: probability at or above which a voxel belongs to a detection, in (0, 1].

    Raises:
        ValueError: if ``rules`` is not a :class:`CleanupRules` or ``threshold`` is outside (0, 1].
    """

    def __init__(self, rules: CleanupRules | None = None, *, threshold: float = 0.5) -> None:
        rules = CleanupRules() if rules is None else rules
        if not isinstance(rules, CleanupRules):
            raise ValueError(f"rules: expected a CleanupRules, got {type(rules).__name__}")
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
            raise ValueError(f"threshold: expected a probability in (0, 1], got {threshold!r}")
        self.rules = rules
        self.threshold = float(threshold)

    def __call__(
        self,
        mask: Any,
        spacing: Sequence[float],
        *,
        brain_mask: Any | None = None,
        phase: Any | None = None,
        affine: Any | None = None,
    ) -> tuple[np.ndarray, list[ComponentDecision]]:
        """Apply the rules.

        Args:
            mask: detections ``(X, Y, Z)``: a binary mask (booleans or 0/1) or a probability map in [0, 1],
                thresholded at ``threshold``.
            spacing: voxel size in mm along ``(X, Y, Z)``.
            brain_mask: brain mask ``(X, Y, Z)`` (0/1 or booleans); required while the brain-margin rule is on.
            phase: high-pass phase ``(X, Y, Z)`` in radians; the phase-sign rule runs only when it is given.
            affine: voxel-to-world affine of the grid (4x4, RAS mm), which tells the phase-sign rule where the main
                field (world z) points in voxel terms; default: voxel axes along the world axes with ``spacing``.

        Returns:
            ``(kept, decisions)``: the boolean mask of the kept components ``(X, Y, Z)`` (multiply a probability
            map by it to keep probabilities), and one :class:`ComponentDecision` per component, in centroid
            ``z, y, x`` order.

        Raises:
            ValueError: for arrays that are not 3D, of another shape than ``mask``, with NaN/Inf, a probability
                outside [0, 1], a bad spacing, a bad affine, or a missing brain mask while the brain-margin rule
                is on.
        """
        voxel = as_spacing(spacing, "spacing")
        axes = np.diag(voxel) if affine is None else as_affine(affine)[:3, :3]
        detections = self._binarise(mask)
        shape = detections.shape
        rules = self.rules
        brain = None
        if rules.brain_margin_mm is not None:
            if brain_mask is None:
                raise ValueError(
                    "brain_mask: expected a brain mask of shape "
                    f"{shape} while the brain-margin rule is on, got None; pass one or set brain_margin_mm=None"
                )
            brain = as_binary_mask(brain_mask, "brain_mask", shape)
        phase_map = None if phase is None else as_real_volume(phase, "phase", shape)

        labels, n = ndimage.label(detections, structure=_STRUCTURE_26)
        if n == 0:
            return np.zeros(shape, dtype=bool), []
        ids = labels[labels > 0]
        coords = np.nonzero(labels)
        counts = np.bincount(ids, minlength=n + 1)[1:].astype(np.float64)
        centroids = np.stack([np.bincount(ids, weights=c, minlength=n + 1)[1:] / counts for c in coords], axis=1)
        volume = counts * float(np.prod(voxel))
        diameter = (6.0 * volume / math.pi) ** (1.0 / 3.0)
        elongation = self._elongation(ids, coords, counts, voxel, n)
        inside = np.full(n, math.nan)
        if brain is not None:
            deep = _deep_in_brain(brain, coords, voxel, float(rules.brain_margin_mm))
            inside = np.bincount(ids, weights=deep.astype(np.float64), minlength=n + 1)[1:] / counts
        mean_phase = np.full(n, math.nan)
        fit = np.full(n, math.nan)
        if phase_map is not None:
            mean_phase = np.bincount(ids, weights=phase_map[coords], minlength=n + 1)[1:] / counts
            support = brain
            if support is None and brain_mask is not None:
                support = as_binary_mask(brain_mask, "brain_mask", shape)
            for k in range(n):
                fit[k] = dipole_fit(phase_map, centroids[k], diameter[k] / 2.0 + 1.0, axes, brain=support)
        calcification_sign = 1.0 if rules.paramagnetic_phase == "negative" else -1.0
        phase_rule = self.phase_rule_applies(voxel, phase_map is not None)

        keys = np.round(centroids, 6)
        order = np.lexsort((np.arange(n), keys[:, 0], keys[:, 1], keys[:, 2]))
        decisions = []
        keep = np.zeros(n + 1, dtype=bool)
        for rank, k in enumerate(order, start=1):
            failed = []
            if rules.min_diameter_mm is not None and diameter[k] < rules.min_diameter_mm:
                failed.append("min_diameter")
            if rules.max_diameter_mm is not None and diameter[k] > rules.max_diameter_mm:
                failed.append("max_diameter")
            if rules.max_elongation is not None and elongation[k] > rules.max_elongation:
                failed.append("elongation")
            if brain is not None and inside[k] < rules.min_inside_fraction:
                failed.append("brain_margin")
            if phase_rule and calcification_sign * fit[k] > rules.calcification_fit:
                failed.append("phase_sign")
            keep[k + 1] = not failed
            decisions.append(
                ComponentDecision(
                    index=rank,
                    centroid_voxel=tuple(float(v) for v in centroids[k]),
                    n_voxels=int(counts[k]),
                    volume_mm3=float(volume[k]),
                    diameter_mm=float(diameter[k]),
                    elongation=float(elongation[k]),
                    inside_fraction=float(inside[k]),
                    mean_phase=float(mean_phase[k]),
                    dipole_fit=float(fit[k]),
                    rejected_by=tuple(failed),
                )
            )
        logger.debug("clean-up kept %d of %d component(s)", int(keep.sum()), n)
        return keep[labels], decisions

    def phase_rule_applies(self, spacing: Sequence[float], has_phase: bool) -> bool:
        """Whether the phase-sign rule runs on a grid of voxel size ``spacing`` (mm): it is on, a phase image is
        given (``has_phase``) and the coarsest voxel is at most ``phase_max_spacing_mm``."""
        rules = self.rules
        limit = rules.phase_max_spacing_mm
        return bool(has_phase and rules.reject_calcification and (limit is None or max(spacing) <= limit))

    def _binarise(self, mask: Any) -> np.ndarray:
        array = np.asarray(mask.detach().cpu().numpy() if hasattr(mask, "detach") else mask)
        if array.dtype == np.bool_:
            return as_binary_mask(array, "mask")
        values = as_real_volume(array, "mask")
        if values.size and (values.min() < 0.0 or values.max() > 1.0):
            raise ValueError(
                f"mask: expected a binary mask or a probability map in [0, 1], got range "
                f"[{values.min():.4g}, {values.max():.4g}]"
            )
        return values >= self.threshold

    def _elongation(
        self,
        ids: np.ndarray,
        coords: tuple[np.ndarray, ...],
        counts: np.ndarray,
        voxel: tuple[float, float, float],
        n: int,
    ) -> np.ndarray:
        floor = max(voxel) if self.rules.shape_floor_mm is None else float(self.rules.shape_floor_mm)
        eigen = principal_variances(ids, coords, counts, voxel, floor, n)
        return np.sqrt(eigen[:, 2] / eigen[:, 0])
