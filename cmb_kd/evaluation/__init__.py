"""Evaluation of trained runs on a cohort: the detector of :mod:`cmb_kd.inference` run on every scan of a split and
scored by :mod:`cmb_kd.metrics`, thresholds chosen, the results recorded and tabled; and the held-out shift domains
of the generalisation benchmark with their scores.

The top layer of the package: it may import every other subpackage, and none imports it."""

from cmb_kd.evaluation.cohort_evaluation import HR, MODES, Rows, bundle_thresholds, evaluate_cohort, factor_label
from cmb_kd.evaluation.cohort_split import cohort_entries, cohort_identity, load_reference, subject_of
from cmb_kd.evaluation.detection_tally import CENTROID_MM, SMALL_MM, Tally
from cmb_kd.evaluation.doc_markers import MARKERS, check_markers, marker, replace_between_markers, write_tables_into
from cmb_kd.evaluation.location_agreement import (
    FLAGS,
    MATCH_MM,
    MISSED,
    TRUE_CLASS,
    SubjectLocation,
    detected_location,
    locate_true_lesions,
    location_tables,
    true_lesions,
    truth_row,
)
from cmb_kd.evaluation.model_evaluation import ModelEvaluation, evaluate_models
from cmb_kd.evaluation.results_record import json_number, load_merge, provenance, run_entry, summary_of
from cmb_kd.evaluation.results_tables import (
    ABLATION_FACTOR,
    ABLATION_ROWS,
    MAIN_ROWS,
    METRICS,
    format_ablation_table,
    format_main_table,
    format_mean_sd,
    threshold_table,
)
from cmb_kd.evaluation.run_names import RUN_NAME, WEIGHTS, family_of, find_runs, seed_runs, weights_path
from cmb_kd.evaluation.run_networks import NETWORK_DEF_FILE, build_network, network_def_of
from cmb_kd.evaluation.shift_domains import (
    BENCH_SEED,
    DOMAINS,
    GRIDS,
    PHYSICS,
    VALIDATION_SEED,
    Domain,
    physics_config,
    prepare_scans,
    render_subject,
    save_nifti,
)
from cmb_kd.evaluation.threshold_choice import (
    at_chosen_thresholds,
    at_thresholds,
    choose_threshold,
    choose_thresholds,
    judged_factors,
    sweep,
    thresholds_from,
)
from cmb_kd.evaluation.wall_time import read_wall_time, wall_time_table

__all__ = [
    "ABLATION_FACTOR",
    "ABLATION_ROWS",
    "at_chosen_thresholds",
    "at_thresholds",
    "BENCH_SEED",
    "build_network",
    "bundle_thresholds",
    "CENTROID_MM",
    "check_markers",
    "choose_threshold",
    "choose_thresholds",
    "cohort_entries",
    "cohort_identity",
    "detected_location",
    "Domain",
    "DOMAINS",
    "evaluate_cohort",
    "evaluate_models",
    "factor_label",
    "family_of",
    "find_runs",
    "FLAGS",
    "format_ablation_table",
    "format_main_table",
    "format_mean_sd",
    "GRIDS",
    "HR",
    "json_number",
    "judged_factors",
    "load_merge",
    "load_reference",
    "locate_true_lesions",
    "location_tables",
    "MAIN_ROWS",
    "marker",
    "MARKERS",
    "MATCH_MM",
    "METRICS",
    "MISSED",
    "ModelEvaluation",
    "MODES",
    "NETWORK_DEF_FILE",
    "network_def_of",
    "PHYSICS",
    "physics_config",
    "prepare_scans",
    "provenance",
    "read_wall_time",
    "render_subject",
    "replace_between_markers",
    "Rows",
    "run_entry",
    "RUN_NAME",
    "save_nifti",
    "seed_runs",
    "SMALL_MM",
    "subject_of",
    "SubjectLocation",
    "summary_of",
    "sweep",
    "Tally",
    "threshold_table",
    "thresholds_from",
    "TRUE_CLASS",
    "true_lesions",
    "truth_row",
    "VALIDATION_SEED",
    "wall_time_table",
    "WEIGHTS",
    "weights_path",
    "write_tables_into",
]
