"""The probability threshold of each run and mode: a sweep of pooled metrics over thresholds, the one of best F1,
thresholds chosen in an earlier evaluation, and the per-subject counts at the thresholds chosen."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cmb_kd.evaluation.cohort_evaluation import HR, MODES, Rows
from cmb_kd.evaluation.results_tables import ABLATION_FACTOR
from cmb_kd.metrics import summarize_lesion_counts

__all__ = [
    "at_chosen_thresholds",
    "at_thresholds",
    "choose_threshold",
    "choose_thresholds",
    "judged_factors",
    "sweep",
    "thresholds_from",
]

Sweep = dict[float, dict[str, dict[str, float]]]
"""Threshold to factor key to pooled metrics."""


def at_thresholds(rows: Rows, phase_threshold: float, magnitude_threshold: float) -> list[Any]:
    """Each subject's counts at the threshold the pipeline uses on it.

    Args:
        rows: the rows of one run and factor.
        phase_threshold: the threshold of the subjects where the phase rule ran.
        magnitude_threshold: the threshold of the others.

    Returns:
        The :class:`LesionCounts` of each subject.
    """
    return [found[phase_threshold if rule else magnitude_threshold] for _, rule, found in rows]


def sweep(rows_by_factor: Mapping[str, Rows], grid: Sequence[float]) -> Sweep:
    """Pooled metrics of every subject at each threshold of ``grid``.

    Args:
        rows_by_factor: factor key to the rows of one run.
        grid: thresholds every row holds.

    Returns:
        Threshold to factor key to the pooled metrics of :func:`summarize_lesion_counts`.
    """
    return {
        t: {factor: summarize_lesion_counts(at_thresholds(rows, t, t)) for factor, rows in rows_by_factor.items()}
        for t in grid
    }


def choose_threshold(by_threshold: Mapping[float, Mapping[str, float]]) -> float:
    """The threshold of best pooled F1.

    Args:
        by_threshold: threshold to pooled metrics.

    Returns:
        The threshold of best ``f1``, the lowest one on ties, a threshold with undefined F1 (no lesion found, nan)
        counting as F1 0.
    """

    def f1(t: float) -> float:
        value = by_threshold[t]["f1"]
        return 0.0 if math.isnan(value) else value

    return max(sorted(by_threshold), key=f1)


def judged_factors(names: Sequence[str], factors: Sequence[int]) -> dict[str, str]:
    """The factor key at which each run's threshold is chosen.

    Args:
        names: the runs.
        factors: the thick-slice factors evaluated.

    Returns:
        Run name to ``"hr"`` for the teacher, else to the ablation's factor (×4) or, when it is not evaluated, the
        first factor.
    """
    selection = str(ABLATION_FACTOR) if ABLATION_FACTOR in factors else str(factors[0])
    return {name: HR if name == "teacher" else selection for name in names}


def choose_thresholds(
    counts: Mapping[str, Mapping[str, Mapping[str, Rows]]],
    thresholds: Mapping[str, Mapping[str, Sequence[float]]],
    judged_at: Mapping[str, str],
) -> tuple[dict[str, dict[str, Sweep]], dict[str, dict[str, float]]]:
    """Each run's threshold per mode: the one of best pooled F1 at its judged factor over the thresholds every
    subject has (a sweep), or the one given (a single threshold per mode).

    Args:
        counts: mode to run name to factor key to rows, as :func:`evaluate_cohort` returns them.
        thresholds: run name to mode to the thresholds evaluated.
        judged_at: run name to the factor key of its choice (:func:`judged_factors`).

    Returns:
        Mode to run name to its :func:`sweep`, and mode to run name to its chosen threshold.
    """
    sweeps: dict[str, dict[str, Sweep]] = {mode: {} for mode in MODES}
    chosen: dict[str, dict[str, float]] = {mode: {} for mode in MODES}
    for mode in MODES:
        for name, by_factor in counts[mode].items():
            common = set.intersection(*(set(found) for rows in by_factor.values() for _, _, found in rows))
            sweeps[mode][name] = sweep(by_factor, sorted(common))
            at_judged = {t: at[judged_at[name]] for t, at in sweeps[mode][name].items()}
            chosen[mode][name] = choose_threshold(at_judged) if at_judged else thresholds[name][mode][0]
    return sweeps, chosen


def at_chosen_thresholds(
    counts: Mapping[str, Mapping[str, Mapping[str, Rows]]], chosen: Mapping[str, Mapping[str, float]]
) -> tuple[dict[str, dict[str, dict[str, dict[str, float]]]], dict[str, dict[str, dict[str, list[dict[str, Any]]]]]]:
    """Pooled metrics and per-subject rows of every run at its chosen thresholds.

    Args:
        counts: mode to run name to factor key to rows, as :func:`evaluate_cohort` returns them.
        chosen: mode to run name to threshold, as :func:`choose_thresholds` returns them.

    Returns:
        Mode to run name to factor key to pooled metrics, and mode to run name to factor key to one dict per
        subject (``subject``, ``phase_rule`` and the fields of its :class:`LesionCounts`).
    """
    summaries: dict[str, dict[str, dict[str, dict[str, float]]]] = {mode: {} for mode in MODES}
    subject_rows: dict[str, dict[str, dict[str, list[dict[str, Any]]]]] = {mode: {} for mode in MODES}
    for mode in MODES:
        for name, by_factor in counts[mode].items():
            pair = (chosen["phase"][name], chosen["magnitude"][name])
            summaries[mode][name], subject_rows[mode][name] = {}, {}
            for factor, rows in by_factor.items():
                final = at_thresholds(rows, *pair)
                summaries[mode][name][factor] = summarize_lesion_counts(final)
                subject_rows[mode][name][factor] = [
                    {"subject": subject, "phase_rule": rule, **dataclasses.asdict(c)}
                    for (subject, rule, _), c in zip(rows, final)
                ]
    return summaries, subject_rows


def thresholds_from(path: Path, names: Sequence[str]) -> dict[str, dict[str, list[float]]]:
    """The thresholds chosen for each run in an earlier evaluation (e.g. on the validation split).

    Args:
        path: the ``metrics.json`` of that evaluation.
        names: the runs.

    Returns:
        Run name to mode to its one chosen threshold.

    Raises:
        ValueError: naming ``path`` when it cannot be read or holds no thresholds for a run.
    """
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(
            f"--thresholds-from: {path}: cannot read ({err}); expected a metrics.json of this script"
        ) from err
    runs = record.get("runs") if isinstance(record, dict) else None
    result = {}
    for name in names:
        entry = (runs or {}).get(name, {})
        chosen = {"phase": entry.get("threshold"), "magnitude": entry.get("magnitude_threshold")}
        if not all(isinstance(t, (int, float)) for t in chosen.values()):
            raise ValueError(f"--thresholds-from: {path}: no thresholds for run {name!r}; evaluate it there first")
        result[name] = {mode: [float(t)] for mode, t in chosen.items()}
    return result
