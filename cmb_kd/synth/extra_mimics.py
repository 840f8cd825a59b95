"""Mimics of randomised physics (sub-voxel veins, flow voids, sulcal CSF clefts, air pockets): maps and records."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cmb_kd.synth.air import draw_air_pockets
from cmb_kd.synth.anatomy import Anatomy, template_to_grid
from cmb_kd.synth.clefts import draw_sulcal_clefts
from cmb_kd.synth.config import SynthConfig
from cmb_kd.synth.head import HeadLayers
from cmb_kd.synth.lesions import Lesion
from cmb_kd.synth.placement import visible_radius
from cmb_kd.synth.signal import GAMMA_BAR
from cmb_kd.synth.streams import feature_stream
from cmb_kd.synth.tissue import Tissue
from cmb_kd.synth.tubes import rasterise_tube, segment_fraction
from cmb_kd.synth.vessels import Vein, draw_flow_voids, draw_thin_veins

__all__ = ["ExtraMimics", "draw_extra_mimics", "thin_vein_maps", "mix_thin_veins"]

#: Distance (mm) kept between sub-voxel veins and the expected visible extent of every lesion.
_THIN_VEIN_CLEARANCE = 2.0


@dataclass
class ExtraMimics:
    """Mimics of randomised physics, as maps on the HR grid (None when switched off) and records.

    Attributes:
        thin_fraction: volume fraction of the sub-voxel veins (float32, X×Y×Z).
        thin_phase: phase (rad) of the blood inside the sub-voxel veins relative to the tissue (float32, X×Y×Z).
        flow_void: volume fraction of the flow voids (float32, X×Y×Z).
        cleft: volume fraction of the sulcal CSF clefts (X×Y×Z).
        air_pockets: volume fraction of the extra air pockets (X×Y×Z).
        air_scale: factor on the air-tissue susceptibility difference of the air inside the head.
        records: JSON-serialisable description of each mimic.
    """

    thin_fraction: np.ndarray | None = None
    thin_phase: np.ndarray | None = None
    flow_void: np.ndarray | None = None
    cleft: np.ndarray | None = None
    air_pockets: np.ndarray | None = None
    air_scale: float = 1.0
    records: list[dict] = field(default_factory=list)


def _count(rng: np.random.Generator, count_range: tuple[int, int]) -> int:
    return int(rng.integers(count_range[0], count_range[1] + 1))


def thin_vein_maps(
    veins: list[Vein], shape: tuple[int, int, int], spacing: float, delta_chi: float, b0: float, te: float
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Volume fraction of the sub-voxel veins and the phase (rad) of the blood inside them relative to the tissue.

    The field inside a long cylinder at angle θ to B0 is Δχ·B0·(3cos²θ − 1)/6 (with the Lorentz
    correction); outside, it falls off as sin²θ·(a/r)², negligible for veins close to B0.

    Args:
        veins: straight veins (their first and last points are the segment ends), voxel coordinates.
        shape: grid shape.
        spacing: isotropic voxel size in mm.
        delta_chi: susceptibility of the blood relative to the tissue, ppm.
        b0: field strength in tesla.
        te: echo time in seconds.

    Returns:
        ``(fraction, phase, records)``: float32 maps (X, Y, Z), where veins overlap the larger fraction wins,
        and one record per vein.
    """
    fraction = np.zeros(shape, np.float32)
    phase = np.zeros(shape, np.float32)
    records = []
    for vein in veins:
        axis = vein.points[-1] - vein.points[0]
        cos2 = float(axis[2] ** 2 / max(float(axis @ axis), 1e-12))
        inner = 2.0 * np.pi * GAMMA_BAR * te * delta_chi * b0 * (3.0 * cos2 - 1.0) / 6.0
        idx, part = segment_fraction(vein.points[0], vein.points[-1], vein.radius, shape, spacing)
        larger = part > fraction[idx]
        fraction[tuple(i[larger] for i in idx)] = part[larger]
        phase[tuple(i[larger] for i in idx)] = np.float32(inner)
        records.append(
            {
                "type": "thin_vein",
                "centre_voxel": np.round(vein.points[len(vein.points) // 2], 3).tolist(),
                "radius_mm": round(vein.radius, 3),
                "length_mm": round(float(np.linalg.norm(axis)) * spacing, 2),
                "tilt_degrees": round(float(np.rad2deg(np.arccos(np.sqrt(cos2)))), 2),
            }
        )
    return fraction, phase, records


def _add_thin_veins(
    extra: ExtraMimics,
    config: SynthConfig,
    rng: np.random.Generator,
    anatomy: Anatomy,
    inside_distance: np.ndarray,
    placed: list[Lesion],
    delta_chi: float,
    b0: float,
    te: float,
) -> None:
    """Sub-voxel veins in brain tissue, kept away from the expected visible extent of every lesion."""
    shape, spacing = tuple(int(n) for n in config.shape), float(config.spacing)
    count = _count(rng, config.thin_vein_count_range)
    allowed = (anatomy.brain > 0.5) & (anatomy.gm + anatomy.wm > 0.5) & (inside_distance >= 2.0)
    keep_away = [(lesion.centre, 1.5 * visible_radius(lesion) + _THIN_VEIN_CLEARANCE) for lesion in placed]
    veins = draw_thin_veins(
        allowed, spacing, rng, count, config.thin_vein_radius_range, config.thin_vein_length_range,
        config.thin_vein_tilt_degrees, keep_away,
    )  # fmt: skip
    extra.thin_fraction, extra.thin_phase, records = thin_vein_maps(veins, shape, spacing, delta_chi, b0, te)
    extra.records += records


def _add_flow_voids(extra: ExtraMimics, config: SynthConfig, rng: np.random.Generator, deformation: dict) -> None:
    """Flow voids along the large vessels, mapped from the template into the subject grid."""
    shape, spacing = tuple(int(n) for n in config.shape), float(config.spacing)
    count = _count(rng, config.flow_void_count_range)
    segments = draw_flow_voids(
        lambda points: template_to_grid(points, deformation, shape, spacing),
        shape, spacing, rng, count, config.flow_void_radius_range,
    )  # fmt: skip
    extra.flow_void = np.zeros(shape, np.float32)
    for segment in segments:
        rasterise_tube(segment.points, segment.radius, shape, spacing, extra.flow_void)
    extra.records += [
        {"type": "flow_void", "vessel": v.kind, "radius_mm": round(v.radius, 3),
         "length_mm": round(float(np.linalg.norm(np.diff(v.points, axis=0), axis=1).sum()) * spacing, 1)}
        for v in segments
    ]  # fmt: skip


def _add_clefts(
    extra: ExtraMimics, config: SynthConfig, rng: np.random.Generator, anatomy: Anatomy, inside_distance: np.ndarray
) -> None:
    """Thin sulcal CSF clefts cut into the cortex."""
    count = _count(rng, config.sulcal_cleft_count_range)
    extra.cleft, records = draw_sulcal_clefts(
        anatomy.gm, inside_distance, float(config.spacing), rng, count, config.sulcal_cleft_width_range,
        config.sulcal_cleft_length_range,
    )  # fmt: skip
    extra.records += records


def _add_air(
    extra: ExtraMimics, config: SynthConfig, rng: np.random.Generator, anatomy: Anatomy, head: HeadLayers
) -> None:
    """The susceptibility scale of the air inside the head, and extra air pockets next to the sinuses."""
    extra.air_scale = float(rng.uniform(*config.air_susceptibility_scale_range))
    count = _count(rng, config.air_pocket_count_range)
    if count:
        extra.air_pockets, records = draw_air_pockets(
            anatomy.air, anatomy.brain, head.outside_distance, float(config.spacing), rng, count,
            config.air_pocket_diameter_range,
        )  # fmt: skip
        extra.records += records


def draw_extra_mimics(
    config: SynthConfig,
    seed: int,
    anatomy: Anatomy,
    head: HeadLayers,
    inside_distance: np.ndarray,
    deformation: dict,
    placed: list[Lesion],
    tissues: dict[str, Tissue],
    b0: float,
    te: float,
) -> ExtraMimics:
    """Draws the mimics of randomised physics that ``config`` switches on, each from its own stream of ``seed``.

    Args:
        config: cohort settings (see :attr:`SynthConfig.physics_randomised`).
        seed: subject seed.
        anatomy: the subject's anatomy.
        head: the subject's head layers.
        inside_distance: distance to the brain surface inside the brain, mm (X, Y, Z).
        deformation: the subject's deformation of the template (maps template mm into the grid).
        placed: the placed lesions (sub-voxel veins keep away from them).
        tissues: the subject's tissue table (vein and white-matter susceptibility).
        b0: field strength in tesla.
        te: echo time in seconds.

    Returns:
        The maps and records; a feature switched off leaves its map ``None`` (air scale 1).
    """
    features = config.physics_randomised
    extra = ExtraMimics()
    if features["thin_vein"]:
        delta_chi = tissues["vein"].susceptibility - tissues["wm"].susceptibility
        rng = feature_stream(seed, "thin_vein")
        _add_thin_veins(extra, config, rng, anatomy, inside_distance, placed, delta_chi, b0, te)
    if features["flow_void"]:
        _add_flow_voids(extra, config, feature_stream(seed, "flow_void"), deformation)
    if features["sulcal_cleft"]:
        _add_clefts(extra, config, feature_stream(seed, "sulcal_cleft"), anatomy, inside_distance)
    if features["air"]:
        _add_air(extra, config, feature_stream(seed, "air"), anatomy, head)
    return extra


def mix_thin_veins(
    background: np.ndarray, pd: np.ndarray, r2s: np.ndarray, extra: ExtraMimics, blood: Tissue, te: float
) -> None:
    """Two-compartment signal of the voxels crossed by sub-voxel veins, in place.

    A voxel holding a fraction f of blood keeps (1 − f) of its tissue signal and adds f of the blood
    signal, ρ_b·e^(−R2*_b·TE), dephased by the field inside the vein: the intravoxel dephasing that
    darkens a voxel around a vein much thinner than itself.

    Args:
        background: complex signal (X, Y, Z), updated in place.
        pd: proton density map (X, Y, Z).
        r2s: R2* map in 1/s (X, Y, Z).
        extra: the mimics; its ``thin_fraction`` and ``thin_phase`` must be set.
        blood: the vein tissue.
        te: echo time in seconds.

    Raises:
        ValueError: if ``extra`` holds no sub-voxel veins.
    """
    if extra.thin_fraction is None or extra.thin_phase is None:
        raise ValueError("extra: expected the maps of sub-voxel veins (thin_fraction, thin_phase), got None")
    idx = np.nonzero(extra.thin_fraction)
    f = extra.thin_fraction[idx]
    tissue = pd[idx] * np.exp(-r2s[idx] * np.float32(te))
    blood_signal = np.float32(blood.proton_density * np.exp(-blood.r2star_30 * te))
    relative = np.where(tissue > 1e-6, blood_signal / np.maximum(tissue, 1e-6), 0.0)
    factor = (1.0 - f) + f * relative * np.exp(-1j * extra.thin_phase[idx])
    background[idx] *= factor.astype(np.complex64)
