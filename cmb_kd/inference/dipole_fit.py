"""The sign of a small source's magnetic susceptibility from the dipole pattern of the phase around it."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["dipole_fit", "dipole_template"]

#: Smallest distance from the source at which the template is evaluated, mm (keeps 1/r³ finite).
_MIN_DISTANCE_MM = 0.5
#: Fewest usable voxels around a component for a fit; fewer give NaN.
_MIN_VOXELS = 20


def dipole_template(offsets_mm: np.ndarray, axes: np.ndarray, field: Sequence[float] = (0.0, 0.0, 1.0)) -> np.ndarray:
    """The field of a point dipole along ``field``, ``(3 cos² θ - 1) / r³``, averaged over each voxel's extent.

    A voxel of a thick-slice scan is the mean of the signal across its slab, so the template is averaged over
    sub-samples spaced about 1 mm apart along every voxel axis coarser than that.

    Args:
        offsets_mm: ``(N, 3)`` world offsets (mm) of the voxel centres from the source.
        axes: ``(3, 3)`` voxel-to-world linear part of the affine (columns: voxel axes in mm).
        field: direction of the main magnetic field in world coordinates (default: the scanner's z axis).

    Returns:
        ``(N,)`` template values.
    """
    direction = np.asarray(field, dtype=np.float64)
    direction = direction / np.linalg.norm(direction)
    spacing = np.sqrt((axes**2).sum(axis=0))
    steps = [np.linspace(-0.5, 0.5, n) if (n := min(9, int(round(s)))) > 1 else np.zeros(1) for s in spacing]
    grid = np.stack(np.meshgrid(*steps, indexing="ij"), axis=-1).reshape(-1, 3)
    template = np.zeros(len(offsets_mm), dtype=np.float64)
    for sub in grid:
        r = offsets_mm + axes @ sub
        distance = np.maximum(np.linalg.norm(r, axis=1), _MIN_DISTANCE_MM)
        cosine = (r @ direction) / distance
        template += (3.0 * cosine**2 - 1.0) / distance**3
    return template / len(grid)


def dipole_fit(
    phase: np.ndarray,
    centroid_voxel: Sequence[float],
    exclusion_radius_mm: float,
    axes: np.ndarray,
    *,
    brain: np.ndarray | None = None,
    window_mm: float = 8.0,
    field: Sequence[float] = (0.0, 0.0, 1.0),
) -> float:
    """How well the phase around a component follows the dipole field of a point source at its centroid.

    A small magnetised sphere perturbs the field outside it like a dipole, ``χ (3 cos² θ - 1) / r³``: one sign
    along the main field, the other around its equator. The phase follows the field, so its correlation with that
    template tells the sign of the source's susceptibility: paramagnetic (CMBs, haemosiderin) against diamagnetic
    (calcifications), whichever way the component darkens the magnitude. Inside the component (the blooming
    signal void) the phase is noise, so voxels closer than ``exclusion_radius_mm`` to the centroid are left out,
    as are voxels outside ``brain``; a linear background (what the high-pass filter leaves of the head's own
    field) is regressed out of both the phase and the template before they are correlated.

    Args:
        phase: ``(X, Y, Z)`` phase in radians, unwrapped around the source (a high-pass filtered phase is).
        centroid_voxel: the component's centroid in voxel indices.
        exclusion_radius_mm: radius around the centroid left out of the fit, mm.
        axes: ``(3, 3)`` voxel-to-world linear part of the affine.
        brain: optional boolean brain mask of ``phase``'s shape; only its voxels are used.
        window_mm: half size of the ellipsoidal window, mm; along a voxel axis coarser than ``window_mm / 1.5`` it
            is 1.5 voxels, so that a thick-slice scan has a slice on either side.
        field: direction of the main field in world coordinates.

    Returns:
        The weighted correlation in [-1, 1]: with the phase convention of this project's simulator (paramagnetic
        sources have negative high-pass phase) negative for paramagnetic and positive for diamagnetic sources;
        NaN when fewer than 20 voxels are usable or the phase is flat.
    """
    axes = np.asarray(axes, dtype=np.float64)
    spacing = np.sqrt((axes**2).sum(axis=0))
    half_mm = np.maximum(window_mm, 1.5 * spacing)
    centre = np.asarray(centroid_voxel, dtype=np.float64)
    reach = np.ceil(half_mm / spacing).astype(int)
    low = np.maximum(np.floor(centre).astype(int) - reach, 0)
    high = np.minimum(np.ceil(centre).astype(int) + reach + 1, phase.shape)
    if np.any(high <= low):
        return math.nan
    box = tuple(slice(int(a), int(b)) for a, b in zip(low, high))
    index = np.stack(np.meshgrid(*[np.arange(a, b) for a, b in zip(low, high)], indexing="ij"), axis=-1).reshape(-1, 3)
    voxel_offsets = index - centre
    offsets_mm = voxel_offsets @ axes.T
    values = np.asarray(phase[box], dtype=np.float64).reshape(-1)
    use = np.linalg.norm(voxel_offsets * spacing / half_mm, axis=1) <= 1.0
    use &= np.linalg.norm(offsets_mm, axis=1) > exclusion_radius_mm
    use &= np.isfinite(values)
    if brain is not None:
        use &= np.asarray(brain[box], dtype=bool).reshape(-1)
    if use.sum() < _MIN_VOXELS:
        return math.nan
    offsets_mm, values = offsets_mm[use], values[use]
    template = dipole_template(offsets_mm, axes, field)
    background = np.c_[np.ones(len(values)), offsets_mm]
    residuals = []
    for signal in (values, template):
        coefficients = np.linalg.lstsq(background, signal, rcond=None)[0]
        residuals.append(signal - background @ coefficients)
    phase_part, template_part = residuals
    norm = math.sqrt(float(phase_part @ phase_part) * float(template_part @ template_part))
    if norm <= 1e-12:
        return math.nan
    return float(phase_part @ template_part) / norm
