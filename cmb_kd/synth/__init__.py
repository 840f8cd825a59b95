"""Physics-based synthetic CMB cohort: anatomy, susceptibility and dipole field, GRE/SWI signal, lesions, mimics."""

from cmb_kd.synth.acquisition import add_complex_noise, bias_field, thick_slice_affine, thick_slices
from cmb_kd.synth.config import SynthConfig
from cmb_kd.synth.dipole import dipole_field, dipole_kernel
from cmb_kd.synth.lesions import Lesion, draw_cmb_count, source_radius
from cmb_kd.synth.signal import block_mean, gre_signal, highpass_phase, swi
from cmb_kd.synth.subject import MIMIC_LABELS, LRAcquisition, SyntheticSubject, simulate_subject
from cmb_kd.synth.writer import split_subjects, subject_seed, write_cohort, write_subject

__all__ = [
    "SynthConfig",
    "simulate_subject",
    "SyntheticSubject",
    "write_cohort",
    "write_subject",
    "subject_seed",
    "split_subjects",
    "LRAcquisition",
    "MIMIC_LABELS",
    "Lesion",
    "draw_cmb_count",
    "source_radius",
    "dipole_kernel",
    "dipole_field",
    "gre_signal",
    "block_mean",
    "highpass_phase",
    "swi",
    "thick_slices",
    "thick_slice_affine",
    "bias_field",
    "add_complex_noise",
]
