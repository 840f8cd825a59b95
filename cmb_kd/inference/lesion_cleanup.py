"""Stage-3 clean-up of detected CMB components: size, shape (vessels), brain margin and phase sign rules."""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import ndimage

from cmb_kd.checks import as_affine, as_binary_mask, as_real_volume, as_spacing
from cmb_kd.inference.cleanup_rules import CleanupRules
from cmb_kd.inference.component_measures import ComponentMeasures, measure_components

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
        brain = self._brain(brain_mask, shape)
        phase_map = None if phase is None else as_real_volume(phase, "phase", shape)
        labels, n = ndimage.label(detections, structure=_STRUCTURE_26)
        if n == 0:
            return np.zeros(shape, dtype=bool), []
        support = brain
        if support is None and phase_map is not None and brain_mask is not None:
            support = as_binary_mask(brain_mask, "brain_mask", shape)
        floor = max(voxel) if self.rules.shape_floor_mm is None else float(self.rules.shape_floor_mm)
        measures = measure_components(
            labels,
            n,
            voxel,
            shape_floor_mm=floor,
            brain=brain,
            brain_margin_mm=0.0 if brain is None else float(self.rules.brain_margin_mm),
            phase=phase_map,
            axes=axes,
            support=support,
        )
        phase_rule = self.phase_rule_applies(voxel, phase_map is not None)
        decisions = []
        keep = np.zeros(n + 1, dtype=bool)
        for rank, k in enumerate(measures.reading_order(), start=1):
            failed = self._failed_rules(measures, k, brain is not None, phase_rule)
            keep[k + 1] = not failed
            decisions.append(_decision(measures, k, rank, failed))
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

    def _brain(self, brain_mask: Any | None, shape: tuple[int, ...]) -> np.ndarray | None:
        """The checked brain mask while the brain-margin rule is on (required then), else None."""
        if self.rules.brain_margin_mm is None:
            return None
        if brain_mask is None:
            raise ValueError(
                "brain_mask: expected a brain mask of shape "
                f"{shape} while the brain-margin rule is on, got None; pass one or set brain_margin_mm=None"
            )
        return as_binary_mask(brain_mask, "brain_mask", shape)

    def _failed_rules(self, measures: ComponentMeasures, k: int, brain_rule: bool, phase_rule: bool) -> list[str]:
        """Names of the rules (:data:`CLEANUP_RULES`) component ``k`` fails, in rule order."""
        rules = self.rules
        failed = []
        if rules.min_diameter_mm is not None and measures.diameter_mm[k] < rules.min_diameter_mm:
            failed.append("min_diameter")
        if rules.max_diameter_mm is not None and measures.diameter_mm[k] > rules.max_diameter_mm:
            failed.append("max_diameter")
        if rules.max_elongation is not None and measures.elongation[k] > rules.max_elongation:
            failed.append("elongation")
        if brain_rule and measures.inside_fraction[k] < rules.min_inside_fraction:
            failed.append("brain_margin")
        calcification_sign = 1.0 if rules.paramagnetic_phase == "negative" else -1.0
        if phase_rule and calcification_sign * measures.dipole_fit[k] > rules.calcification_fit:
            failed.append("phase_sign")
        return failed


def _decision(measures: ComponentMeasures, k: int, rank: int, failed: list[str]) -> ComponentDecision:
    """The :class:`ComponentDecision` of component ``k``, numbered ``rank``."""
    return ComponentDecision(
        index=rank,
        centroid_voxel=tuple(float(v) for v in measures.centroids[k]),
        n_voxels=int(measures.counts[k]),
        volume_mm3=float(measures.volume_mm3[k]),
        diameter_mm=float(measures.diameter_mm[k]),
        elongation=float(measures.elongation[k]),
        inside_fraction=float(measures.inside_fraction[k]),
        mean_phase=float(measures.mean_phase[k]),
        dipole_fit=float(measures.dipole_fit[k]),
        rejected_by=tuple(failed),
    )
