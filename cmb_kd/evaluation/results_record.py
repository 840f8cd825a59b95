"""The ``metrics.json`` record of an evaluation of trained runs: one entry per run, where and with what it was
evaluated, and an earlier record checked before its runs are merged in."""

from __future__ import annotations

import datetime
import json
import math
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cmb_kd.evaluation.cohort_evaluation import MODES, factor_label

__all__ = ["json_number", "load_merge", "provenance", "run_entry", "summary_of"]


def json_number(value: float) -> float | None:
    """``value``, or None for nan (JSON has no nan)."""
    return None if math.isnan(value) else value


def summary_of(by_factor: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """The pooled metrics per factor of a run's ``factors`` (or ``magnitude``) entry of a record, None read as nan.

    Args:
        by_factor: factor key to ``{"metrics": ..., "subjects": ...}``.

    Returns:
        Factor key to pooled metrics.
    """
    return {
        factor: {k: math.nan if v is None else float(v) for k, v in at["metrics"].items()}
        for factor, at in by_factor.items()
    }


def _git_commit() -> str | None:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and commit else None


def provenance() -> dict[str, Any]:
    """What a run is evaluated with: today's date (``evaluated``), ``cmb_kd_version`` and the git ``commit`` of
    the package (None outside a git checkout)."""
    from cmb_kd import __version__

    return {"evaluated": datetime.date.today().isoformat(), "cmb_kd_version": __version__, "commit": _git_commit()}


def _factors_entry(
    summaries: Mapping[str, Mapping[str, float]], subject_rows: Mapping[str, Sequence[Mapping[str, Any]]]
) -> dict[str, Any]:
    return {
        factor: {
            "metrics": {k: json_number(v) for k, v in summaries[factor].items()},
            "subjects": subject_rows[factor],
        }
        for factor in summaries
    }


def run_entry(
    name: str,
    *,
    weights: Path,
    wall_time: Mapping[str, float] | None,
    chosen: Mapping[str, Mapping[str, float]],
    sweeps: Mapping[str, Mapping[str, Mapping[float, Mapping[str, Mapping[str, float]]]]],
    summaries: Mapping[str, Mapping[str, Any]],
    subject_rows: Mapping[str, Mapping[str, Any]],
    evaluated_with: Mapping[str, Any],
) -> dict[str, Any]:
    """The record entry of run ``name``.

    Args:
        name: the run.
        weights: its final weights.
        wall_time: its training wall time (:func:`read_wall_time`).
        chosen: mode to run name to chosen threshold.
        sweeps: mode to run name to threshold to factor key to pooled metrics.
        summaries: mode to run name to factor key to pooled metrics at the chosen thresholds.
        subject_rows: mode to run name to factor key to the per-subject rows.
        evaluated_with: :func:`provenance`.

    Returns:
        The entry: weights, provenance, wall time, ``threshold`` (phase mode), ``magnitude_threshold``, every
        threshold's pooled metrics under ``thresholds``, and the metrics and subjects per factor under ``factors``
        (phase mode) and ``magnitude``.
    """
    return {
        "weights": str(weights),
        **evaluated_with,
        "wall_time": wall_time,
        "threshold": chosen["phase"][name],
        "magnitude_threshold": chosen["magnitude"][name],
        "thresholds": {
            mode: {
                f"{t:g}": {factor: {k: json_number(v) for k, v in m.items()} for factor, m in at.items()}
                for t, at in sweeps[mode][name].items()
            }
            for mode in MODES
        },
        "factors": _factors_entry(summaries["phase"][name], subject_rows["phase"][name]),
        "magnitude": _factors_entry(summaries["magnitude"][name], subject_rows["magnitude"][name]),
    }


def load_merge(
    path: Path,
    *,
    split: str,
    factors: Sequence[int],
    cohort: Mapping[str, Any],
    n_ref: Mapping[str, int],
    phase: bool,
) -> dict[str, Any]:
    """The earlier record ``path``, checked to be of the same evaluation as the one of now.

    Args:
        path: the earlier ``metrics.json``.
        split: the split evaluated now.
        factors: the factors evaluated now; the record must hold all of them.
        cohort: the cohort's identity (:func:`cohort_identity`).
        n_ref: factor key to the number of reference lesions counted now.
        phase: whether the phase images are used now.

    Returns:
        The record.

    Raises:
        ValueError: naming ``path`` and what differs from the evaluation of now.
    """
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"--merge: {path}: cannot read ({err}); expected a metrics.json of this script") from err
    if not isinstance(record, dict) or not isinstance(record.get("runs"), dict):
        raise ValueError(f"--merge: {path}: no 'runs'; expected a metrics.json of this script")
    expected = {"split": split, "cohort_identity": dict(cohort), "phase": phase}
    for key, value in expected.items():
        if record.get(key) != value:
            raise ValueError(f"--merge: {path}: {key} is {record.get(key)!r}, expected {value!r} as evaluated now")
    missing = [f for f in factors if f not in record.get("factors", [])]
    if missing:
        raise ValueError(f"--merge: {path}: factors {missing} were not evaluated there; expected all of {factors}")
    for factor, count in n_ref.items():
        if factor in record.get("n_ref", {}) and record["n_ref"][factor] != count:
            raise ValueError(
                f"--merge: {path}: {record['n_ref'][factor]} reference lesions at {factor_label(factor)}, expected "
                f"{count} as counted now (another cohort or labels)"
            )
    return record
