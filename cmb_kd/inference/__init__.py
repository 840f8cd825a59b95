"""Whole-volume inference building blocks: input discovery and loading, clean-up, lesion table, writers, report.

Input scans are found with :func:`find_inputs` (files, flat folders, VALDO-style folders; masks and labels skipped)
and loaded with :func:`load_scan`, which stops with one :class:`InputError` per problem. Stage 3 removes components
that cannot be CMBs with :class:`LesionCleanup` (rules in :class:`CleanupRules`); :func:`lesion_table` measures the
remaining lesions on the input grid; :class:`OutputWriter` writes the mask, the lesion table and the batch summary
atomically; :func:`write_report_png` draws a picture of the detections.

The whole two-stage pipeline is :class:`CMBDetector` (built from a bundle with :meth:`CMBDetector.from_bundle`):
working grid, brain mask, standardisation (:class:`BrainStandardisation`), stage-1 candidates, stage-2 patch
segmentation (:class:`CandidatePatchInferer`), clean-up, giving a :class:`DetectionResult`.
:meth:`CMBDetector.prepare` stops after the candidates (a :class:`PreparedScan`) and :meth:`CMBDetector.segment`
finishes it with any segmentation network. :func:`run_inference` runs it over files and folders and writes every
output.
"""

from cmb_kd.inference.batch_inference import run_inference
from cmb_kd.inference.bundle_location import BUNDLE_ENV, BUNDLE_NAME, default_bundle_dir
from cmb_kd.inference.candidate_segmentation import PADDING_MODES, CandidatePatchInferer
from cmb_kd.inference.cleanup_rules import CLEANUP_RULES, PARAMAGNETIC_PHASE_SIGNS, CleanupRules
from cmb_kd.inference.component_decision import ComponentDecision
from cmb_kd.inference.detection_result import DetectionResult
from cmb_kd.inference.detector import INFERENCE_CONFIG, STAGES, CMBDetector
from cmb_kd.inference.dipole_fit import dipole_fit
from cmb_kd.inference.exit_on_failure import exit_on_failure
from cmb_kd.inference.inference_outcome import SUMMARY_COLUMNS, InferenceOutcome
from cmb_kd.inference.inference_run import InferenceRun
from cmb_kd.inference.input_discovery import NON_IMAGE_TOKENS, find_inputs, is_image_name
from cmb_kd.inference.input_error import InputError
from cmb_kd.inference.lesion import LESION_COLUMNS, Lesion
from cmb_kd.inference.lesion_cleanup import LesionCleanup
from cmb_kd.inference.lesion_table import lesion_table
from cmb_kd.inference.network_weights import load_network_weights
from cmb_kd.inference.output_error import OutputError
from cmb_kd.inference.output_writer import LESIONS_SUFFIX, REPORT_SUFFIX, SUMMARY_NAME, OutputWriter
from cmb_kd.inference.prepared_scan import PreparedScan
from cmb_kd.inference.report_figure import write_report_png
from cmb_kd.inference.scan_loading import load_scan
from cmb_kd.transforms.brain_standardisation import STANDARDISATION_METHODS, BrainStandardisation

__all__ = [
    "BUNDLE_ENV",
    "BUNDLE_NAME",
    "CLEANUP_RULES",
    "INFERENCE_CONFIG",
    "PADDING_MODES",
    "STAGES",
    "STANDARDISATION_METHODS",
    "BrainStandardisation",
    "CMBDetector",
    "CandidatePatchInferer",
    "DetectionResult",
    "PreparedScan",
    "InferenceRun",
    "default_bundle_dir",
    "dipole_fit",
    "exit_on_failure",
    "load_network_weights",
    "run_inference",
    "LESION_COLUMNS",
    "LESIONS_SUFFIX",
    "NON_IMAGE_TOKENS",
    "PARAMAGNETIC_PHASE_SIGNS",
    "REPORT_SUFFIX",
    "SUMMARY_COLUMNS",
    "SUMMARY_NAME",
    "CleanupRules",
    "ComponentDecision",
    "InferenceOutcome",
    "InputError",
    "Lesion",
    "LesionCleanup",
    "OutputError",
    "OutputWriter",
    "find_inputs",
    "is_image_name",
    "lesion_table",
    "load_scan",
    "write_report_png",
]
