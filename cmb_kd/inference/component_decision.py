"""The clean-up record of one detected component: its measurements and the rules that rejected it."""

from __future__ import annotations

import dataclasses
import math

__all__ = ["ComponentDecision"]


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
