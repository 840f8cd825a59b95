"""One synthetic subject: anatomy, tissue physics, lesions and mimics, GRE acquisition at HR and thick slices.

:func:`simulate_subject` runs the steps in the order of their random draws: the scanner and tissue physics,
the anatomy, head and veins, the lesions (:mod:`~cmb_kd.synth.subject_lesions`), the mimics of randomised
physics (:mod:`~cmb_kd.synth.extra_mimics`), the noise-free signal with and without lesions
(:mod:`~cmb_kd.synth.subject_signal`), the labels (:mod:`~cmb_kd.synth.labels`, :mod:`~cmb_kd.synth.mimic_map`)
and the noisy acquisitions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from cmb_kd.synth.acquisition import add_complex_noise, thick_slice_affine, thick_slices
from cmb_kd.synth.anatomy import Anatomy, deform_template
from cmb_kd.synth.config import SynthConfig
from cmb_kd.synth.contrast import randomise_contrast
from cmb_kd.synth.extra_mimics import ExtraMimics, draw_extra_mimics
from cmb_kd.synth.head import HeadLayers, head_layers
from cmb_kd.synth.labels import lesion_labels, merged_cluster_members
from cmb_kd.synth.lesions import Lesion
from cmb_kd.synth.mimic_map import dropout_mask, mimic_label_map
from cmb_kd.synth.signal import highpass_phase, swi
from cmb_kd.synth.streams import feature_stream
from cmb_kd.synth.subject_lesions import draw_subject_lesions
from cmb_kd.synth.subject_signal import INTENSITY_SCALE, NoiseFreeSignals, noise_free_signals
from cmb_kd.synth.tissue import Tissue, tissue_properties
from cmb_kd.synth.vessels import Vein, draw_veins

__all__ = ["LRAcquisition", "SyntheticSubject", "simulate_subject"]

logger = logging.getLogger(__name__)


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
        mimic_label: uint8, see :data:`~cmb_kd.synth.mimic_map.MIMIC_LABELS`.
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


@dataclass
class _Physics:
    """The drawn field strength, echo time, white-matter SNR and tissue table of one subject."""

    b0: float
    te: float
    snr: float
    tissues: dict[str, Tissue]
    contrast_factors: dict | None


@dataclass
class _Head:
    """The anatomy, head layers and veins of one subject."""

    anatomy: Anatomy
    deformation: dict
    layers: HeadLayers
    inside_distance: np.ndarray
    vein: np.ndarray
    veins: list[Vein]


def _draw_physics(rng: np.random.Generator, config: SynthConfig, seed: int) -> _Physics:
    """Field strength, echo time, SNR and tissue table from the main stream; random contrast from its own."""
    b0 = float(rng.choice(config.field_strengths))
    te = float(rng.uniform(*config.echo_time_range))
    snr = float(rng.uniform(*config.snr_range))
    tissues = tissue_properties(b0, rng, config.tissue_jitter)
    contrast_factors = None
    if config.physics_randomised["contrast"]:
        tissues, contrast_factors = randomise_contrast(
            tissues, feature_stream(seed, "contrast"), config.pd_factor_range, config.r2star_factor_range,
            config.susceptibility_factor_range, config.contrast_independent,
        )  # fmt: skip
    return _Physics(b0, te, snr, tissues, contrast_factors)


def _draw_head(rng: np.random.Generator, config: SynthConfig) -> _Head:
    """The deformed template anatomy, the layers around the brain and the veins."""
    spacing, shape = float(config.spacing), tuple(int(n) for n in config.shape)
    anatomy, deformation = deform_template(
        shape, spacing, rng, config.rotation_degrees, config.scale_range, config.elastic_mm
    )
    layers = head_layers(anatomy.brain, spacing, rng)
    inside_distance = ndimage.distance_transform_edt(anatomy.brain >= 0.5, sampling=spacing).astype(np.float32)
    n_cortical = int(rng.integers(config.cortical_vein_count_range[0], config.cortical_vein_count_range[1] + 1))
    n_medullary = int(rng.integers(config.medullary_vein_count_range[0], config.medullary_vein_count_range[1] + 1))
    vein, veins = draw_veins(
        anatomy.brain, anatomy.wm, anatomy.csf, inside_distance, layers.outside_distance, spacing, rng,
        n_cortical, n_medullary, layers.params["csf_mm"],
    )  # fmt: skip
    return _Head(anatomy, deformation, layers, inside_distance, vein, veins)


def _mimic_map(head: _Head, extra: ExtraMimics, signals: NoiseFreeSignals, brain_mask: np.ndarray) -> np.ndarray:
    """The mimic map of the veins, the mimics of randomised physics and the susceptibility dropout."""
    anatomy = head.anatomy
    sub_voxel = {
        "thin_vein": extra.thin_fraction,
        "flow_void": extra.flow_void,
        "sulcal_csf": None if extra.cleft is None else extra.cleft * (anatomy.gm + anatomy.wm),
        "air_pocket": extra.air_pockets,
    }
    dropout = dropout_mask(signals.background, signals.decay_only, signals.bias, INTENSITY_SCALE, brain_mask)
    return mimic_label_map(head.vein, sub_voxel, dropout)


def _label_lesions(
    signals: NoiseFreeSignals, placed: list[Lesion], mimic_label: np.ndarray, config: SynthConfig, seed: int
) -> tuple[np.ndarray, dict[int, tuple[np.ndarray, np.ndarray]], list[Lesion], np.ndarray]:
    """Labels the lesions; with clusters on, takes out the cluster members whose labels merge with another's.

    A member taken out leaves the signal (``signals.clean`` is updated in place) and the labels are made
    again, until no label merges.

    Returns:
        ``(cmb_label, lr_labels, placed, mimic_label)``: as :func:`~cmb_kd.synth.labels.lesion_labels` gives
        them, the lesions kept, and the mimic map with the calcifications painted in.
    """
    cluster = config.physics_randomised["cluster"]
    mimic_base = mimic_label.copy() if cluster else mimic_label
    while True:
        cmb_label, lr_labels, masks = lesion_labels(
            signals.clean, signals.background, placed, signals.boxes, mimic_label, config.spacing, config.lr_factors,
            config.label_threshold,
        )  # fmt: skip
        if not cluster:
            break
        cmb_index = [i for i, lesion in enumerate(placed) if lesion.kind == "cmb"]
        grids = [cmb_label] + [label for _, label in lr_labels.values()]
        drop = {cmb_index[i] for i in merged_cluster_members([placed[i] for i in cmb_index], grids, masks)}
        if not drop:
            break
        logger.debug("seed %d: %d cluster CMBs whose labels merge with another CMB's are taken out", seed, len(drop))
        signals.take_out(drop)  # a cluster member whose label merges with another's is taken out again
        placed = [lesion for i, lesion in enumerate(placed) if i not in drop]
        mimic_label = mimic_base.copy()
    return cmb_label, lr_labels, placed, mimic_label


def _noisy(
    rng: np.random.Generator, clean: np.ndarray, sigma: float, config: SynthConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Magnitude and high-pass filtered phase of the signal under complex Gaussian noise of ``sigma``."""
    sigma_phase = (config.phase_filter_sigma / float(config.spacing),) * 2
    noisy = add_complex_noise(clean, sigma, rng)
    return np.abs(noisy), highpass_phase(noisy, sigma_phase)


def _thick_slice_acquisitions(
    rng: np.random.Generator,
    config: SynthConfig,
    lr_labels: dict[int, tuple[np.ndarray, np.ndarray]],
    sigma: float,
    anatomy: Anatomy,
) -> dict[str, LRAcquisition]:
    """The native thick-slice acquisitions, their noise drawn from the main stream in factor order.

    Averaging ``factor`` slices lowers the noise by the square root of the factor.
    """
    lr = {}
    for factor in config.lr_factors:
        lr_clean, lr_label = lr_labels[factor]
        lr_magnitude, lr_phase = _noisy(rng, lr_clean, sigma / np.sqrt(factor), config)
        lr[f"x{factor}"] = LRAcquisition(
            factor=factor,
            affine=thick_slice_affine(anatomy.affine, factor),
            magnitude=lr_magnitude,
            phase=lr_phase,
            swi=swi(lr_magnitude, lr_phase, config.swi_power),
            cmb_label=lr_label,
            brain_mask=(thick_slices(anatomy.brain, factor) >= 0.5).astype(np.uint8),
            clean=lr_clean,
        )
    return lr


def _mimic_records(placed: list[Lesion], veins: list[Vein], extra: ExtraMimics) -> list[dict]:
    """Records of the calcifications, the veins and the mimics of randomised physics, in that order."""
    mimics = [lesion.record() for lesion in placed if lesion.kind != "cmb"]
    mimics += [
        {"type": "vein", "kind": v.kind, "radius_mm": round(v.radius, 3), "length_mm": round(len(v.points) * 0.5, 1)}
        for v in veins
    ]
    return mimics + extra.records


def _acquisition_record(
    seed: int, config: SynthConfig, physics: _Physics, sigma: float, head: _Head, extra: ExtraMimics
) -> dict:
    """JSON-serialisable description of the drawn acquisition, head, deformation and tissue table."""
    acquisition = {
        "seed": int(seed),
        "field_strength_t": physics.b0,
        "echo_time_s": round(physics.te, 5),
        "snr_wm": round(physics.snr, 3),
        "noise_sigma": round(sigma, 5),
        "hr_spacing_mm": float(config.spacing),
        "lr_factors": list(config.lr_factors),
        "bias_amplitude": config.bias_amplitude,
        "head": head.layers.params,
        "deformation": head.deformation,
        "tissues": {k: {"pd": t.proton_density, "r2star": t.r2star_30, "chi_ppm": t.susceptibility}
                    for k, t in physics.tissues.items()},
    }  # fmt: skip
    if physics.contrast_factors is not None:
        acquisition["contrast"] = {"mode": config.contrast_mode, "factors": physics.contrast_factors}
    if config.physics_randomised["air"]:
        acquisition["air_susceptibility_scale"] = round(extra.air_scale, 4)
    return acquisition


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
    rng = np.random.default_rng(np.random.SeedSequence(int(seed)))
    physics = _draw_physics(rng, config, seed)
    head = _draw_head(rng, config)
    anatomy = head.anatomy
    placed = draw_subject_lesions(rng, config, seed, anatomy, head.inside_distance, head.vein, physics.b0, physics.te)
    extra = draw_extra_mimics(
        config, seed, anatomy, head.layers, head.inside_distance, head.deformation, placed, physics.tissues,
        physics.b0, physics.te,
    )  # fmt: skip
    signals = noise_free_signals(
        rng, config, anatomy, head.layers, head.vein, extra, placed, physics.tissues, physics.b0, physics.te
    )
    brain_mask = (anatomy.brain >= 0.5).astype(np.uint8)
    mimic_label = _mimic_map(head, extra, signals, brain_mask)
    cmb_label, lr_labels, placed, mimic_label = _label_lesions(signals, placed, mimic_label, config, seed)
    sigma = float(np.abs(signals.clean[anatomy.wm > 0.9]).mean()) / physics.snr
    magnitude, phase = _noisy(rng, signals.clean, sigma, config)
    lr = _thick_slice_acquisitions(rng, config, lr_labels, sigma, anatomy)
    return SyntheticSubject(
        affine=anatomy.affine,
        magnitude=magnitude,
        phase=phase,
        swi=swi(magnitude, phase, config.swi_power),
        cmb_label=cmb_label,
        mimic_label=mimic_label,
        brain_mask=brain_mask,
        lr=lr,
        lesions=[lesion for lesion in placed if lesion.kind == "cmb"],
        mimics=_mimic_records(placed, head.veins, extra),
        acquisition=_acquisition_record(seed, config, physics, sigma, head, extra),
        clean=signals.clean,
        clean_without_lesions=signals.background,
    )
