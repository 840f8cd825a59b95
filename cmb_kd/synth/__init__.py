"""Physics-based synthetic CMB cohort: anatomy, susceptibility and dipole field, GRE/SWI signal, lesions, mimics."""

from cmb_kd.synth.acquisition import add_complex_noise, bias_field, thick_slice_affine, thick_slices
from cmb_kd.synth.air import draw_air_pockets
from cmb_kd.synth.anatomy import template_to_grid
from cmb_kd.synth.clefts import draw_sulcal_clefts
from cmb_kd.synth.config import CONTRAST_MODES, RANDOMISED, SynthConfig
from cmb_kd.synth.contrast import randomise_contrast
from cmb_kd.synth.dipole import dipole_field, dipole_kernel
from cmb_kd.synth.kspace import KSPACE_WINDOWS, apply_kspace_filter, kspace_filter, kspace_matrix, kspace_resample
from cmb_kd.synth.lesions import Lesion, draw_cmb, draw_cmb_count, source_radius
from cmb_kd.synth.mimic_map import MIMIC_LABELS
from cmb_kd.synth.placement import extent_separation, place_clusters, relocate_lesions
from cmb_kd.synth.scanner import RenderedScan, render_scan
from cmb_kd.synth.scanner_config import (
    INTENSITY_WARPS,
    PRESENTATIONS,
    SCANNER_PRESETS,
    STORAGE_DTYPES,
    ScannerConfig,
)
from cmb_kd.synth.scanner_draw import ScannerDraw, draw_scanner
from cmb_kd.synth.shapes import ellipsoid_fraction
from cmb_kd.synth.signal import block_mean, gre_signal, highpass_phase, swi
from cmb_kd.synth.slice_profile import SLICE_PROFILES, slice_centres, slice_profile, slice_weights
from cmb_kd.synth.subject import LRAcquisition, SyntheticSubject, simulate_subject
from cmb_kd.synth.tubes import segment_fraction
from cmb_kd.synth.vessels import FLOW_VOID_PATHS, draw_flow_voids, draw_thin_veins
from cmb_kd.synth.writer import split_subjects, subject_seed, write_cohort, write_subject

__all__ = [
    "SynthConfig",
    "RANDOMISED",
    "CONTRAST_MODES",
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
    "draw_cmb",
    "relocate_lesions",
    "place_clusters",
    "extent_separation",
    "randomise_contrast",
    "draw_thin_veins",
    "draw_flow_voids",
    "FLOW_VOID_PATHS",
    "segment_fraction",
    "draw_sulcal_clefts",
    "draw_air_pockets",
    "ellipsoid_fraction",
    "template_to_grid",
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
    "ScannerConfig",
    "SCANNER_PRESETS",
    "PRESENTATIONS",
    "INTENSITY_WARPS",
    "STORAGE_DTYPES",
    "ScannerDraw",
    "draw_scanner",
    "RenderedScan",
    "render_scan",
    "SLICE_PROFILES",
    "slice_profile",
    "slice_centres",
    "slice_weights",
    "KSPACE_WINDOWS",
    "kspace_matrix",
    "kspace_filter",
    "kspace_resample",
    "apply_kspace_filter",
]
