"""One synthetic subject: anatomy, tissue physics, lesions and mimics, GRE acquisition at HR and thick slices."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from cmb_kd.synth.acquisition import add_complex_noise, bias_field, thick_slice_affine, thick_slices
from cmb_kd.synth.air import draw_air_pockets
from cmb_kd.synth.anatomy import Anatomy, deform_template, template_to_grid
from cmb_kd.synth.clefts import draw_sulcal_clefts
from cmb_kd.synth.config import SynthConfig
from cmb_kd.synth.contrast import randomise_contrast
from cmb_kd.synth.dipole import dipole_field
from cmb_kd.synth.head import HeadLayers, head_layers
from cmb_kd.synth.labels import visible_extent
from cmb_kd.synth.lesions import Lesion, draw_calcifications, draw_cmb, draw_cmbs, lesion_signal_patch
from cmb_kd.synth.placement import place_clusters, place_lesions, relocate_lesions, visible_radius
from cmb_kd.synth.signal import GAMMA_BAR, gre_signal, highpass_phase, swi
from cmb_kd.synth.tissue import FLOW_VOID, TISSUES, Tissue, tissue_properties
from cmb_kd.synth.tubes import rasterise_tube, segment_fraction
from cmb_kd.synth.vessels import Vein, draw_flow_voids, draw_thin_veins, draw_veins

__all__ = ["LRAcquisition", "SyntheticSubject", "simulate_subject", "MIMIC_LABELS"]

logger = logging.getLogger(__name__)

#: Values of the mimic label map.
MIMIC_LABELS = {
    "vein": 1,
    "calcification": 2,
    "susceptibility_dropout": 3,
    "thin_vein": 4,
    "flow_void": 5,
    "sulcal_csf": 6,
    "air_pocket": 7,
}
#: Vein fraction above which a voxel is marked as vein in the mimic map.
_VEIN_MASK_FRACTION = 0.3
#: Fraction above which a voxel is marked as sub-voxel vein, flow void, sulcal CSF cleft or air pocket.
_THIN_VEIN_MASK_FRACTION = 0.02
_FLOW_VOID_MASK_FRACTION = 0.3
_CLEFT_MASK_FRACTION = 0.2
_AIR_POCKET_MASK_FRACTION = 0.5
#: Sub-voxels per axis for tiny CMBs (their sources are a fraction of a voxel); the patch limit may lower it.
_TINY_SUPERSAMPLE = 8
#: Distance (mm) kept between sub-voxel veins and the expected visible extent of every lesion.
_THIN_VEIN_CLEARANCE = 2.0
#: Random stream of each feature of randomised physics: ``SeedSequence(seed, spawn_key=(k,))``; the main
#: stream (spawn key ``()``) draws everything else, in the same order whichever features are on.
_STREAMS = {
    "contrast": 1,
    "tiny": 2,
    "location": 3,
    "cluster": 4,
    "thin_vein": 5,
    "flow_void": 6,
    "sulcal_cleft": 7,
    "air": 8,
}
_CONNECTIVITY = np.ones((3, 3, 3), dtype=bool)
#: Signal kept by background-field dephasing below which a brain voxel is marked as dropout.
_DROPOUT_FRACTION = 0.5
#: Magnitude scale: a voxel of proton density 1 with no decay has this intensity.
_INTENSITY_SCALE = 1000.0


@dataclass
class LRAcquisition:
    """A native thick-slice acquisition of a subject, on its own grid.

    Attributes:
        factor: slice-thickness factor relative to the HR grid.
        affine: voxel-to-world matrix of the thick-slice grid.
        magnitude, phase, swi: float32 images (X, Y, Z // factor).
        cmb_label: uint8 CMB label (one component per CMB).
        brain_mask: uint8 brain mask.
        clean: noise-free complex signal (for tests and analysis).
    """

    factor: int
    affine: np.ndarray
    magnitude: np.ndarray
    phase: np.ndarray
    swi: np.ndarray
    cmb_label: np.ndarray
    brain_mask: np.ndarray
    clean: np.ndarray


@dataclass
class SyntheticSubject:
    """A simulated subject on the HR grid plus its native thick-slice acquisitions.

    Attributes:
        affine: HR voxel-to-world (RAS mm) matrix.
        magnitude: T2*-weighted magnitude (float32, X×Y×Z), Rician noise.
        phase: homodyne high-pass filtered phase in radians.
        swi: susceptibility-weighted image.
        cmb_label: uint8, one connected component per CMB (visible extent).
        mimic_label: uint8, see :data:`MIMIC_LABELS`.
        brain_mask: uint8 brain mask.
        lr: thick-slice acquisitions keyed ``"x2"``, ``"x4"``, ...
        lesions: the CMBs (placed, with visible diameters).
        mimics: calcifications and veins (descriptions).
        acquisition: drawn acquisition and anatomy parameters.
        clean: noise-free complex HR signal with lesions; ``clean_without_lesions`` without them.
    """

    affine: np.ndarray
    magnitude: np.ndarray
    phase: np.ndarray
    swi: np.ndarray
    cmb_label: np.ndarray
    mimic_label: np.ndarray
    brain_mask: np.ndarray
    lr: dict[str, LRAcquisition]
    lesions: list[Lesion]
    mimics: list[dict]
    acquisition: dict
    clean: np.ndarray = field(repr=False)
    clean_without_lesions: np.ndarray = field(repr=False)

    def record(self) -> dict:
        """JSON-serialisable description of the subject (lesions, mimics, acquisition)."""
        return {
            "n_cmb": len(self.lesions),
            "cmbs": [lesion.record() for lesion in self.lesions],
            "mimics": self.mimics,
            "acquisition": self.acquisition,
        }


def _stream(seed: int, name: str) -> np.random.Generator:
    """The random stream of one feature of randomised physics, independent of the main stream and of the others."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(_STREAMS[name],)))


def _region_candidates(
    anatomy: Anatomy, inside_distance: np.ndarray, vein: np.ndarray, config: SynthConfig
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Candidate voxels per location class, and the brain tissue away from veins (where cluster members may go)."""
    deep_tissue = anatomy.brain > 0.5
    away = ndimage.maximum_filter(vein, size=5) < 0.05
    clear = deep_tissue & (inside_distance >= 4.0) & away
    deep = anatomy.deep_region > 0.5
    infra = anatomy.infratentorial > 0.5
    junction = (anatomy.gm > 0.25) & (anatomy.gm < 0.75) & (anatomy.wm > 0.2)
    ventricles = (anatomy.csf > 0.6) & (inside_distance > 12.0)
    candidates = {
        "lobar": np.argwhere(clear & junction & ~deep & ~infra),
        "deep": np.argwhere(clear & deep),
        "infratentorial": np.argwhere(clear & infra & (anatomy.gm + anatomy.wm > 0.5)),
        "basal_ganglia": np.argwhere(clear & deep),
        "choroid_plexus": np.argwhere(ventricles),
    }
    tissue = deep_tissue & away & (anatomy.gm + anatomy.wm > 0.5)
    if config.cmb_juxtacortical_fraction > 0:
        low, high = config.cmb_juxtacortical_depth_range
        cortex = (anatomy.gm > 0.5) & ~deep & (anatomy.posterior_fossa < 0.5) & ~infra
        band = (inside_distance >= low) & (inside_distance <= high)
        candidates["juxtacortical"] = np.argwhere(deep_tissue & away & cortex & band)
    if config.cmb_posterior_fossa_fraction > 0:
        fossa = (anatomy.posterior_fossa > 0.5) & (inside_distance >= 1.5)
        candidates["posterior_fossa"] = np.argwhere(tissue & fossa)
    return candidates, tissue


def _randomise_lesions(
    placed: list[Lesion],
    candidates: dict[str, np.ndarray],
    tissue: np.ndarray,
    affine: np.ndarray,
    config: SynthConfig,
    b0: float,
    te: float,
    seed: int,
) -> list[Lesion]:
    """Tiny CMBs, juxtacortical and posterior-fossa CMBs, and clusters, each from its own stream."""
    shape, spacing = tuple(int(n) for n in config.shape), float(config.spacing)
    if config.cmb_tiny_fraction > 0:
        rng = _stream(seed, "tiny")
        for i, lesion in enumerate(placed):
            if lesion.kind == "cmb" and rng.random() < config.cmb_tiny_fraction:
                tiny = draw_cmb(
                    rng, lesion.location, config.cmb_tiny_susceptibility_range, config.cmb_tiny_diameter_range,
                    config.cmb_aspect_range, b0, te, spacing,
                )  # fmt: skip
                tiny.centre, tiny.centre_mm, tiny.extra = lesion.centre, lesion.centre_mm, {"tiny": True}
                placed[i] = tiny  # smaller than the lesion it replaces: the placement margins still hold
    if config.cmb_juxtacortical_fraction > 0 or config.cmb_posterior_fossa_fraction > 0:
        probabilities = {
            "juxtacortical": config.cmb_juxtacortical_fraction,
            "posterior_fossa": config.cmb_posterior_fossa_fraction,
        }
        probabilities = {name: p for name, p in probabilities.items() if p > 0}
        placed = relocate_lesions(
            placed, candidates, probabilities, affine, shape, spacing, config.cmb_min_separation,
            _stream(seed, "location"),
        )  # fmt: skip
    if config.cmb_cluster_probability > 0:
        rng = _stream(seed, "cluster")

        def member(seed_lesion: Lesion) -> Lesion:
            return draw_cmb(
                rng, seed_lesion.location, config.cmb_susceptibility_range, config.cmb_cluster_diameter_range,
                config.cmb_aspect_range, b0, te, spacing,
            )  # fmt: skip

        placed = place_clusters(
            placed, member, tissue, config.cmb_cluster_probability, config.cmb_cluster_members_range,
            config.cmb_cluster_radius, config.cmb_cluster_gap, affine, shape, spacing, rng, config.cmb_count_max,
        )  # fmt: skip
    return placed


@dataclass
class _ExtraMimics:
    """Mimics of randomised physics, as maps on the HR grid (None when switched off) and records."""

    thin_fraction: np.ndarray | None = None
    thin_phase: np.ndarray | None = None
    flow_void: np.ndarray | None = None
    cleft: np.ndarray | None = None
    air_pockets: np.ndarray | None = None
    air_scale: float = 1.0
    records: list[dict] = field(default_factory=list)


def _thin_vein_maps(
    veins: list[Vein], shape: tuple[int, int, int], spacing: float, delta_chi: float, b0: float, te: float
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Volume fraction of the sub-voxel veins and the phase (rad) of the blood inside them relative to the tissue.

    The field inside a long cylinder at angle θ to B0 is Δχ·B0·(3cos²θ − 1)/6 (with the Lorentz
    correction); outside, it falls off as sin²θ·(a/r)², negligible for veins close to B0.
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


def _draw_extra_mimics(
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
) -> _ExtraMimics:
    shape, spacing = tuple(int(n) for n in config.shape), float(config.spacing)
    features = config.physics_randomised
    extra = _ExtraMimics()
    if features["thin_vein"]:
        rng = _stream(seed, "thin_vein")
        count = int(rng.integers(config.thin_vein_count_range[0], config.thin_vein_count_range[1] + 1))
        allowed = (anatomy.brain > 0.5) & (anatomy.gm + anatomy.wm > 0.5) & (inside_distance >= 2.0)
        keep_away = [(lesion.centre, 1.5 * visible_radius(lesion) + _THIN_VEIN_CLEARANCE) for lesion in placed]
        veins = draw_thin_veins(
            allowed, spacing, rng, count, config.thin_vein_radius_range, config.thin_vein_length_range,
            config.thin_vein_tilt_degrees, keep_away,
        )  # fmt: skip
        delta_chi = tissues["vein"].susceptibility - tissues["wm"].susceptibility
        extra.thin_fraction, extra.thin_phase, records = _thin_vein_maps(veins, shape, spacing, delta_chi, b0, te)
        extra.records += records
    if features["flow_void"]:
        rng = _stream(seed, "flow_void")
        count = int(rng.integers(config.flow_void_count_range[0], config.flow_void_count_range[1] + 1))
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
    if features["sulcal_cleft"]:
        rng = _stream(seed, "sulcal_cleft")
        count = int(rng.integers(config.sulcal_cleft_count_range[0], config.sulcal_cleft_count_range[1] + 1))
        extra.cleft, records = draw_sulcal_clefts(
            anatomy.gm, inside_distance, spacing, rng, count, config.sulcal_cleft_width_range,
            config.sulcal_cleft_length_range,
        )  # fmt: skip
        extra.records += records
    if features["air"]:
        rng = _stream(seed, "air")
        extra.air_scale = float(rng.uniform(*config.air_susceptibility_scale_range))
        count = int(rng.integers(config.air_pocket_count_range[0], config.air_pocket_count_range[1] + 1))
        if count:
            extra.air_pockets, records = draw_air_pockets(
                anatomy.air, anatomy.brain, head.outside_distance, spacing, rng, count,
                config.air_pocket_diameter_range,
            )  # fmt: skip
            extra.records += records
    return extra


def _mix_thin_veins(
    background: np.ndarray, pd: np.ndarray, r2s: np.ndarray, extra: _ExtraMimics, blood: Tissue, te: float
) -> None:
    """Two-compartment signal of the voxels crossed by sub-voxel veins, in place.

    A voxel holding a fraction f of blood keeps (1 − f) of its tissue signal and adds f of the blood
    signal, ρ_b·e^(−R2*_b·TE), dephased by the field inside the vein: the intravoxel dephasing that
    darkens a voxel around a vein much thinner than itself.
    """
    idx = np.nonzero(extra.thin_fraction)
    f = extra.thin_fraction[idx]
    tissue = pd[idx] * np.exp(-r2s[idx] * np.float32(te))
    blood_signal = np.float32(blood.proton_density * np.exp(-blood.r2star_30 * te))
    relative = np.where(tissue > 1e-6, blood_signal / np.maximum(tissue, 1e-6), 0.0)
    factor = (1.0 - f) + f * relative * np.exp(-1j * extra.thin_phase[idx])
    background[idx] *= factor.astype(np.complex64)


def _lr_centre(centre: np.ndarray, factor: int) -> np.ndarray:
    return np.array([centre[0], centre[1], (centre[2] - (factor - 1) / 2.0) / factor])


def _lr_box(box: tuple[slice, slice, slice], factor: int, depth: int) -> tuple[slice, slice, slice]:
    z = box[2]
    return box[0], box[1], slice(z.start // factor, min(-(-z.stop // factor), depth))


def _paint(label: np.ndarray, box, mask: np.ndarray, value: int) -> None:
    label[box][mask] = value


def _lesion_labels(
    clean: np.ndarray,
    background: np.ndarray,
    placed: list[Lesion],
    boxes: list[tuple[slice, slice, slice]],
    mimic_label: np.ndarray,
    config: SynthConfig,
) -> tuple[np.ndarray, dict[int, tuple[np.ndarray, np.ndarray]], list[list[tuple[tuple, np.ndarray]]]]:
    """CMB labels on the HR grid and every thick-slice grid (calcifications painted into ``mimic_label``).

    Returns:
        ``(cmb_label, lr, masks)``: the HR label; factor -> (noise-free thick-slice signal, label); and per grid
        (HR first, then the factors in order) the ``(box, mask)`` of each CMB, in the order of ``placed``.
    """
    spacing = float(config.spacing)
    cmb_label = np.zeros(clean.shape, np.uint8)
    hr_masks = []
    ratio = np.abs(clean) / np.maximum(np.abs(background), 1e-6)
    for lesion, box in zip(placed, boxes, strict=True):
        mask, visible = visible_extent(ratio, lesion.centre, box, config.label_threshold)
        lesion.extra["visible_hr"] = visible
        if lesion.kind == "cmb":
            _paint(cmb_label, box, mask, 1)
            lesion.visible_diameter = float((6.0 * mask.sum() * spacing**3 / np.pi) ** (1.0 / 3.0))
            hr_masks.append((box, mask))
        else:
            _paint(mimic_label, box, mask, MIMIC_LABELS["calcification"])
    del ratio
    lr, masks = {}, [hr_masks]
    for factor in config.lr_factors:
        lr_clean = thick_slices(clean, factor)
        lr_ratio = np.abs(lr_clean) / np.maximum(np.abs(thick_slices(background, factor)), 1e-6)
        lr_label = np.zeros(lr_clean.shape, np.uint8)
        lr_masks = []
        for lesion, box in zip(placed, boxes, strict=True):
            if lesion.kind != "cmb":
                continue
            lbox = _lr_box(box, factor, lr_clean.shape[2])
            mask, visible = visible_extent(lr_ratio, _lr_centre(lesion.centre, factor), lbox, config.label_threshold)
            lesion.extra[f"visible_lr-x{factor}"] = visible
            _paint(lr_label, lbox, mask, 1)
            lr_masks.append((lbox, mask))
        lr[factor] = (lr_clean, lr_label)
        masks.append(lr_masks)
    return cmb_label, lr, masks


def _is_cluster_member(lesion: Lesion) -> bool:
    return "cluster" in lesion.extra and not lesion.extra.get("cluster_seed", False)


def _merged_cluster_members(
    cmbs: list[Lesion], labels: list[np.ndarray], masks: list[list[tuple[tuple, np.ndarray]]]
) -> set[int]:
    """Indices (into ``cmbs``) of cluster members whose label shares a component with another CMB's on some grid."""
    drop: set[int] = set()
    for label, grid_masks in zip(labels, masks, strict=True):
        components, _ = ndimage.label(label, structure=_CONNECTIVITY)
        owner: dict[int, int] = {}
        for i, (box, mask) in enumerate(grid_masks):
            component = int(components[box][mask][0])
            if component not in owner:
                owner[component] = i
                continue
            first = owner[component]
            if i in drop or first in drop:
                continue
            if _is_cluster_member(cmbs[i]):
                drop.add(i)
            elif _is_cluster_member(cmbs[first]):
                drop.add(first)
    return drop


def simulate_subject(config: SynthConfig | None = None, seed: int = 0) -> SyntheticSubject:
    """Simulates one subject; the same ``(config, seed)`` reproduces it bit for bit.

    The main random stream of the seed draws the subject as the default configuration does; each feature of
    randomised physics that ``config`` switches on (see :class:`SynthConfig`) draws from its own stream, so
    with those features off the subject is the same, bit for bit, as before they existed.

    Args:
        config: cohort settings (default :class:`SynthConfig()`).
        seed: subject seed.

    Returns:
        The simulated subject.
    """
    config = config or SynthConfig()
    features = config.physics_randomised
    rng = np.random.default_rng(np.random.SeedSequence(int(seed)))
    spacing, shape = float(config.spacing), tuple(int(n) for n in config.shape)
    b0 = float(rng.choice(config.field_strengths))
    te = float(rng.uniform(*config.echo_time_range))
    snr = float(rng.uniform(*config.snr_range))
    tissues = tissue_properties(b0, rng, config.tissue_jitter)
    contrast_factors = None
    if features["contrast"]:
        tissues, contrast_factors = randomise_contrast(
            tissues, _stream(seed, "contrast"), config.pd_factor_range, config.r2star_factor_range,
            config.susceptibility_factor_range, config.contrast_independent,
        )  # fmt: skip

    anatomy, deformation = deform_template(
        shape, spacing, rng, config.rotation_degrees, config.scale_range, config.elastic_mm
    )
    head = head_layers(anatomy.brain, spacing, rng)
    inside_distance = ndimage.distance_transform_edt(anatomy.brain >= 0.5, sampling=spacing).astype(np.float32)
    n_cortical = int(rng.integers(config.cortical_vein_count_range[0], config.cortical_vein_count_range[1] + 1))
    n_medullary = int(rng.integers(config.medullary_vein_count_range[0], config.medullary_vein_count_range[1] + 1))
    vein, veins = draw_veins(
        anatomy.brain, anatomy.wm, anatomy.csf, inside_distance, head.outside_distance, spacing, rng,
        n_cortical, n_medullary, head.params["csf_mm"],
    )  # fmt: skip

    # lesions: drawn and placed from the anatomy alone, before the tissue maps
    candidates, tissue = _region_candidates(anatomy, inside_distance, vein, config)
    cmbs = draw_cmbs(rng, config, b0, te)
    calcifications = draw_calcifications(rng, config)
    placed = place_lesions(
        cmbs + calcifications, candidates, anatomy.affine, shape, spacing, config.cmb_min_separation, rng
    )
    placed = _randomise_lesions(placed, candidates, tissue, anatomy.affine, config, b0, te, seed)
    del candidates, tissue
    extra = _draw_extra_mimics(config, seed, anatomy, head, inside_distance, deformation, placed, tissues, b0, te)

    # tissue fractions (sum to 1 in every voxel; air takes the rest)
    sinus = anatomy.air * (head.outside_distance > 2.0)
    if extra.air_pockets is not None:
        sinus = np.maximum(sinus, extra.air_pockets)
    gm, wm, csf = anatomy.gm, anatomy.wm, anatomy.csf
    if extra.cleft is not None:  # the clefts turn grey and white matter into CSF
        gm, wm, csf = gm * (1.0 - extra.cleft), wm * (1.0 - extra.cleft), csf + extra.cleft * (gm + wm)
    keep = (1.0 - sinus) * (1.0 - vein)
    fractions = {
        "csf": (csf + head.csf_rim * (1.0 - sinus)) * (1.0 - vein),
        "gm": gm * (1.0 - anatomy.deep_region) * (1.0 - vein),
        "deep_gm": gm * anatomy.deep_region * (1.0 - vein),
        "wm": wm * (1.0 - vein),
        "skull": head.skull * keep,
        "scalp": head.scalp * keep,
        "vein": vein,
    }
    if extra.flow_void is not None:  # flowing blood takes its share of every voxel it crosses
        idx = np.nonzero(extra.flow_void)
        fractions["vein"] = vein.copy()
        for frac in fractions.values():
            frac[idx] *= 1.0 - extra.flow_void[idx]
        fractions["flow_void"] = extra.flow_void
    del gm, wm, csf
    pd = np.zeros(shape, np.float32)
    r2s = np.zeros(shape, np.float32)
    chi = np.zeros(shape, np.float32)  # referenced to air (air = 0), so the padding of the FFT is air too
    chi_air = TISSUES["air"].susceptibility
    for name, frac in fractions.items():
        t = FLOW_VOID if name == "flow_void" else tissues[name]
        pd += frac * np.float32(t.proton_density)
        r2s += frac * np.float32(t.r2star_30)
        chi += frac * np.float32(t.susceptibility - chi_air)
    if extra.air_scale != 1.0:  # air inside the head differs from tissue by air_scale times the air-water contrast
        chi += sinus * np.float32((extra.air_scale - 1.0) * (chi_air - TISSUES["csf"].susceptibility))
    del fractions, keep
    brain = anatomy.brain
    texture = 1.0 + 0.15 * brain * (anatomy.t1 - float(anatomy.t1[brain > 0.5].mean()))  # myelin-like variation
    r2s *= texture.astype(np.float32)
    field_ut = dipole_field(chi, spacing, b0=b0, pad=24)
    del chi, texture
    background = gre_signal(pd, r2s, field_ut, te)
    decay_only = pd * np.exp(-r2s * np.float32(te))
    if extra.thin_fraction is not None:
        _mix_thin_veins(background, pd, r2s, extra, tissues["vein"], te)

    clean = background.copy()
    boxes, deltas = [], []
    for lesion in placed:
        t = tissues[lesion.kind]
        supersample = max(config.supersample, _TINY_SUPERSAMPLE) if lesion.extra.get("tiny") else config.supersample
        box, with_lesion, without = lesion_signal_patch(
            lesion, pd, r2s, field_ut, t.proton_density, t.r2star_30, b0, te, spacing, supersample
        )
        delta = with_lesion - without
        clean[box] += delta
        boxes.append(box)
        if features["cluster"]:
            deltas.append(delta)
    del pd, r2s, field_ut

    bias = bias_field(shape, rng, config.bias_amplitude)
    clean *= bias
    background *= bias
    clean *= np.float32(_INTENSITY_SCALE)
    background *= np.float32(_INTENSITY_SCALE)

    brain_mask = (brain >= 0.5).astype(np.uint8)
    mimic_label = np.zeros(shape, np.uint8)
    mimic_label[vein > _VEIN_MASK_FRACTION] = MIMIC_LABELS["vein"]
    for name, fraction, level in (
        ("thin_vein", extra.thin_fraction, _THIN_VEIN_MASK_FRACTION),
        ("flow_void", extra.flow_void, _FLOW_VOID_MASK_FRACTION),
        ("sulcal_csf", None if extra.cleft is None else extra.cleft * (anatomy.gm + anatomy.wm), _CLEFT_MASK_FRACTION),
        ("air_pocket", extra.air_pockets, _AIR_POCKET_MASK_FRACTION),
    ):
        if fraction is not None:
            mimic_label[(fraction > level) & (mimic_label == 0)] = MIMIC_LABELS[name]
    dropout = (np.abs(background) < _DROPOUT_FRACTION * decay_only * bias * _INTENSITY_SCALE) & (brain_mask > 0)
    mimic_label[dropout & (mimic_label == 0)] = MIMIC_LABELS["susceptibility_dropout"]
    extra_records, air_scale = extra.records, (extra.air_scale if features["air"] else None)
    del decay_only, dropout, extra

    mimic_base = mimic_label.copy() if features["cluster"] else mimic_label
    while True:
        cmb_label, lr_labels, masks = _lesion_labels(clean, background, placed, boxes, mimic_label, config)
        if not features["cluster"]:
            break
        cmb_index = [i for i, lesion in enumerate(placed) if lesion.kind == "cmb"]
        grids = [cmb_label] + [label for _, label in lr_labels.values()]
        drop = {cmb_index[i] for i in _merged_cluster_members([placed[i] for i in cmb_index], grids, masks)}
        if not drop:
            break
        logger.debug("seed %d: %d cluster CMBs whose labels merge with another CMB's are taken out", seed, len(drop))
        for i in sorted(drop):  # a cluster member whose label merges with another's is taken out again
            clean[boxes[i]] -= deltas[i] * bias[boxes[i]] * np.float32(_INTENSITY_SCALE)
        placed, boxes, deltas = (
            [item for i, item in enumerate(sequence) if i not in drop] for sequence in (placed, boxes, deltas)
        )
        mimic_label = mimic_base.copy()
    del bias
    wm_signal = float(np.abs(clean[anatomy.wm > 0.9]).mean())
    sigma = wm_signal / snr

    sigma_phase = (config.phase_filter_sigma / spacing,) * 2
    noisy = add_complex_noise(clean, sigma, rng)
    magnitude = np.abs(noisy)
    phase = highpass_phase(noisy, sigma_phase)
    del noisy

    lr = {}
    for factor in config.lr_factors:
        lr_clean, lr_label = lr_labels[factor]
        lr_noisy = add_complex_noise(lr_clean, sigma / np.sqrt(factor), rng)
        lr_magnitude = np.abs(lr_noisy)
        lr_phase = highpass_phase(lr_noisy, sigma_phase)
        lr[f"x{factor}"] = LRAcquisition(
            factor=factor,
            affine=thick_slice_affine(anatomy.affine, factor),
            magnitude=lr_magnitude,
            phase=lr_phase,
            swi=swi(lr_magnitude, lr_phase, config.swi_power),
            cmb_label=lr_label,
            brain_mask=(thick_slices(brain, factor) >= 0.5).astype(np.uint8),
            clean=lr_clean,
        )
    del lr_labels

    cmbs = [lesion for lesion in placed if lesion.kind == "cmb"]
    mimics = [lesion.record() for lesion in placed if lesion.kind != "cmb"]
    mimics += [
        {"type": "vein", "kind": v.kind, "radius_mm": round(v.radius, 3), "length_mm": round(len(v.points) * 0.5, 1)}
        for v in veins
    ]
    mimics += extra_records
    acquisition = {
        "seed": int(seed),
        "field_strength_t": b0,
        "echo_time_s": round(te, 5),
        "snr_wm": round(snr, 3),
        "noise_sigma": round(sigma, 5),
        "hr_spacing_mm": spacing,
        "lr_factors": list(config.lr_factors),
        "bias_amplitude": config.bias_amplitude,
        "head": head.params,
        "deformation": deformation,
        "tissues": {k: {"pd": t.proton_density, "r2star": t.r2star_30, "chi_ppm": t.susceptibility}
                    for k, t in tissues.items()},
    }  # fmt: skip
    if contrast_factors is not None:
        acquisition["contrast"] = {"mode": config.contrast_mode, "factors": contrast_factors}
    if air_scale is not None:
        acquisition["air_susceptibility_scale"] = round(air_scale, 4)
    return SyntheticSubject(
        affine=anatomy.affine,
        magnitude=magnitude,
        phase=phase,
        swi=swi(magnitude, phase, config.swi_power),
        cmb_label=cmb_label,
        mimic_label=mimic_label,
        brain_mask=brain_mask,
        lr=lr,
        lesions=cmbs,
        mimics=mimics,
        acquisition=acquisition,
        clean=clean,
        clean_without_lesions=background,
    )
