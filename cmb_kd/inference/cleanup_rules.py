"""The switchable stage-3 clean-up rules (size, shape, anatomy, phase sign) and their settings."""

from __future__ import annotations

import dataclasses
import math

from monai.utils import look_up_option

__all__ = ["CLEANUP_RULES", "PARAMAGNETIC_PHASE_SIGNS", "CleanupRules"]

CLEANUP_RULES: tuple[str, ...] = ("min_diameter", "max_diameter", "elongation", "brain_margin", "phase_sign")
"""Names of the rules, as recorded in :attr:`ComponentDecision.rejected_by`."""

PARAMAGNETIC_PHASE_SIGNS: tuple[str, ...] = ("negative", "positive")
"""Sign of the high-pass phase of paramagnetic sources: negative in the right-handed convention (this project's)."""


def _optional_positive(value: float | None, name: str, *, allow_zero: bool = False) -> None:
    if value is None:
        return
    bound = ">= 0" if allow_zero else "> 0"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite number {bound} or None (rule off), got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name}: expected a finite number {bound} or None (rule off), got {value!r}")


@dataclasses.dataclass(frozen=True)
class CleanupRules:
    """Settings of the stage-3 clean-up of detected components; a rule set to None (or False) is off.

    Each 26-connected component of the detection mask is measured on its grid (voxel size ``spacing`` in mm) and
    rejected by every rule it fails:

    - ``min_diameter`` / ``max_diameter``: equivalent sphere diameter ``(6 V / π)^(1/3)``, ``V`` = voxel count ×
      voxel volume, outside ``[min_diameter_mm, max_diameter_mm]`` (CMBs are 2-10 mm).
    - ``elongation``: ``sqrt(λ_max / λ_min)`` of the covariance of the component's voxel centres in mm, i.e. the
      ratio of its largest to its smallest standard deviation along principal axes, above ``max_elongation``
      (vessels are tubes, CMBs are round). ``shape_floor_mm² / 12`` is added to every eigenvalue: the variance of
      a uniform extent of one ``shape_floor_mm`` voxel. Extents finer than the coarsest sampling are unknown, so
      by default (``shape_floor_mm=None``) the floor is the grid's largest voxel size: a component one voxel
      thin on 3 mm slices then counts as a 3 mm thick disc, not as a flat sheet, and a single thick voxel is round
      (elongation 1) rather than a 0.5 × 0.5 × 3 mm rod.
    - ``brain_margin``: the brain mask eroded by ``brain_margin_mm``: the voxels whose centre lies more than that
      distance (Euclidean, in mm, so anisotropic voxels are handled) from the centre of the nearest voxel outside
      the brain mask, the volume border counting as outside. A component with less than ``min_inside_fraction``
      of its voxels in there is rejected (skull, sinus and CSF rims).
    - ``phase_sign``: only when a phase image is given. Paramagnetic CMBs and diamagnetic calcifications both
      darken the magnitude, but they bend the field around them in opposite directions: the phase outside a small
      source follows the dipole pattern ``χ (3 cos² θ - 1) / r³`` with the sign of its susceptibility χ. The
      correlation of the phase around the component (its signal void left out) with that pattern,
      :func:`~cmb_kd.inference.dipole_fit`, has one sign for CMBs and the other for calcifications; a component
      whose correlation has the calcification sign by more than ``calcification_fit`` is rejected. With
      ``paramagnetic_phase="negative"`` (the right-handed convention of this project's simulator) CMBs correlate
      negatively; set ``"positive"`` for phase images of the left-handed convention, or the rule removes CMBs
      instead of calcifications. The rule is skipped on grids whose coarsest voxel is larger than
      ``phase_max_spacing_mm``: across slabs thicker than about 5 mm too little of the pattern survives.

    Args:
        min_diameter_mm: smallest equivalent diameter kept, mm; None: no lower bound.
        max_diameter_mm: largest equivalent diameter kept, mm; None: no upper bound.
        max_elongation: largest elongation kept (>= 1); None: shape rule off.
        shape_floor_mm: extent added to every principal axis, mm; None: the grid's largest voxel size.
        brain_margin_mm: erosion margin of the brain mask, mm (0 keeps the brain mask as is); None: rule off.
        min_inside_fraction: smallest fraction of a component's voxels inside the eroded brain mask, in (0, 1].
        reject_calcification: whether the phase-sign rule is on (it also needs a phase image).
        paramagnetic_phase: ``"negative"`` or ``"positive"``: the phase sign of paramagnetic sources.
        calcification_fit: margin of the dipole correlation beyond zero on the calcification side, in [0, 1).
        phase_max_spacing_mm: coarsest voxel size (mm) at which the phase-sign rule applies; None: any.

    Raises:
        ValueError: for a negative or non-finite setting, ``min_diameter_mm > max_diameter_mm``, an elongation
            below 1, a fraction outside (0, 1] or an unknown ``paramagnetic_phase``.
    """

    min_diameter_mm: float | None = 2.0
    max_diameter_mm: float | None = 10.0
    max_elongation: float | None = 3.0
    shape_floor_mm: float | None = None
    brain_margin_mm: float | None = 2.0
    min_inside_fraction: float = 0.5
    reject_calcification: bool = True
    paramagnetic_phase: str = "negative"
    calcification_fit: float = 0.0
    phase_max_spacing_mm: float | None = 5.0

    def __post_init__(self) -> None:
        _optional_positive(self.min_diameter_mm, "min_diameter_mm")
        _optional_positive(self.max_diameter_mm, "max_diameter_mm")
        _optional_positive(self.max_elongation, "max_elongation")
        _optional_positive(self.shape_floor_mm, "shape_floor_mm", allow_zero=True)
        _optional_positive(self.brain_margin_mm, "brain_margin_mm", allow_zero=True)
        _optional_positive(self.phase_max_spacing_mm, "phase_max_spacing_mm")
        fit = self.calcification_fit
        if isinstance(fit, bool) or not isinstance(fit, (int, float)) or not 0 <= fit < 1:
            raise ValueError(f"calcification_fit: expected a correlation margin in [0, 1), got {fit!r}")
        if (
            self.min_diameter_mm is not None
            and self.max_diameter_mm is not None
            and self.min_diameter_mm > self.max_diameter_mm
        ):
            raise ValueError(
                f"min_diameter_mm, max_diameter_mm: expected min <= max, got {self.min_diameter_mm} > "
                f"{self.max_diameter_mm}"
            )
        if self.max_elongation is not None and self.max_elongation < 1:
            raise ValueError(f"max_elongation: expected a ratio >= 1 or None (rule off), got {self.max_elongation!r}")
        fraction = self.min_inside_fraction
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
            raise ValueError(f"min_inside_fraction: expected a fraction in (0, 1], got {fraction!r}")
        if not isinstance(self.reject_calcification, bool):
            raise ValueError(f"reject_calcification: expected True or False, got {self.reject_calcification!r}")
        object.__setattr__(
            self, "paramagnetic_phase", look_up_option(self.paramagnetic_phase, PARAMAGNETIC_PHASE_SIGNS)
        )
