"""Whole-volume inference building blocks: input discovery and loading, clean-up, lesion table, writers, report.

Input scans are found with :func:`find_inputs` (files, flat folders, VALDO-style folders; masks and labels skipped) and
loaded with :func:`load_scan`, which stops with one :class:`InputError` per problem. Stage 3 removes components that
cannot be CMBs with :class:`LesionCleanup` (rules in :class:`CleanupRules`); :func:`lesion_table` measures the remaining
lesions on the input grid; :class:`OutputWriter` writes a scan's mask, lesion table and report (the picture of
:func:`render_report_png` and the page of :func:`render_report_html`) as a unit and the batch summary, atomically;
:class:`OutputFolderLock` keeps a second run out of a folder being written.

Before detection, :func:`check_scan_plausibility` refuses images that cannot be a magnitude scan (masks, label maps,
no positive intensity) and returns warnings about doubtful ones (inverted contrast, signed intensities, slices
thicker than :data:`MAX_SLICE_MM`). :class:`PreMaskedBrain` recognises a scan that is already skull-stripped (a NaN
or exact-zero background around a brain), whose non-zero region is then its brain mask; :func:`find_brain_mask`
finds a scan's brain mask by name.

The whole two-stage pipeline is :class:`CMBDetector` (built from a bundle with :meth:`CMBDetector.from_bundle`):
working grid, brain mask, standardisation (:class:`cmb_kd.transforms.BrainStandardisation`), stage-1 candidates,
stage-2 patch segmentation (:class:`CandidatePatchInferer`), clean-up, giving a :class:`DetectionResult`.
:meth:`CMBDetector.prepare` stops after the candidates (a :class:`PreparedScan`) and :meth:`CMBDetector.segment`
finishes it with any segmentation network. :func:`run_inference` runs it over files and folders and writes every
output (:func:`batch_inputs` finds the inputs, :func:`infer_scans` runs the scans); under ``torchrun``,
:func:`run_distributed_inference` shares the scans among the processes (:class:`TorchrunRank`,
:func:`process_group`, :func:`shard_of`) and gathers their :class:`SummaryShardWriter` shards
(:func:`gather_summary`). With ``location=True`` (:meth:`DetectionResult.locate`,
:mod:`~cmb_kd.inference.location_output`) each lesion also gets its MARS region from :mod:`cmb_kd.location` and
each scan its burden.

:class:`CMBDetector` only orders and times the steps (:class:`StageTimer`, :data:`STAGES`); each step is its own
module: the scan's input forms (:func:`load_scan_input`), the brain's source (:func:`input_brain`,
:func:`working_brain`), the grids and the brain box (:func:`to_working_grid`, :func:`brain_box`,
:func:`probability_to_input_grid`), the threshold (:func:`scan_threshold`, :func:`threshold_probability`), the
clean-up's measurements (:func:`measure_components`) and the bundle's config (:func:`build_bundle_component`).

For the vessel bundle's MONAI inference run, :class:`ImageInputs` finds the input scans and :class:`SaveMIPd`
writes, beside each vessel mask, the maximum intensity projections of the image with the vessels drawn over them
(:func:`render_mip_picture`, :func:`write_mip_png`).
"""

from cmb_kd.inference.batch_inference import batch_inputs, infer_scans, run_inference
from cmb_kd.inference.batch_result import (
    SUMMARY_COLUMNS,
    WARNINGS_SEPARATOR,
    InferenceOutcome,
    InferenceRun,
    exit_on_failure,
)
from cmb_kd.inference.brain_source import BRAIN_SOURCES, InputBrain, input_brain, input_grid_brain, working_brain
from cmb_kd.inference.bundle import (
    BUNDLE_ENV,
    BUNDLE_NAME,
    INFERENCE_CONFIG,
    build_bundle_component,
    default_bundle_dir,
    inference_config_file,
)
from cmb_kd.inference.candidate_segmentation import INFERER_MODES, PADDING_MODES, CandidatePatchInferer
from cmb_kd.inference.cleanup_rules import CLEANUP_RULES, PARAMAGNETIC_PHASE_SIGNS, CleanupRules
from cmb_kd.inference.component_measures import ComponentMeasures, measure_components
from cmb_kd.inference.detection_result import DetectionResult, PreparedScan
from cmb_kd.inference.detection_threshold import as_threshold, scan_threshold, threshold_probability
from cmb_kd.inference.detection_transforms import (
    PRED,
    PROBABILITY,
    LesionCleanupd,
    ThresholdDetectionsd,
)
from cmb_kd.inference.detector import CMBDetector
from cmb_kd.inference.dipole_fit import dipole_fit, dipole_template
from cmb_kd.inference.distributed_inference import gather_summary, run_distributed_inference, shard_of
from cmb_kd.inference.grid_mapping import (
    DEFAULT_BOX_PATCH,
    box_affine,
    brain_box,
    from_box,
    from_box_volume,
    probability_to_input_grid,
    to_box,
    to_input_grid,
    to_working_grid,
)
from cmb_kd.inference.image_inputs import ImageInputs
from cmb_kd.inference.input_discovery import (
    BRAIN_MASK_TOKEN,
    BRAIN_MASKS_BESIDE,
    NON_IMAGE_TOKENS,
    brain_mask_of,
    brain_mask_source,
    brain_mask_stems,
    find_brain_mask,
    find_inputs,
    is_image_name,
    phase_beside,
)
from cmb_kd.inference.lesion_cleanup import ComponentDecision, LesionCleanup
from cmb_kd.inference.lesion_table import LESION_COLUMNS, Lesion, as_lesions, lesion_table
from cmb_kd.inference.location_output import (
    LOCATION_SUFFIX,
    LOCATION_SUMMARY_COLUMNS,
    lesion_columns,
    locate_lesions,
    located_or_warning,
    location_header_line,
    location_json_bytes,
    location_summary_row,
    with_location,
)
from cmb_kd.inference.mip_picture import MIP_OVERLAY_RGB, render_mip_picture, write_mip_png
from cmb_kd.inference.mip_writer import SaveMIPd
from cmb_kd.inference.output_lock import LOCK_NAME, OutputFolderLock
from cmb_kd.inference.output_writer import LESIONS_SUFFIX, REPORT_SUFFIX, SUMMARY_NAME, OutputWriter
from cmb_kd.inference.pre_masked_brain import PreMaskedBrain
from cmb_kd.inference.report_figure import radiological, render_report_png, write_report_png
from cmb_kd.inference.report_html import render_report_html, report_html
from cmb_kd.inference.report_text import FOOTER, HEADER_CHARACTERS, header_lines, wrap_header, zoom_caption
from cmb_kd.inference.scan_input import (
    PHASE_BESIDE,
    ScanInput,
    load_companion,
    load_image,
    load_scan_input,
    phase_beside_scan,
    plausibility_warnings,
    scan_data,
    source_name,
    without_nan,
)
from cmb_kd.inference.scan_pipeline import (
    STAGE_OF,
    collate_scans,
    find_transform,
    prepared_scan,
    run_stages,
    scan_postprocessing,
    scan_preprocessing,
    stage_of,
    without_io,
)
from cmb_kd.inference.scan_plausibility import MAX_SLICE_MM, TRAINED_MAX_SLICE_MM, check_scan_plausibility
from cmb_kd.inference.scan_transforms import (
    BRAIN,
    BRAIN_INPUT,
    BRAIN_MASK,
    BRAIN_WORKING,
    CANDIDATE_VOXELS,
    CANDIDATES,
    FINITE,
    IMAGE,
    META_BRAIN_SOURCE,
    META_WARNINGS,
    PHASE,
    SCREENING,
    BrainBoxd,
    CheckScand,
    InputBraind,
    InputGridBraind,
    ScreeningScored,
    StageCandidatesd,
)
from cmb_kd.inference.stage_timer import STAGES, StageTimer
from cmb_kd.inference.summary_shards import SHARDS_FOLDER, SummaryShardWriter, fold_shards, remove_shards, shard_rows
from cmb_kd.inference.torchrun_rank import (
    PROCESS_GROUP_TIMEOUT,
    TORCHRUN_VARIABLES,
    TorchrunRank,
    process_group,
    start_process_group,
)
from cmb_kd.io import InputError, OutputError, load_scan  # the file layer's, for users of this API
from cmb_kd.networks import load_network_weights  # what a bundle's inference.json loads its weights with

__all__ = [
    "collate_scans",
    "MIP_OVERLAY_RGB",
    "SaveMIPd",
    "ImageInputs",
    "render_mip_picture",
    "write_mip_png",
    "BRAIN",
    "BRAIN_INPUT",
    "BRAIN_MASK",
    "BRAIN_WORKING",
    "BrainBoxd",
    "CANDIDATES",
    "CANDIDATE_VOXELS",
    "CheckScand",
    "FINITE",
    "IMAGE",
    "InputBraind",
    "InputGridBraind",
    "META_BRAIN_SOURCE",
    "META_WARNINGS",
    "PHASE",
    "SCREENING",
    "ScreeningScored",
    "StageCandidatesd",
    "PRED",
    "PROBABILITY",
    "LesionCleanupd",
    "ThresholdDetectionsd",
    "STAGE_OF",
    "find_transform",
    "prepared_scan",
    "run_stages",
    "scan_postprocessing",
    "scan_preprocessing",
    "stage_of",
    "without_io",
    "INFERER_MODES",
    "scan_data",
    "BRAIN_MASK_TOKEN",
    "BRAIN_MASKS_BESIDE",
    "BRAIN_SOURCES",
    "BUNDLE_ENV",
    "BUNDLE_NAME",
    "CLEANUP_RULES",
    "INFERENCE_CONFIG",
    "MAX_SLICE_MM",
    "PADDING_MODES",
    "STAGES",
    "CMBDetector",
    "CandidatePatchInferer",
    "DetectionResult",
    "PreMaskedBrain",
    "PreparedScan",
    "InferenceRun",
    "default_bundle_dir",
    "dipole_fit",
    "exit_on_failure",
    "load_network_weights",
    "run_inference",
    "LESION_COLUMNS",
    "LESIONS_SUFFIX",
    "LOCK_NAME",
    "NON_IMAGE_TOKENS",
    "PARAMAGNETIC_PHASE_SIGNS",
    "REPORT_SUFFIX",
    "SUMMARY_COLUMNS",
    "SUMMARY_NAME",
    "TRAINED_MAX_SLICE_MM",
    "WARNINGS_SEPARATOR",
    "CleanupRules",
    "ComponentDecision",
    "InferenceOutcome",
    "InputError",
    "Lesion",
    "LesionCleanup",
    "OutputError",
    "OutputFolderLock",
    "OutputWriter",
    "brain_mask_stems",
    "check_scan_plausibility",
    "find_brain_mask",
    "find_inputs",
    "header_lines",
    "is_image_name",
    "lesion_table",
    "load_scan",
    "render_report_html",
    "render_report_png",
    "report_html",
    "wrap_header",
    "write_report_png",
    "zoom_caption",
    "DEFAULT_BOX_PATCH",
    "FOOTER",
    "HEADER_CHARACTERS",
    "PHASE_BESIDE",
    "ComponentMeasures",
    "InputBrain",
    "ScanInput",
    "StageTimer",
    "as_lesions",
    "as_threshold",
    "box_affine",
    "brain_box",
    "build_bundle_component",
    "dipole_template",
    "from_box",
    "from_box_volume",
    "inference_config_file",
    "input_brain",
    "input_grid_brain",
    "load_companion",
    "load_image",
    "load_scan_input",
    "measure_components",
    "phase_beside",
    "phase_beside_scan",
    "plausibility_warnings",
    "probability_to_input_grid",
    "radiological",
    "scan_threshold",
    "source_name",
    "threshold_probability",
    "to_box",
    "to_input_grid",
    "to_working_grid",
    "without_nan",
    "working_brain",
    "LOCATION_SUFFIX",
    "LOCATION_SUMMARY_COLUMNS",
    "lesion_columns",
    "locate_lesions",
    "located_or_warning",
    "location_header_line",
    "location_json_bytes",
    "location_summary_row",
    "with_location",
    "batch_inputs",
    "infer_scans",
    "brain_mask_of",
    "brain_mask_source",
    "gather_summary",
    "run_distributed_inference",
    "shard_of",
    "SHARDS_FOLDER",
    "SummaryShardWriter",
    "fold_shards",
    "remove_shards",
    "shard_rows",
    "PROCESS_GROUP_TIMEOUT",
    "TORCHRUN_VARIABLES",
    "TorchrunRank",
    "process_group",
    "start_process_group",
]
