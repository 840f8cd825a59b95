"""The trained models of ``docs/results.md`` evaluated on a cohort's split, with the results tables.

Every run of ``cmb-kd train`` with final weights (:func:`find_runs`) segments the split's scans
(:func:`evaluate_cohort`). Lesions are matched and pooled over subjects by :mod:`cmb_kd.metrics` (overlap matching,
26-connectivity): TPR, PPV, FP_avg (false positives per subject), F1 and voxel Dice.

Two modes, from one segmentation of each scan: ``phase``, the pipeline as ``cmb-kd infer`` runs it on a scan with
its phase image beside it (the datalist's ``phase`` / ``phase_lr_xF``): the clean-up's phase-sign rule removes
calcifications where it runs (slices up to its 5 mm limit) and the detector's ``phase_threshold`` applies there, its
``threshold`` elsewhere; and ``magnitude``, the pipeline on the scan alone, at ``threshold`` everywhere. Each run
has one threshold per mode: the bundle's, the one of best pooled F1 at ×4 (the teacher: HR) among several
(:func:`choose_thresholds`), or the one chosen in an earlier evaluation (:func:`thresholds_from`).

The record ``OUT/metrics.json`` holds, per run, mode and factor (``"hr"`` for the teacher), the per-subject counts
and pooled metrics under ``factors`` for the phase mode and ``magnitude`` for the other; per factor the number of
subjects and reference lesions. An earlier record of the same evaluation (cohort, split, phase setting, reference
lesions, every factor) may be merged in: its runs not evaluated now are kept.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cmb_kd.evaluation.cohort_evaluation import MODES, bundle_thresholds, evaluate_cohort
from cmb_kd.evaluation.cohort_split import cohort_entries, cohort_identity
from cmb_kd.evaluation.doc_markers import check_markers
from cmb_kd.evaluation.results_record import load_merge, provenance, run_entry, summary_of
from cmb_kd.evaluation.results_tables import format_ablation_table, format_main_table, threshold_table
from cmb_kd.evaluation.run_names import find_runs
from cmb_kd.evaluation.run_networks import build_network, network_def_of
from cmb_kd.evaluation.threshold_choice import (
    at_chosen_thresholds,
    choose_thresholds,
    judged_factors,
    thresholds_from,
)
from cmb_kd.evaluation.wall_time import read_wall_time, wall_time_table
from cmb_kd.inference import CMBDetector
from cmb_kd.io import write_bytes_atomic

__all__ = ["ModelEvaluation", "evaluate_models"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelEvaluation:
    """What :func:`evaluate_models` computed and wrote.

    Attributes:
        record: the content of ``metrics.json``.
        tables: the Markdown tables by marker name (``table``, ``magnitude``, ``ablation``, ``walltime``).
        threshold_tables: mode to the table of pooled F1 per threshold of each run evaluated now.
        metrics_path: the ``metrics.json`` written.
    """

    record: dict[str, Any]
    tables: dict[str, str]
    threshold_tables: dict[str, str]
    metrics_path: Path


def _check_options(
    factors: Sequence[int],
    thresholds: Sequence[float] | None,
    thresholds_file: Path | None,
    merge: Path | None,
) -> None:
    if thresholds is not None and thresholds_file is not None:
        raise ValueError("--thresholds and --thresholds-from: expected one of them, not both")
    if merge is not None and not merge.is_file():
        raise ValueError(f"--merge: {merge}: file not found; expected a metrics.json of this script")
    if thresholds is not None and not (thresholds and all(0.0 < t < 1.0 for t in thresholds)):
        raise ValueError(f"--thresholds: expected probabilities in (0, 1), got {list(thresholds)}")
    if not factors or any(f < 2 for f in factors):
        raise ValueError(f"--factors: expected thick-slice factors >= 2, got {list(factors)}")


def _runs(runs_dir: Path, models: Sequence[str] | None) -> dict[str, Path]:
    if not runs_dir.is_dir():
        raise ValueError(f"--runs: {runs_dir}: folder not found; expected the runs of cmb-kd train")
    runs = find_runs(runs_dir, models)
    if not runs:
        raise ValueError(
            f"--runs: {runs_dir}: no run with final weights found; expected e.g. plkd-s0/models/model.pt or "
            "teacher/models/teacher/model.pt (train them with cmb-kd train)"
        )
    return runs


def _networks_and_detector(
    runs: Mapping[str, Path], runs_dir: Path, bundle: Path, device: str, screening: bool
) -> tuple[dict[str, Any], Any, Path | None]:
    """Every run's network, the bundle's detector set up with the first run's network, and the screening FCN's
    weights when it joins stage 1."""
    screening_path = runs_dir / "screening" / "models" / "screening" / "model.pt"
    if screening and not screening_path.is_file():
        raise ValueError(f"--screening: {screening_path}: not found; expected the weights of the 'screening' run")
    try:
        networks = {name: build_network(network_def_of(name, runs_dir, bundle), path) for name, path in runs.items()}
        first = next(iter(runs))
        overrides: dict[str, Any] = {
            "network_def": network_def_of(first, runs_dir, bundle),
            "model_path": str(runs[first]),
            "use_screening": screening,
            "screening_path": str(screening_path),
        }
        detector = CMBDetector.from_bundle(bundle, device, overrides=overrides)
    except FileNotFoundError as err:
        raise ValueError(str(err)) from err
    return networks, detector, screening_path if screening else None


def _thresholds(
    names: Sequence[str], detector: Any, thresholds: Sequence[float] | None, thresholds_file: Path | None
) -> dict[str, dict[str, list[float]]]:
    """Run name to mode to the thresholds to evaluate: those chosen earlier, the grid given, or the bundle's."""
    if thresholds_file is not None:
        return thresholds_from(thresholds_file, names)
    if thresholds is not None:
        grid = sorted(set(thresholds))
        return {name: {mode: grid for mode in MODES} for name in names}
    return {name: bundle_thresholds(detector) for name in names}


def _score(
    counts: Mapping[str, Any],
    per_run: Mapping[str, Mapping[str, Sequence[float]]],
    runs: Mapping[str, Path],
    runs_dir: Path,
    factors: Sequence[int],
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, str]]:
    """Each run at its chosen thresholds: its record entry, the pooled metrics (mode to run name to factor key to
    metrics) and, per mode, the table of F1 per threshold."""
    judged_at = judged_factors(list(runs), factors)
    sweeps, chosen = choose_thresholds(counts, per_run, judged_at)
    summaries, subject_rows = at_chosen_thresholds(counts, chosen)
    scored = {"chosen": chosen, "sweeps": sweeps, "summaries": summaries, "subject_rows": subject_rows}
    evaluated_with = provenance()
    entries = {
        name: run_entry(
            name, weights=path, wall_time=read_wall_time(runs_dir, name), evaluated_with=evaluated_with, **scored
        )
        for name, path in runs.items()
    }
    return entries, summaries, {mode: threshold_table(sweeps[mode], chosen[mode], judged_at) for mode in MODES}


def _merge_earlier(
    merge: Path, entries_now: Mapping[str, Any], summaries: dict[str, dict[str, Any]], counts: dict[str, Any], **same
) -> dict[str, Any]:
    """The runs of the earlier record ``merge`` not evaluated now; their summaries join ``summaries`` and the
    numbers of subjects and lesions of their factors join ``counts`` (``n_subjects``, ``n_ref``)."""
    earlier = load_merge(merge, n_ref=counts["n_ref"], **same)
    kept = {name: entry for name, entry in earlier["runs"].items() if name not in entries_now}
    if kept:  # the factor keys of the kept runs (e.g. the teacher's HR) count their subjects and lesions too
        for key in ("n_subjects", "n_ref"):
            counts[key] = {**earlier.get(key, {}), **counts[key]}
        for name, entry in kept.items():
            summaries["phase"][name] = summary_of(entry["factors"])
            summaries["magnitude"][name] = summary_of(entry["magnitude"])
        logger.info("kept %d run(s) evaluated earlier from %s: %s", len(kept), merge, sorted(kept))
    return kept


def _tables(
    summaries: Mapping[str, Any], factors: Sequence[int], split: str, counts: Mapping[str, Any], runs: Mapping
) -> dict[str, str]:
    """The tables by marker name; ``runs``: run name to record entry."""
    n_subjects, n_ref = counts["n_subjects"], counts["n_ref"]
    return {
        "table": format_main_table(summaries["phase"], factors, split=split, n_subjects=n_subjects, n_ref=n_ref),
        "magnitude": format_main_table(
            summaries["magnitude"], factors, split=split, n_subjects=n_subjects, n_ref=n_ref
        ),
        "ablation": format_ablation_table(summaries["phase"], factors),
        "walltime": wall_time_table({name: entry.get("wall_time") for name, entry in runs.items()}),
    }


def _write_record(out: Path, record: Mapping[str, Any]) -> Path:
    """Writes ``record`` to ``out/metrics.json`` (the folder created if absent); its path."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "metrics.json"
    write_bytes_atomic(path, (json.dumps(record, indent=1, allow_nan=False) + "\n").encode("utf-8"))
    return path


def evaluate_models(
    cohort: Path,
    runs_dir: Path,
    out: Path,
    *,
    bundle: Path,
    split: str = "test",
    factors: Sequence[int] = (2, 4, 8),
    models: Sequence[str] | None = None,
    device: str = "cpu",
    screening: bool = False,
    phase: bool = True,
    thresholds: Sequence[float] | None = None,
    thresholds_file: Path | None = None,
    merge: Path | None = None,
    docs: Sequence[Path] = (),
) -> ModelEvaluation:
    """Evaluates the trained runs on a cohort's split and writes ``out/metrics.json``.

    Args:
        cohort: the cohort folder written by ``cmb-kd synth``.
        runs_dir: the folder of the runs of ``cmb-kd train``.
        out: the folder of ``metrics.json`` (created if absent).
        bundle: the bundle whose ``configs/inference.json`` builds the detector.
        split: the datalist list to evaluate.
        factors: the thick-slice factors (at least one, each >= 2; repeats are dropped).
        models: the runs to evaluate; default every run with final weights.
        device: ``cpu`` or ``cuda``.
        screening: add the screening FCN (``RUNS/screening/models/screening/model.pt``) to stage 1.
        phase: give the phase images to the clean-up.
        thresholds: probability thresholds to evaluate (at least one); each run's one of best pooled F1 is chosen.
        thresholds_file: the ``metrics.json`` of an earlier evaluation whose chosen thresholds are used.
        merge: the ``metrics.json`` of an earlier evaluation whose runs not evaluated now are kept.
        docs: Markdown files whose results markers will be replaced; checked here, before any work.

    Returns:
        The :class:`ModelEvaluation`.

    Raises:
        ValueError: naming the option, file or run that is wrong, or the scan that cannot be evaluated.
    """
    _check_options(factors, thresholds, thresholds_file, merge)
    factors = list(dict.fromkeys(factors))
    entries = cohort_entries(cohort, split, factors)
    runs = _runs(runs_dir, models)
    check_markers(docs)
    networks, detector, screening_path = _networks_and_detector(runs, runs_dir, bundle, device, screening)
    logger.info(
        "%d subject(s) of %s (%s), factors %s, runs %s, screening: %s",
        len(entries), cohort, split, factors, list(runs), screening_path or "none",
    )  # fmt: skip
    per_run = _thresholds(list(runs), detector, thresholds, thresholds_file)
    counts, n_ref_rows = evaluate_cohort(cohort, entries, factors, detector, networks, per_run, phase=phase)
    entries_now, summaries, threshold_tables = _score(counts, per_run, runs, runs_dir, factors)
    totals = {
        "n_subjects": {factor: len(rows) for factor, rows in n_ref_rows.items()},
        "n_ref": {factor: sum(rows) for factor, rows in n_ref_rows.items()},
    }
    identity = cohort_identity(cohort)
    same = {"split": split, "factors": factors, "cohort": identity, "phase": phase}
    kept = {} if merge is None else _merge_earlier(merge, entries_now, summaries, totals, **same)
    record = {
        "cohort": str(cohort),
        "cohort_identity": identity,
        "split": split,
        "factors": factors,
        "bundle": str(bundle),
        "screening": None if screening_path is None else str(screening_path),
        "phase": phase,
        "matching": {"connectivity": 26, "max_distance_mm": None},
        **totals,
        "runs": dict(sorted({**kept, **entries_now}.items())),
    }
    return ModelEvaluation(
        record=record,
        tables=_tables(summaries, factors, split, totals, record["runs"]),
        threshold_tables=threshold_tables,
        metrics_path=_write_record(out, record),
    )
