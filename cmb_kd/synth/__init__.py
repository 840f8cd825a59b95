"""Physics-based synthetic cohorts: the CMB cohort (anatomy, susceptibility and dipole field, GRE/SWI signal, lesions,
mimics) and the time-of-flight MRA cohort (arterial trees, inflow signal, vessel labels)."""

from cmb_kd.synth.acquisition import add_complex_noise, bias_field, thick_slice_affine, thick_slices
from cmb_kd.synth.air import draw_air_pockets
from cmb_kd.synth.anatomy import (
    BRAINSTEM_HALF_WIDTH,
    BRAINSTEM_Y,
    DEEP_NUCLEI,
    Anatomy,
    deform_template,
    grid_affine,
    load_template,
    template_to_grid,
)
from cmb_kd.synth.clefts import draw_sulcal_clefts
from cmb_kd.synth.config import CONTRAST_MODES, RANDOMISED, SynthConfig
from cmb_kd.synth.contrast import CONTRAST_TISSUES, SUSCEPTIBILITY_TISSUES, randomise_contrast
from cmb_kd.synth.dipole import dipole_field, dipole_kernel
from cmb_kd.synth.extra_mimics import ExtraMimics, draw_extra_mimics, mix_thin_veins, thin_vein_maps
from cmb_kd.synth.head import CLOSING_MM, HeadLayers, closed_distance, head_layers
from cmb_kd.synth.kspace import KSPACE_WINDOWS, apply_kspace_filter, kspace_filter, kspace_matrix, kspace_resample
from cmb_kd.synth.labels import lesion_labels, merged_cluster_members, visible_extent
from cmb_kd.synth.lesions import (
    Lesion,
    draw_calcifications,
    draw_cmb,
    draw_cmb_count,
    draw_cmbs,
    lesion_signal_patch,
    source_radius,
)
from cmb_kd.synth.mimic_map import MIMIC_LABELS, SUB_VOXEL_MIMICS, dropout_mask, mimic_label_map
from cmb_kd.synth.mra_anatomy import (
    BrainDistance,
    HeadPose,
    MRAAnatomy,
    brain_distance,
    draw_pose,
    mra_grid_affine,
    pose_template,
)
from cmb_kd.synth.mra_config import MRA_GRIDS, MRA_RANDOMISED, MRA_VALUE_TYPES, MRAConfig
from cmb_kd.synth.mra_preview import plot_mra_subject
from cmb_kd.synth.mra_signal import (
    TOF_TISSUES,
    TOFPhysics,
    acquire_tof,
    background_signal,
    blood_signal,
    draw_tof_physics,
    inflow_signals,
    tissue_signals,
)
from cmb_kd.synth.mra_subject import MRA_STREAMS, MRASubject, simulate_mra_subject
from cmb_kd.synth.mra_vessels import draw_growth, draw_vessel_tree, grid_paths, rasterise_tree, vessel_label
from cmb_kd.synth.mra_writer import MRA_FILES, write_mra_cohort, write_mra_subject
from cmb_kd.synth.placement import extent_separation, place_clusters, place_lesions, relocate_lesions, visible_radius
from cmb_kd.synth.presentation import orientation, reorient, store, strip_mask_hr, warp
from cmb_kd.synth.preview import plot_subject
from cmb_kd.synth.scan_geometry import ScanGeometry, render_mask, scan_geometry, weight_slices
from cmb_kd.synth.scanner import RenderedScan, render_scan
from cmb_kd.synth.scanner_config import INTENSITY_WARPS, PRESENTATIONS, SCANNER_PRESETS, STORAGE_DTYPES, ScannerConfig
from cmb_kd.synth.scanner_draw import ScannerDraw, draw_scanner
from cmb_kd.synth.shapes import ellipsoid_fraction
from cmb_kd.synth.signal import GAMMA_BAR, block_mean, gre_signal, highpass_phase, swi
from cmb_kd.synth.slice_profile import SLICE_PROFILES, slice_centres, slice_profile, slice_weights
from cmb_kd.synth.streams import FEATURE_STREAMS, feature_stream
from cmb_kd.synth.subject import LRAcquisition, SyntheticSubject, simulate_subject
from cmb_kd.synth.subject_lesions import draw_subject_lesions, randomise_lesions, region_candidates
from cmb_kd.synth.subject_signal import INTENSITY_SCALE, NoiseFreeSignals, noise_free_signals
from cmb_kd.synth.tissue import FLOW_VOID, TISSUES, Tissue, tissue_properties
from cmb_kd.synth.tissue_maps import property_maps, tissue_fractions
from cmb_kd.synth.tubes import rasterise_paths, rasterise_tube, segment_fraction, tube_fraction
from cmb_kd.synth.vessel_growth import GrowthParameters, grow_branches
from cmb_kd.synth.vessel_tree import VesselSegment, VesselTree, resample_path
from cmb_kd.synth.vessels import FLOW_VOID_PATHS, Vein, draw_flow_voids, draw_thin_veins, draw_veins
from cmb_kd.synth.willis import WILLIS_ARTERIES, circle_of_willis
from cmb_kd.synth.writer import (
    run_cohort,
    split_subjects,
    subject_seed,
    write_cohort,
    write_subject,
    write_subject_folder,
)

__all__ = [
    "acquire_tof",
    "add_complex_noise",
    "Anatomy",
    "apply_kspace_filter",
    "background_signal",
    "bias_field",
    "block_mean",
    "blood_signal",
    "brain_distance",
    "BrainDistance",
    "BRAINSTEM_HALF_WIDTH",
    "BRAINSTEM_Y",
    "circle_of_willis",
    "closed_distance",
    "CLOSING_MM",
    "CONTRAST_MODES",
    "CONTRAST_TISSUES",
    "DEEP_NUCLEI",
    "deform_template",
    "dipole_field",
    "dipole_kernel",
    "draw_air_pockets",
    "draw_calcifications",
    "draw_cmb",
    "draw_cmb_count",
    "draw_cmbs",
    "draw_extra_mimics",
    "draw_flow_voids",
    "draw_growth",
    "draw_pose",
    "draw_scanner",
    "draw_subject_lesions",
    "draw_sulcal_clefts",
    "draw_thin_veins",
    "draw_tof_physics",
    "draw_veins",
    "draw_vessel_tree",
    "dropout_mask",
    "ellipsoid_fraction",
    "extent_separation",
    "ExtraMimics",
    "feature_stream",
    "FEATURE_STREAMS",
    "FLOW_VOID",
    "FLOW_VOID_PATHS",
    "GAMMA_BAR",
    "gre_signal",
    "grid_affine",
    "grid_paths",
    "grow_branches",
    "GrowthParameters",
    "head_layers",
    "HeadLayers",
    "HeadPose",
    "highpass_phase",
    "inflow_signals",
    "INTENSITY_SCALE",
    "INTENSITY_WARPS",
    "kspace_filter",
    "kspace_matrix",
    "kspace_resample",
    "KSPACE_WINDOWS",
    "Lesion",
    "lesion_labels",
    "lesion_signal_patch",
    "load_template",
    "LRAcquisition",
    "merged_cluster_members",
    "mimic_label_map",
    "MIMIC_LABELS",
    "mix_thin_veins",
    "MRA_FILES",
    "mra_grid_affine",
    "MRA_GRIDS",
    "MRA_RANDOMISED",
    "MRA_STREAMS",
    "MRA_VALUE_TYPES",
    "MRAAnatomy",
    "MRAConfig",
    "MRASubject",
    "noise_free_signals",
    "NoiseFreeSignals",
    "orientation",
    "place_clusters",
    "place_lesions",
    "plot_mra_subject",
    "plot_subject",
    "pose_template",
    "PRESENTATIONS",
    "property_maps",
    "randomise_contrast",
    "randomise_lesions",
    "RANDOMISED",
    "rasterise_paths",
    "rasterise_tree",
    "rasterise_tube",
    "region_candidates",
    "relocate_lesions",
    "render_mask",
    "render_scan",
    "RenderedScan",
    "reorient",
    "resample_path",
    "run_cohort",
    "scan_geometry",
    "ScanGeometry",
    "SCANNER_PRESETS",
    "ScannerConfig",
    "ScannerDraw",
    "segment_fraction",
    "simulate_mra_subject",
    "simulate_subject",
    "slice_centres",
    "slice_profile",
    "SLICE_PROFILES",
    "slice_weights",
    "source_radius",
    "split_subjects",
    "STORAGE_DTYPES",
    "store",
    "strip_mask_hr",
    "SUB_VOXEL_MIMICS",
    "subject_seed",
    "SUSCEPTIBILITY_TISSUES",
    "swi",
    "SynthConfig",
    "SyntheticSubject",
    "template_to_grid",
    "thick_slice_affine",
    "thick_slices",
    "thin_vein_maps",
    "Tissue",
    "tissue_fractions",
    "tissue_properties",
    "tissue_signals",
    "TISSUES",
    "TOF_TISSUES",
    "TOFPhysics",
    "tube_fraction",
    "Vein",
    "vessel_label",
    "VesselSegment",
    "VesselTree",
    "visible_extent",
    "visible_radius",
    "warp",
    "weight_slices",
    "WILLIS_ARTERIES",
    "write_cohort",
    "write_mra_cohort",
    "write_mra_subject",
    "write_subject",
    "write_subject_folder",
]
