"""Lesion-level CMB detection metrics (TPR, PPV, FP_avg, F1) and voxel Dice, in three layers.

A pure function (:func:`compute_lesion_counts`) matches connected components of one subject; a cumulative
MONAI metric (:class:`LesionDetectionMetric`) pools subjects; a thin Ignite handler (:class:`LesionDetection`)
reports one value per epoch. :func:`evaluate_folders` evaluates NIfTI folders for ``cmb-kd evaluate``.
The counting rules are documented in ``docs/metrics.md``.
"""

from cmb_kd.metrics.evaluate import evaluate_folders
from cmb_kd.metrics.evaluation_result import EvaluationResult
from cmb_kd.metrics.lesion_counts import LesionCounts
from cmb_kd.metrics.lesion_detection_handler import LesionDetection
from cmb_kd.metrics.lesion_detection_metric import LesionDetectionMetric
from cmb_kd.metrics.lesion_matching import CONNECTIVITIES, compute_lesion_counts
from cmb_kd.metrics.lesion_size import equivalent_diameters, split_by_diameter
from cmb_kd.metrics.lesion_summary import SUMMARY_KEYS, summarize_lesion_counts
from cmb_kd.metrics.metrics_table import format_metrics_table
from cmb_kd.metrics.pairing import MODALITY_TOKENS, pair_prediction_files
from cmb_kd.metrics.subject_evaluation import SUBJECT_COLUMNS, SubjectEvaluation

__all__ = [
    "CONNECTIVITIES",
    "MODALITY_TOKENS",
    "SUBJECT_COLUMNS",
    "SUMMARY_KEYS",
    "EvaluationResult",
    "LesionCounts",
    "LesionDetection",
    "LesionDetectionMetric",
    "SubjectEvaluation",
    "compute_lesion_counts",
    "equivalent_diameters",
    "evaluate_folders",
    "format_metrics_table",
    "pair_prediction_files",
    "split_by_diameter",
    "summarize_lesion_counts",
]
