"""Time-of-flight signal: saturated static tissue, inflow enhancement fading along the vessels, and the scanner.

A spoiled gradient echo with repetition time TR and flip angle α drives static tissue of longitudinal relaxation
T1 to its steady state, S = ρ·(1 − E1)/(1 − cos α·E1) with E1 = exp(−TR/T1) (times sin α, common to everything
and left out); magnetisation transfer lowers grey and white matter further. Blood enters the slab fully relaxed
and, after a time t in it (n = t/TR pulses), has S_b(t) = ρ_b·[M_ss + (1 − M_ss)·(cos α·E1_b)^(t/TR)], with M_ss
the steady state above: fresh inflow is bright and slower, more distal blood fades toward the tissue level. Blood
flows at v(r) = v_2mm·(r / 2 mm)^k, so the time to reach a point is the integral of ds/v along the tree from the
start of its root. Signals are relative to fresh blood (S_b(0) = 1). The acquisition multiplies a smooth bias
field, may truncate the in-plane k-space (Gibbs ringing) and apply a reconstruction window (blur), adds complex
Gaussian noise (Rician magnitude), then scales the intensities: by a drawn factor for a float image, or to a drawn
fraction of an integer type's range, rounded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from cmb_kd.synth.acquisition import add_complex_noise, bias_field
from cmb_kd.synth.kspace import apply_kspace_filter, kspace_filter
from cmb_kd.synth.mra_anatomy import MRAAnatomy
from cmb_kd.synth.mra_config import MRAConfig
from cmb_kd.synth.vessel_tree import VesselTree

__all__ = [
    "TOF_TISSUES",
    "TOFPhysics",
    "draw_tof_physics",
    "tissue_signals",
    "blood_signal",
    "inflow_signals",
    "background_signal",
    "acquire_tof",
]

#: Per tissue: proton density (water = 1), T1 at 1.5 T and at 3 T (s), whether magnetisation transfer lowers it.
#: Sources in docs/data.md; T1 is linear in B0 through the two values.
TOF_TISSUES: dict[str, tuple[float, float, float, bool]] = {
    "blood": (0.85, 1.44, 1.65, False),
    "gm": (0.80, 1.10, 1.60, True),
    "wm": (0.69, 0.65, 0.90, True),
    "csf": (1.00, 4.00, 4.20, False),
    "fat": (0.90, 0.34, 0.38, False),
    "skin": (0.80, 1.01, 1.41, True),
}
#: Mean blood velocity (mm/s) is given for an artery of this radius (mm).
_REFERENCE_RADIUS = 2.0
#: Integer value types: the largest value each holds.
_TYPE_MAX = {"int16": 32767.0, "uint16": 65535.0, "uint8": 255.0}
#: Voxels needed to measure the white-matter level for the SNR (fewer: the brain, then the whole grid).
_MIN_VOXELS = 100


@dataclass(frozen=True)
class TOFPhysics:
    """One subject's drawn acquisition (ranges in :class:`~cmb_kd.synth.mra_config.MRAConfig`).

    Attributes:
        field_strength_t: B0 in tesla.
        repetition_time_s: TR.
        flip_angle_degrees: α.
        t1_s: T1 of each tissue of :data:`TOF_TISSUES` (jittered), seconds.
        mt_factor: magnetisation-transfer factor of the tissues that have it.
        velocity_2mm: mean blood velocity in an artery of 2 mm radius, mm/s.
        velocity_exponent: k of v ∝ r^k.
        snr: white-matter SNR.
        bias_amplitude: amplitude of the bias field.
        kspace_fraction: in-plane k-space kept (1: no truncation).
        kspace_window: reconstruction window.
        scalp_fat: fat fraction of the scalp.
        csf_mm, skull_mm, scalp_mm: thicknesses of the layers around the brain.
        intensity_scale: factor on the intensities of a float image.
        integer_fill: fraction of an integer value type's range the image's maximum takes.
        value_type: stored value type.
    """

    field_strength_t: float
    repetition_time_s: float
    flip_angle_degrees: float
    t1_s: dict[str, float]
    mt_factor: float
    velocity_2mm: float
    velocity_exponent: float
    snr: float
    bias_amplitude: float
    kspace_fraction: float
    kspace_window: str
    scalp_fat: float
    csf_mm: float
    skull_mm: float
    scalp_mm: float
    intensity_scale: float
    integer_fill: float
    value_type: str

    def record(self) -> dict:
        """JSON-serialisable values (floats rounded)."""
        out = asdict(self)
        out["t1_s"] = {k: round(v, 4) for k, v in self.t1_s.items()}
        return {k: round(v, 5) if isinstance(v, float) else v for k, v in out.items()}


def draw_tof_physics(rng: np.random.Generator, config: MRAConfig) -> TOFPhysics:
    """Draws one subject's acquisition from the ranges of ``config``."""
    b0 = float(rng.choice(config.field_strengths))
    t1 = {}
    for name, (_, t1_15, t1_30, _) in TOF_TISSUES.items():
        jitter = rng.uniform(1.0 - config.t1_jitter, 1.0 + config.t1_jitter)
        t1[name] = max(t1_15 + (t1_30 - t1_15) * (b0 - 1.5) / 1.5, 0.05) * float(jitter)
    uniform = {name: float(rng.uniform(*getattr(config, f"{name}_range"))) for name in (
        "repetition_time", "flip_angle", "mt_factor", "velocity", "velocity_exponent", "snr", "bias_amplitude",
        "scalp_fat",
    )}  # fmt: skip
    ringing = rng.uniform() < config.ringing_probability
    fraction = float(rng.uniform(*config.kspace_fraction_range))
    window = str(rng.choice(config.kspace_windows))
    thickness = rng.uniform((1.5, 4.5, 4.0), (3.5, 7.5, 7.0))
    log_scale = rng.uniform(*np.log(config.intensity_scale_range))
    fill = float(rng.uniform(*config.integer_fill_range))
    return TOFPhysics(
        field_strength_t=b0, repetition_time_s=uniform["repetition_time"], flip_angle_degrees=uniform["flip_angle"],
        t1_s=t1, mt_factor=uniform["mt_factor"], velocity_2mm=uniform["velocity"],
        velocity_exponent=uniform["velocity_exponent"], snr=uniform["snr"], bias_amplitude=uniform["bias_amplitude"],
        kspace_fraction=fraction if ringing else 1.0, kspace_window=window, scalp_fat=uniform["scalp_fat"],
        csf_mm=float(thickness[0]), skull_mm=float(thickness[1]), scalp_mm=float(thickness[2]),
        intensity_scale=float(np.exp(log_scale)), integer_fill=fill, value_type=str(rng.choice(config.value_types)),
    )  # fmt: skip


def _steady_state(t1: float, physics: TOFPhysics) -> tuple[float, float]:
    """``(M_ss, cos α·E1)`` of a tissue of ``t1`` under the subject's TR and flip angle."""
    e1 = np.exp(-physics.repetition_time_s / t1)
    cos_e1 = float(np.cos(np.deg2rad(physics.flip_angle_degrees)) * e1)
    return float((1.0 - e1) / (1.0 - cos_e1)), cos_e1


def tissue_signals(physics: TOFPhysics) -> dict[str, float]:
    """Steady-state signal of each static tissue of :data:`TOF_TISSUES`, relative to fresh blood."""
    blood_density = TOF_TISSUES["blood"][0]
    out = {}
    for name, (density, _, _, transfer) in TOF_TISSUES.items():
        if name != "blood":
            level = density / blood_density * _steady_state(physics.t1_s[name], physics)[0]
            out[name] = level * (physics.mt_factor if transfer else 1.0)
    return out


def blood_signal(time_s: np.ndarray, physics: TOFPhysics) -> np.ndarray:
    """Signal of blood after ``time_s`` seconds in the slab, relative to fresh blood (1 at 0, decreasing)."""
    steady, cos_e1 = _steady_state(physics.t1_s["blood"], physics)
    pulses = np.asarray(time_s, dtype=np.float64) / physics.repetition_time_s
    return steady + (1.0 - steady) * cos_e1**pulses


def inflow_signals(tree: VesselTree, physics: TOFPhysics) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Travel time from the start of the root and blood signal at every point of every segment.

    Returns:
        ``(times, signals)``: per segment, (N,) seconds and (N,) relative signals.
    """

    def dt(segment) -> np.ndarray:
        step = np.linalg.norm(np.diff(segment.points, axis=0), axis=1)
        radius = 0.5 * (segment.radii[1:] + segment.radii[:-1])
        return step / (physics.velocity_2mm * (radius / _REFERENCE_RADIUS) ** physics.velocity_exponent)

    times = tree.accumulate(dt)
    return times, [blood_signal(t, physics) for t in times]


def background_signal(anatomy: MRAAnatomy, physics: TOFPhysics, spacing: float) -> np.ndarray:
    """Noise-free static signal: brain tissues, and around the brain a CSF rim, a dark skull and the scalp.

    Args:
        anatomy: the posed template on the grid.
        physics: the subject's acquisition (tissue signals and layer thicknesses).
        spacing: smallest voxel size in mm (width of the partial volume at the layer boundaries).

    Returns:
        float32 (X, Y, Z).
    """
    level = tissue_signals(physics)
    distance = anatomy.outside_distance
    edges = np.cumsum([0.0, physics.csf_mm, physics.skull_mm, physics.scalp_mm])

    def band(low: float, high: float) -> np.ndarray:
        return np.clip(np.minimum(distance - low, high - distance) / spacing + 0.5, 0.0, 1.0)

    outside = 1.0 - anatomy.brain
    rim = np.maximum(band(edges[0], edges[1]), distance <= edges[1]) * outside
    scalp = band(edges[2], edges[3]) * outside
    scalp_level = physics.scalp_fat * level["fat"] + (1.0 - physics.scalp_fat) * level["skin"]
    signal = level["gm"] * anatomy.gm + level["wm"] * anatomy.wm + level["csf"] * (anatomy.csf + rim)
    return (signal + scalp_level * scalp).astype(np.float32)


def _noise_level(clean: np.ndarray, anatomy: MRAAnatomy, snr: float) -> float:
    for region in (anatomy.wm >= 0.9, anatomy.brain >= 0.5, np.ones(clean.shape, bool)):
        if np.count_nonzero(region) >= _MIN_VOXELS:
            return float(clean[region].mean()) / snr
    return 1.0 / snr


def acquire_tof(
    clean: np.ndarray, anatomy: MRAAnatomy, physics: TOFPhysics, rng: np.random.Generator
) -> tuple[np.ndarray, dict]:
    """The stored image of a noise-free signal: bias, k-space truncation and window, noise, scale, value type.

    Args:
        clean: noise-free signal (X, Y, Z), relative to fresh blood.
        anatomy: the anatomy (its white matter sets the noise level through the SNR).
        physics: the subject's acquisition.
        rng: random generator (bias field, then noise).

    Returns:
        ``(image, record)``: float32 image (X, Y, Z) holding values of ``physics.value_type``, and the noise
        standard deviation and the intensity scale applied (for an integer type, the one that puts the image's
        maximum at ``physics.integer_fill`` of the type's range).
    """
    signal = clean * bias_field(clean.shape, rng, physics.bias_amplitude)
    if physics.kspace_fraction < 1.0 or physics.kspace_window != "none":
        k_filter = kspace_filter(clean.shape[:2], physics.kspace_window)
        for axis, n in enumerate(clean.shape[:2]):
            k = (np.arange(n) - n // 2) / max(n / 2.0, 1.0)
            k_filter *= np.expand_dims(np.abs(k) <= physics.kspace_fraction, 1 - axis).astype(np.float32)
        signal = apply_kspace_filter(signal, k_filter, workers=1)
    sigma = _noise_level(clean, anatomy, physics.snr)
    image = np.abs(add_complex_noise(signal, sigma, rng))
    if physics.value_type in _TYPE_MAX:
        scale = physics.integer_fill * _TYPE_MAX[physics.value_type] / max(float(image.max()), 1e-12)
        image = np.round(image * scale)
    else:
        scale = physics.intensity_scale
        image = image * scale
    return image.astype(np.float32), {"noise_sigma": round(sigma, 6), "intensity_scale_applied": float(scale)}
