"""Lesion-level CMB detection metrics (TPR, PPV, FP_avg, F1) and voxel Dice; vessel segmentation metrics (voxel
sensitivity, precision, Dice, centreline continuity and fragments); each in three layers.

A pure function (:func:`compute_lesion_counts`, :func:`compute_vessel_counts`) scores one subject; a cumulative
MONAI metric (:class:`LesionDetectionMetric`, :class:`VesselSegmentationMetric`) pools subjects; a thin Ignite
handler (:class:`LesionDetection`, :class:`VesselSegmentation`) reports one value per epoch.
:func:`evaluate_folders` evaluates NIfTI folders for ``cmb-kd evaluate``. The counting rules are documented in
``docs/metrics.md``.
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
from cmb_kd.metrics.pooled_counts_metric import PooledCountsMetric
from cmb_kd.metrics.skeleton import skeletonize
from cmb_kd.metrics.subject_evaluation import SUBJECT_COLUMNS, SubjectEvaluation
from cmb_kd.metrics.vessel_counts import VesselCounts
from cmb_kd.metrics.vessel_scoring import VESSEL_SUMMARY_KEYS, compute_vessel_counts, summarize_vessel_counts
from cmb_kd.metrics.vessel_segmentation_handler import VesselSegmentation
from cmb_kd.metrics.vessel_segmentation_metric import VesselSegmentationMetric

__all__ = [
    "PooledCountsMetric",
    "CONNECTIVITIES",
    "MODALITY_TOKENS",
    "SUBJECT_COLUMNS",
    "SUMMARY_KEYS",
    "VESSEL_SUMMARY_KEYS",
    "EvaluationResult",
    "LesionCounts",
    "LesionDetection",
    "LesionDetectionMetric",
    "SubjectEvaluation",
    "VesselCounts",
    "VesselSegmentation",
    "VesselSegmentationMetric",
    "compute_lesion_counts",
    "compute_vessel_counts",
    "equivalent_diameters",
    "evaluate_folders",
    "format_metrics_table",
    "pair_prediction_files",
    "skeletonize",
    "split_by_diameter",
    "summarize_lesion_counts",
    "summarize_vessel_counts",
]
