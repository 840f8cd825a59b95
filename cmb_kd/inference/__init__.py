"""Whole-volume inference building blocks: input discovery and loading, clean-up, lesion table, writers, report.

Input scans are found with :func:`find_inputs` (files, flat folders, VALDO-style folders; masks and labels skipped)
and loaded with :func:`load_scan`, which stops with one :class:`InputError` per problem. Stage 3 removes components
that cannot be CMBs with :class:`LesionCleanup` (rules in :class:`CleanupRules`); :func:`lesion_table` measures the
remaining lesions on the input grid; :class:`OutputWriter` writes the mask, the lesion table and the batch summary
atomically; :func:`write_report_png` draws a picture of the detections.
"""

from cmb_kd.inference.cleanup_rules import CLEANUP_RULES, PARAMAGNETIC_PHASE_SIGNS, CleanupRules
from cmb_kd.inference.component_decision import ComponentDecision
from cmb_kd.inference.inference_outcome import SUMMARY_COLUMNS, InferenceOutcome
from cmb_kd.inference.input_discovery import NON_IMAGE_TOKENS, find_inputs, is_image_name
from cmb_kd.inference.input_error import InputError
from cmb_kd.inference.lesion import LESION_COLUMNS, Lesion
from cmb_kd.inference.lesion_cleanup import LesionCleanup
from cmb_kd.inference.lesion_table import lesion_table
from cmb_kd.inference.output_error import OutputError
from cmb_kd.inference.output_writer import LESIONS_SUFFIX, REPORT_SUFFIX, SUMMARY_NAME, OutputWriter
from cmb_kd.inference.report_figure import write_report_png
from cmb_kd.inference.scan_loading import load_scan

__all__ = [
    "CLEANUP_RULES",
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
