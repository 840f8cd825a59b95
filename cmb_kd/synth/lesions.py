"""CMBs and calcifications: drawing them, placing them, and simulating their signal by supersampling.

A lesion is a uniformly magnetised ellipsoid. Its field is computed with the dipole kernel on a
supersampled grid around it, the complex GRE signal is evaluated on that grid and averaged as
complex numbers into each HR voxel, so the intravoxel dephasing that makes CMBs "bloom" (and
grow with TE and B0) comes out of the physics rather than being painted on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from scipy.spatial.transform import Rotation

from cmb_kd.synth.dipole import dipole_field
from cmb_kd.synth.signal import GAMMA_BAR, block_mean, gre_signal

__all__ = [
    "Lesion",
    "draw_cmb_count",
    "source_radius",
    "draw_cmb",
    "draw_cmbs",
    "draw_calcifications",
    "lesion_signal_patch",
]

#: Largest supersampled patch edge (voxels) of one lesion; bigger boxes use fewer sub-voxels per axis.
_MAX_FINE = 96
#: Constant of the blooming model r_v⁴ = _BLOOM·k·a³·Δ, calibrated on simulated lesions (tests/synth/test_lesions.py).
_BLOOM = 0.4


@dataclass
class Lesion:
    """One simulated lesion (CMB or calcification).

    Attributes:
        kind: ``"cmb"`` or ``"calcification"``.
        location: anatomical class (lobar, deep, infratentorial, juxtacortical, posterior_fossa, basal_ganglia,
            choroid_plexus).
        susceptibility: Δχ relative to the surrounding tissue, ppm.
        axes: ellipsoid semi-axes in mm.
        rotation: 3×3 rotation of the ellipsoid axes (world frame).
        centre: centre in voxel coordinates (set by placement).
        centre_mm: centre in world (RAS) mm (set by placement).
        target_diameter: visible diameter the source size was solved for (CMBs), mm.
        visible_diameter: equivalent diameter of the HR label component, mm (after simulation).
    """

    kind: str
    location: str
    susceptibility: float
    axes: tuple[float, float, float]
    rotation: np.ndarray
    centre: np.ndarray | None = None
    centre_mm: np.ndarray | None = None
    target_diameter: float | None = None
    visible_diameter: float | None = None
    extra: dict = field(default_factory=dict)

    @property
    def radius(self) -> float:
        """Geometric-mean semi-axis (radius of the sphere of equal volume), mm."""
        return float(np.prod(self.axes) ** (1.0 / 3.0))

    def record(self) -> dict:
        """A JSON-serialisable description."""
        out = {
            "type": self.kind,
            "location": self.location,
            "centre_mm": None if self.centre_mm is None else np.round(self.centre_mm, 3).tolist(),
            "centre_voxel": None if self.centre is None else np.round(self.centre, 3).tolist(),
            "source_semi_axes_mm": np.round(self.axes, 4).tolist(),
            "source_diameter_mm": round(2.0 * self.radius, 4),
            "susceptibility_ppm": round(self.susceptibility, 4),
        }
        if self.target_diameter is not None:
            out["target_visible_diameter_mm"] = round(self.target_diameter, 3)
        if self.visible_diameter is not None:
            out["visible_diameter_mm"] = round(self.visible_diameter, 3)
        out.update(self.extra)
        return out


def draw_cmb_count(rng: np.random.Generator, p_zero: float, mean: float, maximum: int) -> int:
    """Zero-inflated count: 0 with probability ``p_zero``, else min(1 + Poisson(mean - 1), maximum)."""
    if rng.random() < p_zero:
        return 0
    return int(min(1 + rng.poisson(mean - 1.0), maximum))


def source_radius(visible_diameter: float, susceptibility: float, b0: float, echo_time: float, spacing: float):
    """Source radius (mm) whose blooming gives ``visible_diameter`` under a dipole dephasing model.

    Around a sphere of radius a the phase is φ(r) = k·(a/r)³ with k = (2/3)·2π·γ̄·Δχ·B0·TE on
    the B0 axis; a voxel of size Δ at distance r loses half its signal when the phase changes by
    a few radians across it, i.e. when 3·φ(r)·Δ/r exceeds a constant. Solving for the visible
    radius r_v gives r_v⁴ = c·k·a³·Δ, so a = (r_v⁴ / (c·k·Δ))^(1/3) in the blooming regime and
    a = r_v when the lesion is too weak to bloom; c = 0.4 is calibrated on simulated lesions.
    The simulation, not this model, decides the label; the model only steers the draw.

    Args:
        visible_diameter: wanted visible diameter in mm.
        susceptibility: Δχ in ppm.
        b0: field strength in tesla.
        echo_time: TE in seconds.
        spacing: voxel size in mm.

    Returns:
        Source radius in mm.
    """
    k = (2.0 / 3.0) * 2.0 * np.pi * GAMMA_BAR * abs(susceptibility) * b0 * echo_time
    r_v = visible_diameter / 2.0
    blooming = (r_v**4 / (_BLOOM * k * spacing)) ** (1.0 / 3.0)
    return float(blooming if blooming <= _BLOOM * k * spacing else r_v)


def _ellipsoid_axes(radius: float, aspect_range: tuple[float, float], rng: np.random.Generator):
    aspect = rng.uniform(*aspect_range)
    axes = np.array([aspect, np.sqrt(aspect), 1.0])
    axes = axes / np.prod(axes) ** (1.0 / 3.0) * radius
    return tuple(float(a) for a in rng.permutation(axes))


def draw_cmb(
    rng: np.random.Generator,
    location: str,
    susceptibility_range: tuple[float, float],
    diameter_range: tuple[float, float],
    aspect_range: tuple[float, float],
    b0: float,
    echo_time: float,
    spacing: float,
) -> Lesion:
    """Draws one unplaced CMB: susceptibility (uniform), target visible diameter (log-uniform), shape, orientation.

    Args:
        rng: random generator.
        location: anatomical class of the lesion.
        susceptibility_range: Δχ range in ppm.
        diameter_range: target visible diameter range in mm; the source size is solved by :func:`source_radius`.
        aspect_range: ratio of the longest to the shortest ellipsoid axis.
        b0: field strength, tesla.
        echo_time: TE, seconds.
        spacing: HR voxel size in mm.

    Returns:
        The lesion, without a centre.
    """
    chi = rng.uniform(*susceptibility_range)
    low, high = diameter_range
    diameter = float(np.exp(rng.uniform(np.log(low), np.log(high))))
    radius = source_radius(diameter, chi, b0, echo_time, spacing)
    axes = _ellipsoid_axes(radius, aspect_range, rng)
    rotation = Rotation.random(random_state=rng).as_matrix()
    return Lesion("cmb", location, float(chi), axes, rotation, target_diameter=diameter)


def draw_cmbs(rng: np.random.Generator, config, b0: float, echo_time: float) -> list[Lesion]:
    """Draws the CMBs of one subject (count, location class, susceptibility, shape); positions come later.

    Args:
        rng: random generator.
        config: a :class:`~cmb_kd.synth.config.SynthConfig`.
        b0: field strength of the subject, tesla.
        echo_time: TE of the subject, seconds.

    Returns:
        Unplaced CMB lesions.
    """
    count = draw_cmb_count(rng, config.cmb_p_zero, config.cmb_count_mean, config.cmb_count_max)
    weights = np.asarray(config.cmb_location_weights, dtype=float)
    lesions = []
    for _ in range(count):
        location = config.locations[rng.choice(3, p=weights / weights.sum())]
        lesions.append(
            draw_cmb(
                rng, location, config.cmb_susceptibility_range, config.cmb_visible_diameter_range,
                config.cmb_aspect_range, b0, echo_time, config.spacing,
            )
        )  # fmt: skip
    return lesions


def draw_calcifications(rng: np.random.Generator, config) -> list[Lesion]:
    """Draws the calcifications of one subject (basal ganglia or choroid plexus), diamagnetic blobs."""
    low, high = config.calcification_count_range
    lesions = []
    for _ in range(int(rng.integers(low, high + 1))):
        location = "basal_ganglia" if rng.random() < 0.5 else "choroid_plexus"
        chi = rng.uniform(*config.calcification_susceptibility_range)
        radius = rng.uniform(*config.calcification_diameter_range) / 2.0
        axes = _ellipsoid_axes(radius, (1.0, 1.6), rng)
        rotation = Rotation.random(random_state=rng).as_matrix()
        lesions.append(Lesion("calcification", location, float(chi), axes, rotation))
    return lesions


def patch_half_width(lesion: Lesion, spacing: float) -> int:
    """Half edge (voxels) of the box simulated around a lesion: five times its longest semi-axis, at least 6 mm."""
    return int(np.ceil(max(6.0, min(5.0 * max(lesion.axes), 16.0)) / spacing))


def lesion_signal_patch(
    lesion: Lesion,
    proton_density: np.ndarray,
    r2star: np.ndarray,
    field_ut: np.ndarray,
    lesion_pd: float,
    lesion_r2star: float,
    b0: float,
    echo_time: float,
    spacing: float,
    supersample: int,
) -> tuple[tuple[slice, slice, slice], np.ndarray, np.ndarray]:
    """Complex HR signal of the box around a lesion, with and without the lesion, by supersampling.

    The background maps are interpolated (trilinear) onto a grid of ``supersample``³ sub-voxels
    per voxel; the lesion sets its own ρ and R2* inside the ellipsoid and adds its dipole field
    (computed on the sub-voxel grid); the GRE signal of every sub-voxel is averaged as a complex
    number into its voxel.

    Args:
        lesion: a placed lesion (``centre`` in voxel coordinates).
        proton_density, r2star, field_ut: background maps on the HR grid (field in µT).
        lesion_pd, lesion_r2star: ρ and R2* (1/s) inside the lesion.
        b0: field strength in tesla.
        echo_time: TE in seconds.
        spacing: HR voxel size in mm.
        supersample: sub-voxels per axis (reduced for large boxes so the box stays ≤ 96³ sub-voxels).

    Returns:
        ``(box, with_lesion, without_lesion)``: the HR slices of the box and the two complex64 signals.
    """
    shape = np.array(proton_density.shape)
    h = patch_half_width(lesion, spacing)
    centre_idx = np.round(lesion.centre).astype(int)
    lo = np.maximum(centre_idx - h, 1)
    hi = np.minimum(centre_idx + h + 1, shape - 1)
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    margin = tuple(slice(int(a) - 1, int(b) + 1) for a, b in zip(lo, hi, strict=True))
    s = int(max(2, min(supersample, _MAX_FINE // int((hi - lo).max()))))

    def fine(volume: np.ndarray) -> np.ndarray:
        t = torch.from_numpy(np.ascontiguousarray(volume[margin], dtype=np.float32))[None, None]
        up = F.interpolate(t, scale_factor=s, mode="trilinear", align_corners=False)[0, 0].numpy()
        return up[s:-s, s:-s, s:-s]

    pd_f, r2_f, field_f = fine(proton_density), fine(r2star), fine(field_ut)
    axes = [lo[k] + (np.arange((hi[k] - lo[k]) * s) + 0.5) / s - 0.5 for k in range(3)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    local = ((grid - lesion.centre) * spacing) @ lesion.rotation  # coordinates along the ellipsoid axes
    inside = ((local / np.asarray(lesion.axes)) ** 2).sum(axis=-1) <= 1.0
    del grid, local
    lesion_field = dipole_field(
        lesion.susceptibility * inside.astype(np.float32), spacing / s, b0=b0, pad=max(inside.shape) // 2
    )
    factors = (s, s, s)
    without = block_mean(gre_signal(pd_f, r2_f, field_f, echo_time), factors)
    pd_f = np.where(inside, np.float32(lesion_pd), pd_f)
    r2_f = np.where(inside, np.float32(lesion_r2star), r2_f)
    with_lesion = block_mean(gre_signal(pd_f, r2_f, field_f + lesion_field, echo_time), factors)
    return box, with_lesion.astype(np.complex64), without.astype(np.complex64)
