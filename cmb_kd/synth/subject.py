"""One synthetic subject: anatomy, tissue physics, lesions and mimics, GRE acquisition at HR and thick slices."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from cmb_kd.synth.acquisition import add_complex_noise, bias_field, thick_slice_affine, thick_slices
from cmb_kd.synth.anatomy import deform_template
from cmb_kd.synth.config import SynthConfig
from cmb_kd.synth.dipole import dipole_field
from cmb_kd.synth.head import head_layers
from cmb_kd.synth.labels import visible_extent
from cmb_kd.synth.lesions import Lesion, draw_calcifications, draw_cmbs, lesion_signal_patch
from cmb_kd.synth.placement import place_lesions
from cmb_kd.synth.signal import gre_signal, highpass_phase, swi
from cmb_kd.synth.tissue import TISSUES, tissue_properties
from cmb_kd.synth.vessels import draw_veins

__all__ = ["LRAcquisition", "SyntheticSubject", "simulate_subject", "MIMIC_LABELS"]

#: Values of the mimic label map.
MIMIC_LABELS = {"vein": 1, "calcification": 2, "susceptibility_dropout": 3}
#: Vein fraction above which a voxel is marked as vein in the mimic map.
_VEIN_MASK_FRACTION = 0.3
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


def _region_candidates(anatomy, inside_distance: np.ndarray, vein: np.ndarray) -> dict[str, np.ndarray]:
    deep_tissue = anatomy.brain > 0.5
    clear = deep_tissue & (inside_distance >= 4.0) & (ndimage.maximum_filter(vein, size=5) < 0.05)
    deep = anatomy.deep_region > 0.5
    infra = anatomy.infratentorial > 0.5
    junction = (anatomy.gm > 0.25) & (anatomy.gm < 0.75) & (anatomy.wm > 0.2)
    ventricles = (anatomy.csf > 0.6) & (inside_distance > 12.0)
    return {
        "lobar": np.argwhere(clear & junction & ~deep & ~infra),
        "deep": np.argwhere(clear & deep),
        "infratentorial": np.argwhere(clear & infra & (anatomy.gm + anatomy.wm > 0.5)),
        "basal_ganglia": np.argwhere(clear & deep),
        "choroid_plexus": np.argwhere(ventricles),
    }


def _lr_centre(centre: np.ndarray, factor: int) -> np.ndarray:
    return np.array([centre[0], centre[1], (centre[2] - (factor - 1) / 2.0) / factor])


def _lr_box(box: tuple[slice, slice, slice], factor: int, depth: int) -> tuple[slice, slice, slice]:
    z = box[2]
    return box[0], box[1], slice(z.start // factor, min(-(-z.stop // factor), depth))


def _paint(label: np.ndarray, box, mask: np.ndarray, value: int) -> None:
    label[box][mask] = value


def simulate_subject(config: SynthConfig | None = None, seed: int = 0) -> SyntheticSubject:
    """Simulates one subject; the same ``(config, seed)`` reproduces it bit for bit.

    Args:
        config: cohort settings (default :class:`SynthConfig()`).
        seed: subject seed.

    Returns:
        The simulated subject.
    """
    config = config or SynthConfig()
    rng = np.random.default_rng(np.random.SeedSequence(int(seed)))
    spacing, shape = float(config.spacing), tuple(int(n) for n in config.shape)
    b0 = float(rng.choice(config.field_strengths))
    te = float(rng.uniform(*config.echo_time_range))
    snr = float(rng.uniform(*config.snr_range))
    tissues = tissue_properties(b0, rng, config.tissue_jitter)

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

    # tissue fractions (sum to 1 in every voxel; air takes the rest)
    sinus = anatomy.air * (head.outside_distance > 2.0)
    keep = (1.0 - sinus) * (1.0 - vein)
    fractions = {
        "csf": (anatomy.csf + head.csf_rim * (1.0 - sinus)) * (1.0 - vein),
        "gm": anatomy.gm * (1.0 - anatomy.deep_region) * (1.0 - vein),
        "deep_gm": anatomy.gm * anatomy.deep_region * (1.0 - vein),
        "wm": anatomy.wm * (1.0 - vein),
        "skull": head.skull * keep,
        "scalp": head.scalp * keep,
        "vein": vein,
    }
    pd = np.zeros(shape, np.float32)
    r2s = np.zeros(shape, np.float32)
    chi = np.zeros(shape, np.float32)  # referenced to air (air = 0), so the padding of the FFT is air too
    chi_air = TISSUES["air"].susceptibility
    for name, frac in fractions.items():
        t = tissues[name]
        pd += frac * np.float32(t.proton_density)
        r2s += frac * np.float32(t.r2star_30)
        chi += frac * np.float32(t.susceptibility - chi_air)
    del fractions, keep
    brain = anatomy.brain
    texture = 1.0 + 0.15 * brain * (anatomy.t1 - float(anatomy.t1[brain > 0.5].mean()))  # myelin-like variation
    r2s *= texture.astype(np.float32)
    field_ut = dipole_field(chi, spacing, b0=b0, pad=24)
    del chi, texture
    background = gre_signal(pd, r2s, field_ut, te)
    decay_only = pd * np.exp(-r2s * np.float32(te))

    # lesions
    candidates = _region_candidates(anatomy, inside_distance, vein)
    cmbs = draw_cmbs(rng, config, b0, te)
    calcifications = draw_calcifications(rng, config)
    placed = place_lesions(
        cmbs + calcifications, candidates, anatomy.affine, shape, spacing, config.cmb_min_separation, rng
    )
    clean = background.copy()
    boxes = []
    for lesion in placed:
        t = tissues[lesion.kind]
        box, with_lesion, without = lesion_signal_patch(
            lesion, pd, r2s, field_ut, t.proton_density, t.r2star_30, b0, te, spacing, config.supersample
        )
        clean[box] += with_lesion - without
        boxes.append(box)
    del pd, r2s, field_ut

    bias = bias_field(shape, rng, config.bias_amplitude)
    clean *= bias
    background *= bias
    clean *= np.float32(_INTENSITY_SCALE)
    background *= np.float32(_INTENSITY_SCALE)
    wm_signal = float(np.abs(clean[anatomy.wm > 0.9]).mean())
    sigma = wm_signal / snr

    brain_mask = (brain >= 0.5).astype(np.uint8)
    cmb_label = np.zeros(shape, np.uint8)
    mimic_label = np.zeros(shape, np.uint8)
    mimic_label[vein > _VEIN_MASK_FRACTION] = MIMIC_LABELS["vein"]
    dropout = (np.abs(background) < _DROPOUT_FRACTION * decay_only * bias * _INTENSITY_SCALE) & (brain_mask > 0)
    mimic_label[dropout & (mimic_label == 0)] = MIMIC_LABELS["susceptibility_dropout"]
    del decay_only, dropout
    ratio = np.abs(clean) / np.maximum(np.abs(background), 1e-6)
    for lesion, box in zip(placed, boxes, strict=True):
        mask, visible = visible_extent(ratio, lesion.centre, box, config.label_threshold)
        lesion.extra["visible_hr"] = visible
        if lesion.kind == "cmb":
            _paint(cmb_label, box, mask, 1)
            lesion.visible_diameter = float((6.0 * mask.sum() * spacing**3 / np.pi) ** (1.0 / 3.0))
        else:
            _paint(mimic_label, box, mask, MIMIC_LABELS["calcification"])
    del ratio

    sigma_phase = (config.phase_filter_sigma / spacing,) * 2
    noisy = add_complex_noise(clean, sigma, rng)
    magnitude = np.abs(noisy)
    phase = highpass_phase(noisy, sigma_phase)
    del noisy

    lr = {}
    for factor in config.lr_factors:
        lr_clean = thick_slices(clean, factor)
        lr_ratio = np.abs(lr_clean) / np.maximum(np.abs(thick_slices(background, factor)), 1e-6)
        lr_label = np.zeros(lr_clean.shape, np.uint8)
        for lesion, box in zip(placed, boxes, strict=True):
            if lesion.kind != "cmb":
                continue
            lbox = _lr_box(box, factor, lr_clean.shape[2])
            mask, visible = visible_extent(lr_ratio, _lr_centre(lesion.centre, factor), lbox, config.label_threshold)
            lesion.extra[f"visible_lr-x{factor}"] = visible
            _paint(lr_label, lbox, mask, 1)
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

    cmbs = [lesion for lesion in placed if lesion.kind == "cmb"]
    mimics = [lesion.record() for lesion in placed if lesion.kind != "cmb"]
    mimics += [
        {"type": "vein", "kind": v.kind, "radius_mm": round(v.radius, 3), "length_mm": round(len(v.points) * 0.5, 1)}
        for v in veins
    ]
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
