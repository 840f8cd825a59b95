"""Every run's network on every scan of a cohort split, its lesions counted at each of its thresholds in both
clean-up modes.

For every subject and thick-slice factor F, the native scan ``image_lr_xF`` goes once through the
network-independent part of the detector (:meth:`CMBDetector.prepare`); then every student-type run segments that
prepared scan (:meth:`CMBDetector.segment`) and its mask, on the scan's own grid, is compared with ``label_lr_xF``.
The ``teacher`` run segments the HR ``image`` against ``label`` once per subject (factor key ``"hr"``).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cmb_kd.evaluation.cohort_split import load_reference, subject_of
from cmb_kd.io import InputError
from cmb_kd.metrics import compute_lesion_counts

__all__ = ["HR", "MODES", "Rows", "bundle_thresholds", "evaluate_cohort", "factor_label"]

logger = logging.getLogger(__name__)

HR = "hr"
"""Factor key of the teacher's evaluation on the HR scans."""
MODES = ("phase", "magnitude")
"""How a scan is cleaned up: ``phase`` as the pipeline does with the phase image beside it (the phase-sign rule where
it runs, at the run's ``phase`` threshold), ``magnitude`` as without it (at the run's ``magnitude`` threshold)."""

Rows = list[tuple[str, bool, dict[float, Any]]]
"""Per subject of one run and factor: ``(subject, phase rule ran, {threshold: LesionCounts})``."""


def factor_label(factor: str) -> str:
    """``HR`` for the factor key :data:`HR`, else ``×F``."""
    return "HR" if factor == HR else f"×{factor}"


def bundle_thresholds(detector: Any) -> dict[str, list[float]]:
    """The detector's own threshold of each mode.

    Args:
        detector: a :class:`CMBDetector`.

    Returns:
        ``phase``: its ``phase_threshold`` (``threshold`` when it has none); ``magnitude``: its ``threshold``.
    """
    phase = detector.threshold if detector.phase_threshold is None else detector.phase_threshold
    return {"phase": [phase], "magnitude": [detector.threshold]}


def _jobs(networks: Mapping[str, Any], factors: Sequence[int]) -> list[tuple[str, str, list[str]]]:
    """``(factor key, datalist key suffix, runs)`` of each scan of a subject: the teacher on HR, the others on ×F."""
    students = [name for name in networks if name != "teacher"]
    jobs = [(HR, "", ["teacher"])] if "teacher" in networks else []
    if students:
        jobs += [(str(f), f"_lr_x{f}", students) for f in factors]
    return jobs


def _prepare(
    cohort: Path, entry: Mapping[str, Any], suffix: str, detector: Any, phase: bool
) -> tuple[Any, Any, bool, Any]:
    """The prepared scan of ``entry`` (with its phase when given), the same without phase, whether the phase rule
    runs on it, and its reference label."""
    scan, label_key, phase_key = cohort / entry[f"image{suffix}"], f"label{suffix}", f"phase{suffix}"
    phase_map = cohort / entry[phase_key] if phase and phase_key in entry else None
    try:
        prepared = detector.prepare(scan, phase=phase_map)
    except (InputError, ValueError) as err:
        raise ValueError(f"{scan}: {err}") from err
    rule = detector.phase_rule_applies(prepared)
    label = load_reference(cohort / entry[label_key], prepared.input_shape, prepared.input_affine)
    return prepared, dataclasses.replace(prepared, phase=None), rule, label


def _count(detector: Any, prepared: Any, probability: Any, label: Any, thresholds: Sequence[float]) -> dict[float, Any]:
    return {t: compute_lesion_counts(detector.detections(prepared, probability, t), label) for t in thresholds}


def _counts_text(with_phase: Mapping[float, Any]) -> str:
    at_t = {t: f" at {t:g}" if len(with_phase) > 1 else "" for t in with_phase}
    return ", ".join(f"{c.tp} TP {c.fp} FP {c.fn} FN{at_t[t]}" for t, c in with_phase.items())


def evaluate_cohort(
    cohort: Path,
    entries: Sequence[Mapping[str, Any]],
    factors: Sequence[int],
    detector: Any,
    networks: Mapping[str, Any],
    thresholds: Mapping[str, Mapping[str, Sequence[float]]] | None = None,
    *,
    phase: bool = True,
) -> tuple[dict[str, dict[str, dict[str, Rows]]], dict[str, list[int]]]:
    """Runs every network on every scan of ``entries``: one :meth:`CMBDetector.prepare` per scan, one
    :meth:`CMBDetector.segment` per network, and its probability map thresholded and cleaned up at each threshold
    of the run (:meth:`CMBDetector.detections`), in both :data:`MODES`. Logs one line per scan.

    Args:
        cohort: the cohort folder (the datalist's paths are relative to it).
        entries: the datalist entries to evaluate.
        factors: the thick-slice factors; every network but the teacher runs on ``image_lr_xF``.
        detector: the :class:`CMBDetector` that prepares the scans.
        networks: run name to its network; ``"teacher"`` runs on the HR ``image``.
        thresholds: run name to mode to its probability thresholds (default for every run:
            :func:`bundle_thresholds`). A scan on which the phase-sign rule does not run (no phase image, slices too
            thick) takes the ``magnitude`` thresholds in both modes, as the pipeline does.
        phase: give each scan's high-pass phase (``phase``, ``phase_lr_xF``) to the clean-up when the entry has one.

    Returns:
        Mode to run name to factor key (``"hr"`` for the teacher) to :data:`Rows`, and factor key to the number of
        reference lesions of each subject.

    Raises:
        ValueError: naming the scan that cannot be read or segmented, or whose reference is on another grid.
    """
    default = bundle_thresholds(detector)
    thresholds = {name: {mode: list((thresholds or {}).get(name, {}).get(mode) or default[mode]) for mode in MODES}
                  for name in networks}  # fmt: skip
    counts: dict[str, dict[str, dict[str, Rows]]] = {mode: {name: {} for name in networks} for mode in MODES}
    n_ref: dict[str, list[int]] = {}
    jobs = _jobs(networks, factors)
    for number, entry in enumerate(entries, start=1):
        subject = subject_of(entry)
        for factor, suffix, names in jobs:
            start = time.perf_counter()
            prepared, without_phase, rule, label = _prepare(cohort, entry, suffix, detector, phase)
            n_ref.setdefault(factor, []).append(compute_lesion_counts(label, label).n_ref)
            line = f"[{number}/{len(entries)}] {subject} {factor_label(factor)}: {len(prepared.candidates)} candidates"
            line += ", phase rule" if rule else ""
            for name in names:
                probability = detector.segment(prepared, network=networks[name]).probability
                magnitude = _count(detector, without_phase, probability, label, thresholds[name]["magnitude"])
                with_phase = magnitude
                if rule:
                    with_phase = _count(detector, prepared, probability, label, thresholds[name]["phase"])
                counts["phase"][name].setdefault(factor, []).append((subject, rule, with_phase))
                counts["magnitude"][name].setdefault(factor, []).append((subject, False, magnitude))
                line += f"; {name} " + _counts_text(with_phase)
            logger.info("%s (%.0f s)", line, time.perf_counter() - start)
    return counts, n_ref
