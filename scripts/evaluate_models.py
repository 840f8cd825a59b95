"""Evaluates the trained models of docs/results.md on a cohort's test scans and writes the results tables.

For every test subject and thick-slice factor F, the native scan ``image_lr_xF`` goes once through the network-
independent part of the bundle's detector (:meth:`CMBDetector.prepare`: working grid, skull stripping,
standardisation, candidates; with ``--screening`` also the FCN of ``RUNS/screening/models/screening.pt``); then every
student-type run (``plkd-sN``, ``nokd-sN``, ``direct-sN``, ``dynunet-sN``, ``ablation-2d|3d|hybrid[-sN]``) segments that
prepared scan (:meth:`CMBDetector.segment`) and its mask, on the scan's own grid, is compared with ``label_lr_xF``.
The ``teacher`` run segments the HR ``image`` against ``label`` once per subject (an upper bound, shown in every
factor column). Lesions are matched and pooled over subjects by :mod:`cmb_kd.metrics` (overlap matching,
26-connectivity): TPR, PPV, FP_avg (false positives per subject), F1 and voxel Dice.

Two modes, from one segmentation of each scan: ``phase``, the pipeline as ``cmb-kd infer`` runs it on a scan with
its phase image beside it (the datalist's ``phase`` / ``phase_lr_xF``): the clean-up's phase-sign rule removes
calcifications where it runs (slices up to its 5 mm limit) and the detector's ``phase_threshold`` applies there, its
``threshold`` elsewhere; and ``magnitude``, the pipeline on the scan alone, at ``threshold`` everywhere. Each run
has one threshold per mode. ``--no-phase`` leaves the phase images out (both modes are then the magnitude one).

A run is included when its final weights exist (``teacher/models/teacher.pt``, ``dynunet-sN/models/dynunet.pt``,
``<name>/models/model.pt`` otherwise; see ``scripts/train_models.py``). Its network is the bundle's: the
``network_def`` of ``configs/inference.json`` (E²U-Net), of ``configs/dynunet.json`` for ``dynunet-sN``, and the
E²U-Net without FCM and with ``conv_mode`` 2d/3d/hybrid for ``ablation-*``. A run folder holding
``network_def.json`` (a MONAI config dict with ``_target_``) uses that instead, for runs trained with another
architecture or width.

Writes ``OUT/metrics.json`` (per run, mode and factor, ``"hr"`` for the teacher: per-subject counts and pooled
metrics under ``factors`` for the phase mode and ``magnitude`` for the other; per factor: number of subjects and
reference lesions) and prints three Markdown tables: the main table (rows Teacher, PLKD, Direct KD, No-KD, DynUNet;
for students the mean ± sd over the seeds present), the same without the phase images, and the ×4 ablation table
(the paper's Table 4). ``--write-docs`` replaces, in each given file, the text between the markers
``<!-- results:NAME:start -->`` and ``<!-- results:NAME:end -->`` for NAME ``table`` (main), ``magnitude`` (without
the phase), ``ablation`` and ``walltime`` (training wall time per run from ``RUNS/<name>/wall_time.json``).

Thresholds: by default every run is thresholded at the bundle's ``phase_threshold`` and ``threshold``.
``--thresholds T ...`` evaluates each run at every ``T`` (stage 2 runs once, the map is thresholded and cleaned up
again) and picks per run and mode the one of best pooled F1 at ×4 (the teacher: HR); the tables show the runs at
their chosen thresholds, metrics.json records all, and a table of F1 per threshold and mode is printed. Choose on
the validation split, then evaluate the test split with ``--thresholds-from VAL_OUT/metrics.json`` (each run at the
thresholds chosen there), never choosing on test.

Runs evaluated earlier: ``--merge METRICS_JSON`` keeps in the new metrics.json and in the tables every run of that
earlier record that is not evaluated now, so that the tables can grow run by run (a run trained later is evaluated
alone and joins the others) without training every model again. The earlier record must be of the same cohort
(datalist seed and number of subjects), split, phase setting and reference lesions, and hold every factor evaluated
now. Each run
keeps the date, package version and git commit it was evaluated with, and its training wall time.

Usage: python scripts/evaluate_models.py --cohort data/cohort [--runs runs/models] [--split test] [--factors 2 4 8]
           [--models plkd-s0 teacher ...] [--bundle PATH] [--device cpu] [--out results] [--screening]
           [--thresholds T ... | --thresholds-from METRICS_JSON] [--merge METRICS_JSON]
           [--write-docs docs/results.md ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

BUNDLE = Path(__file__).resolve().parents[1] / "bundles" / "cmb_lr_mri_segmentation"
HR = "hr"
"""Factor key of the teacher's evaluation on the HR scans."""
METRICS: tuple[tuple[str, str, bool], ...] = (
    ("tpr", "TPR (%)", True),
    ("ppv", "PPV (%)", True),
    ("fp_avg", "FP_avg", False),
    ("f1", "F1 (%)", True),
    ("dice", "Dice (%)", True),
)
"""Table columns: metric key of :func:`summarize_lesion_counts`, header, shown in percent."""
MAIN_ROWS: tuple[tuple[str, str], ...] = (
    ("teacher", "Teacher on HR (upper bound)"),
    ("plkd", "PLKD student (E²U-Net)"),
    ("direct", "Direct KD student"),
    ("nokd", "No-KD student"),
    ("dynunet", "DynUNet (nnU-Net), no KD"),
)
"""Rows of the main table: run family, label."""
ABLATION_FACTOR = 4
ABLATION_ROWS: tuple[tuple[str, str], ...] = (
    ("ablation-2d", "2D"),
    ("ablation-3d", "3D"),
    ("ablation-hybrid", "2D+3D"),
    ("nokd", "+FCM"),
    ("direct", "+KD"),
    ("plkd", "+PLKD"),
)
"""Rows of the ablation table (paper's Table 4) at ×4: run family (``ablation-MODE`` for the ablation runs), label."""
MARKERS = ("table", "magnitude", "ablation", "walltime")
"""Names of the marker pairs ``<!-- results:NAME:start -->`` / ``<!-- results:NAME:end -->`` of --write-docs."""
RUN_NAME = re.compile(
    r"^(?:(?P<family>plkd|nokd|direct|dynunet)-s(?P<seed>\d+)|ablation-(?P<mode>2d|3d|hybrid)(?:-s(?P<aseed>\d+))?"
    r"|teacher)$"
)
WEIGHTS = {"teacher": "teacher.pt", "dynunet": "dynunet.pt"}
"""Final weights file of a run family under ``RUNS/<name>/models/``; ``model.pt`` for the others."""
NETWORK_DEF_FILE = "network_def.json"


def family_of(name: str) -> str | None:
    """The family of run ``name`` (``teacher``, ``plkd``, ``nokd``, ``direct``, ``dynunet``, ``ablation``), or None."""
    match = RUN_NAME.match(name)
    if match is None:
        return None
    if match["family"]:
        return match["family"]
    return "ablation" if match["mode"] else "teacher"


def weights_path(runs: Path, name: str) -> Path:
    """Where the final weights of run ``name`` are."""
    return runs / name / "models" / WEIGHTS.get(family_of(name) or "", "model.pt")


def find_runs(runs: Path, names: Sequence[str] | None = None) -> dict[str, Path]:
    """The evaluable runs under ``runs`` (name to weights), sorted by name.

    Args:
        runs: the folder of the runs.
        names: the runs to take (each must exist); default every folder with a known name and final weights.

    Raises:
        ValueError: naming a run of ``names`` that is unknown or has no final weights.
    """
    if names is None:
        found = (p.name for p in runs.iterdir() if p.is_dir() and family_of(p.name) is not None)
        return {name: weights_path(runs, name) for name in sorted(found) if weights_path(runs, name).is_file()}
    result = {}
    for name in names:
        if family_of(name) is None:
            raise ValueError(
                f"--models: unknown run {name!r}; expected teacher, plkd-sN, nokd-sN, direct-sN, dynunet-sN or "
                "ablation-2d|3d|hybrid[-sN]"
            )
        path = weights_path(runs, name)
        if not path.is_file():
            raise ValueError(f"--models: {path}: final weights of run {name!r} not found")
        result[name] = path
    return dict(sorted(result.items()))


def network_def_of(name: str, runs: Path, bundle: Path) -> dict[str, Any]:
    """The MONAI config dict of run ``name``'s network: ``RUNS/<name>/network_def.json``, else the bundle's."""
    from monai.bundle import ConfigParser

    own = runs / name / NETWORK_DEF_FILE
    if own.is_file():
        network_def = json.loads(own.read_text())
        if not isinstance(network_def, dict) or "_target_" not in network_def:
            raise ValueError(f"{own}: expected a config dict with '_target_', got {network_def!r}")
        return network_def
    family = family_of(name)
    config = "dynunet.json" if family == "dynunet" else "inference.json"
    network_def = dict(ConfigParser.load_config_file(str(bundle / "configs" / config))["network_def"])
    if family == "ablation":
        network_def.update(fcm=False, conv_mode=RUN_NAME.match(name)["mode"])
    return network_def


def build_network(network_def: Mapping[str, Any], weights: Path) -> Any:
    """Instantiates ``network_def`` and loads ``weights`` into it (eval mode, CPU)."""
    from monai.bundle import ConfigParser

    from cmb_kd.inference import load_network_weights

    network = ConfigParser({"network_def": dict(network_def)}).get_parsed_content("network_def")
    return load_network_weights(network, weights)


def format_mean_sd(values: Sequence[float], *, percent: bool) -> str:
    """``mean ± sd`` of per-seed values (sample sd), one decimal in percent or two otherwise.

    One value is shown alone; ``n/a`` when there is none or any is undefined (nan: no reference lesion or no
    prediction for that seed).
    """
    if not values or any(math.isnan(v) for v in values):
        return "n/a"
    scale, digits = (100.0, 1) if percent else (1.0, 2)
    mean = statistics.fmean(values) * scale
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(values) * scale:.{digits}f}"


def seed_runs(family: str, names: Sequence[str]) -> list[str]:
    """The runs of ``family`` among ``names``, in seed order: ``{family}-sN``, or for ``ablation-MODE`` the runs
    ``ablation-MODE`` (seed 0) and ``ablation-MODE-sN``."""
    seeds = []
    for name in names:
        match = RUN_NAME.match(name)
        if match and match["family"] == family:
            seeds.append((int(match["seed"]), name))
        elif match and match["mode"] and family == f"ablation-{match['mode']}":
            seeds.append((int(match["aseed"] or 0), name))
    return [name for _, name in sorted(seeds)]


def _factor_label(factor: str) -> str:
    return "HR" if factor == HR else f"×{factor}"


def _cells(summaries: Mapping[str, Mapping[str, Mapping[str, float]]], runs: Sequence[str], factor: str) -> list[str]:
    return [format_mean_sd([summaries[r][factor][key] for r in runs], percent=pc) for key, _, pc in METRICS]


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _cohort_line(split: str, n_subjects: Mapping[str, int], n_ref: Mapping[str, int]) -> str:
    parts = [
        f"{_factor_label(f)}: {_plural(n_subjects[f], 'subject')}, {_plural(n_ref[f], 'reference lesion')}"
        for f in n_subjects
    ]
    return f"Split `{split}`; " + "; ".join(parts) + "."


def format_main_table(
    summaries: Mapping[str, Mapping[str, Mapping[str, float]]],
    factors: Sequence[int],
    *,
    split: str,
    n_subjects: Mapping[str, int],
    n_ref: Mapping[str, int],
) -> str:
    """The main results table in Markdown (the PLKD paper's format).

    Args:
        summaries: run name to factor key (``"4"``, or ``"hr"`` for the teacher) to the pooled metrics of
            :func:`summarize_lesion_counts`.
        factors: the column groups, in order.
        split: the datalist list evaluated, for the line under the table.
        n_subjects: factor key to the number of subjects.
        n_ref: factor key to the number of reference lesions.

    Returns:
        The table, a line with the cohort and, when some rows have no run, a line listing them.
    """
    header = ["Method"] + [f"×{f} {title}" for f in factors for _, title, _ in METRICS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    missing = []
    for family, label in MAIN_ROWS:
        if family == "teacher":
            runs, keys, name = (["teacher"] if "teacher" in summaries else []), [HR] * len(factors), "teacher"
        else:
            runs, keys, name = seed_runs(family, list(summaries)), [str(f) for f in factors], f"{family}-sN"
        if not runs:
            missing.append(f"{label} (`{name}`)")
            continue
        if family != "teacher":
            label += f" ({_plural(len(runs), 'seed')})"
        lines.append("| " + " | ".join([label] + [c for key in keys for c in _cells(summaries, runs, key)]) + " |")
    lines += ["", _cohort_line(split, n_subjects, n_ref)]
    lines.append(
        "Students: mean ± sd over the seeds; the teacher segments the HR scans (same value in every column); "
        "TPR, PPV, F1 and Dice in percent, FP_avg in false positives per subject."
    )
    if missing:
        lines.append("Not shown (no evaluated run): " + ", ".join(missing) + ".")
    return "\n".join(lines)


def format_ablation_table(summaries: Mapping[str, Mapping[str, Mapping[str, float]]], factors: Sequence[int]) -> str:
    """The ×4 ablation table in Markdown (the paper's Table 4): one row per family of ``ABLATION_ROWS``, the mean ±
    sd over its seeds."""
    if ABLATION_FACTOR not in factors:
        return f"Not evaluated: the ablation is at ×{ABLATION_FACTOR}, not among the factors {list(factors)}."
    header = ["Model"] + [title for _, title, _ in METRICS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    missing = []
    for family, label in ABLATION_ROWS:
        runs = seed_runs(family, list(summaries))
        if runs:
            label += f" ({_plural(len(runs), 'seed')})"
            lines.append("| " + " | ".join([label] + _cells(summaries, runs, str(ABLATION_FACTOR))) + " |")
        else:
            names = f"`{family}`, `{family}-sN`" if family.startswith("ablation-") else f"`{family}-sN`"
            missing.append(f"{label} ({names})")
    lines += [
        "",
        f"×{ABLATION_FACTOR} thick slices, mean ± sd over the seeds of each row (+FCM, +KD and +PLKD are the no-KD, "
        "direct-KD and PLKD students of the main table); no FCM in the 2D, 3D and 2D+3D rows.",
    ]
    if missing:
        lines.append("Not shown (no evaluated run): " + ", ".join(missing) + ".")
    return "\n".join(lines)


def read_wall_time(runs_dir: Path, name: str) -> dict[str, float] | None:
    """The training wall time of run ``name`` from ``RUNS/<name>/wall_time.json`` (seconds and number of
    invocations), or None for a run trained elsewhere."""
    path = runs_dir / name / "wall_time.json"
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    return {"seconds": float(record["seconds"]), "invocations": len(record["invocations"])}


def wall_time_table(wall_times: Mapping[str, Mapping[str, float] | None]) -> str:
    """Markdown table of the training wall time per run (``wall_times``: run name to :func:`read_wall_time`).

    Runs without a record (trained elsewhere) are listed as "not recorded".
    """
    lines = ["| Run | Wall time (min) | Invocations (resumed runs count each start) |", "|---|---|---|"]
    for name, record in wall_times.items():
        if record is None:
            lines.append(f"| {name} | not recorded | |")
            continue
        lines.append(f"| {name} | {record['seconds'] / 60:.1f} | {int(record['invocations'])} |")
    return "\n".join(lines)


def marker(name: str, end: str) -> str:
    """The Markdown comment ``<!-- results:NAME:start -->`` (``end`` is ``"start"`` or ``"end"``)."""
    return f"<!-- results:{name}:{end} -->"


def replace_between_markers(text: str, name: str, content: str, *, source: str | os.PathLike) -> str:
    """``text`` with what lies between the ``name`` markers replaced by ``content`` (markers kept).

    Raises:
        ValueError: naming ``source`` when a marker is missing, repeated, or the end comes before the start.
    """
    start, end = marker(name, "start"), marker(name, "end")
    for tag in (start, end):
        if text.count(tag) != 1:
            found = "missing" if tag not in text else f"found {text.count(tag)} times"
            raise ValueError(f"{source}: marker {tag} {found}; expected it exactly once")
    head, rest = text.split(start)
    if end not in rest:
        raise ValueError(f"{source}: marker {end} comes before {start}")
    tail = rest.split(end)[1]
    return f"{head}{start}\n{content.strip()}\n{end}{tail}"


def write_atomic(path: Path, text: str) -> None:
    """Writes ``text`` (UTF-8) through a temporary file beside ``path`` renamed into place."""
    from cmb_kd.io import write_bytes_atomic

    write_bytes_atomic(path, text.encode("utf-8"))


def _json_number(value: float) -> float | None:
    return None if math.isnan(value) else value


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _load_label(path: Path, prepared: Any) -> Any:
    import nibabel as nib
    import numpy as np

    image = nib.load(path)
    label = np.asanyarray(image.dataobj)
    label = label.reshape(label.shape[:3]) if label.ndim == 4 and label.shape[3] == 1 else label
    if label.shape != prepared.input_shape or not np.allclose(image.affine, prepared.input_affine, atol=1e-3):
        raise ValueError(
            f"{path}: reference of shape {label.shape} is not on the scan's grid (shape {prepared.input_shape} and "
            "the same affine expected)"
        )
    return label


def _check_cohort(parser: argparse.ArgumentParser, cohort: Path, split: str, factors: Sequence[int]) -> list[dict]:
    datalist = cohort / "datalist.json"
    if not cohort.is_dir():
        parser.error(f"--cohort: {cohort}: folder not found; expected a cohort written by 'cmb-kd synth'")
    if not datalist.is_file():
        parser.error(f"--cohort: {datalist}: not found; expected a cohort written by 'cmb-kd synth'")
    try:
        lists = json.loads(datalist.read_text())
    except json.JSONDecodeError as err:
        parser.error(f"--cohort: {datalist}: not JSON ({err})")
    entries = lists.get(split) if isinstance(lists, dict) else None
    if not entries or not isinstance(entries, list):
        available = sorted(k for k, v in lists.items() if isinstance(v, list) and v) if isinstance(lists, dict) else []
        parser.error(f"--split: {datalist} has no non-empty list {split!r}; expected one of {available}")
    keys = ["image", "label"] + [f"{kind}_lr_x{f}" for f in factors for kind in ("image", "label")]
    phase_keys = ["phase"] + [f"phase_lr_x{f}" for f in factors]
    for index, entry in enumerate(entries):
        for key in keys + [k for k in phase_keys if k in entry]:
            if key not in entry:
                parser.error(f"--factors: {datalist}: {split}[{index}] has no key {key!r}")
            if not (cohort / entry[key]).is_file():
                parser.error(f"--cohort: {cohort / entry[key]}: not found ({split}[{index}][{key!r}])")
    return entries


def _check_docs(parser: argparse.ArgumentParser, paths: Sequence[Path]) -> None:
    for path in paths:
        if not path.is_file():
            parser.error(f"--write-docs: {path}: file not found")
        text = path.read_text(encoding="utf-8")
        for name in MARKERS:
            try:
                replace_between_markers(text, name, "", source=path)
            except ValueError as err:
                parser.error(f"--write-docs: {err}")


MODES = ("phase", "magnitude")
"""How a scan is cleaned up: ``phase`` as the pipeline does with the phase image beside it (the phase-sign rule where
it runs, at the run's ``phase`` threshold), ``magnitude`` as without it (at the run's ``magnitude`` threshold)."""

Rows = list[tuple[str, bool, dict[float, Any]]]
"""Per subject of one run and factor: ``(subject, phase rule ran, {threshold: LesionCounts})``."""


def bundle_thresholds(detector: Any) -> dict[str, list[float]]:
    """The detector's own threshold of each mode: ``phase_threshold`` (``threshold`` when it has none) and
    ``threshold``."""
    phase = detector.threshold if detector.phase_threshold is None else detector.phase_threshold
    return {"phase": [phase], "magnitude": [detector.threshold]}


def evaluate(
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
    of the run (:meth:`CMBDetector.detections`), in both :data:`MODES`.

    Args:
        cohort: the cohort folder (the datalist's paths are relative to it).
        entries: the datalist entries to evaluate.
        factors: the thick-slice factors; every network but the teacher runs on ``image_lr_xF``.
        detector: the :class:`CMBDetector` that prepares the scans.
        networks: run name to its network; ``"teacher"`` runs on the HR ``image``.
        thresholds: run name to mode to its probability thresholds (default for every run:
            :func:`bundle_thresholds`). A scan on which the
            phase-sign rule does not run (no phase image, slices too thick) takes the ``magnitude`` thresholds in
            both modes, as the pipeline does.
        phase: give each scan's high-pass phase (``phase``, ``phase_lr_xF``) to the clean-up when the entry has one.

    Returns:
        Mode to run name to factor key (``"hr"`` for the teacher) to :data:`Rows`, and factor key to the number of
        reference lesions of each subject.

    Raises:
        ValueError: naming the scan that cannot be read or segmented, or whose reference is on another grid.
    """
    from cmb_kd.inference import InputError
    from cmb_kd.metrics import compute_lesion_counts

    default = bundle_thresholds(detector)
    thresholds = {name: {mode: list((thresholds or {}).get(name, {}).get(mode) or default[mode]) for mode in MODES}
                  for name in networks}  # fmt: skip
    counts: dict[str, dict[str, dict[str, Rows]]] = {mode: {name: {} for name in networks} for mode in MODES}
    n_ref: dict[str, list[int]] = {}
    students = [name for name in networks if name != "teacher"]
    jobs = [(HR, "", ["teacher"])] if "teacher" in networks else []
    if students:
        jobs += [(str(f), f"_lr_x{f}", students) for f in factors]
    for number, entry in enumerate(entries, start=1):
        subject = str(entry.get("subject", Path(entry["image"]).parent.name))
        for factor, suffix, names in jobs:
            start = time.perf_counter()
            scan, label_key, phase_key = cohort / entry[f"image{suffix}"], f"label{suffix}", f"phase{suffix}"
            phase_map = cohort / entry[phase_key] if phase and phase_key in entry else None
            try:
                prepared = detector.prepare(scan, phase=phase_map)
            except (InputError, ValueError) as err:
                raise ValueError(f"{scan}: {err}") from err
            rule = detector.phase_rule_applies(prepared)
            without_phase = dataclasses.replace(prepared, phase=None)
            label = _load_label(cohort / entry[label_key], prepared)
            n_ref.setdefault(factor, []).append(compute_lesion_counts(label, label).n_ref)
            line = f"[{number}/{len(entries)}] {subject} {_factor_label(factor)}: {len(prepared.candidates)} candidates"
            line += ", phase rule" if rule else ""
            for name in names:
                probability = detector.segment(prepared, network=networks[name]).probability
                magnitude = {
                    t: compute_lesion_counts(detector.detections(without_phase, probability, t), label)
                    for t in thresholds[name]["magnitude"]
                }
                with_phase = magnitude
                if rule:
                    with_phase = {
                        t: compute_lesion_counts(detector.detections(prepared, probability, t), label)
                        for t in thresholds[name]["phase"]
                    }
                counts["phase"][name].setdefault(factor, []).append((subject, rule, with_phase))
                counts["magnitude"][name].setdefault(factor, []).append((subject, False, magnitude))
                at_t = {t: f" at {t:g}" if len(with_phase) > 1 else "" for t in with_phase}
                at = [f"{c.tp} TP {c.fp} FP {c.fn} FN{at_t[t]}" for t, c in with_phase.items()]
                line += f"; {name} " + ", ".join(at)
            _progress(f"{line} ({time.perf_counter() - start:.0f} s)")
    return counts, n_ref


def at_thresholds(rows: Rows, phase_threshold: float, magnitude_threshold: float) -> list[Any]:
    """Each subject's counts at the threshold the pipeline uses on it: ``phase_threshold`` where the phase rule ran,
    ``magnitude_threshold`` elsewhere."""
    return [found[phase_threshold if rule else magnitude_threshold] for _, rule, found in rows]


def sweep(rows_by_factor: Mapping[str, Rows], grid: Sequence[float]) -> dict[float, dict[str, dict[str, float]]]:
    """Threshold to factor key to pooled metrics, every subject at that threshold (``grid``: thresholds every row
    holds)."""
    from cmb_kd.metrics import summarize_lesion_counts

    return {
        t: {factor: summarize_lesion_counts(at_thresholds(rows, t, t)) for factor, rows in rows_by_factor.items()}
        for t in grid
    }


def choose_threshold(by_threshold: Mapping[float, Mapping[str, float]]) -> float:
    """The threshold of best pooled F1 (``by_threshold``: threshold to pooled metrics); the lowest one on ties,
    a threshold with undefined F1 (no lesion found, nan) counting as F1 0."""

    def f1(t: float) -> float:
        value = by_threshold[t]["f1"]
        return 0.0 if math.isnan(value) else value

    return max(sorted(by_threshold), key=f1)


def threshold_table(
    sweeps: Mapping[str, Mapping[float, Mapping[str, Mapping[str, float]]]],
    chosen: Mapping[str, float],
    judged_at: Mapping[str, str],
) -> str:
    """Markdown table of pooled F1 per run and threshold, each run at its factor key ``judged_at[name]``, the
    chosen threshold in bold; ``sweeps``: run name to threshold to factor key to pooled metrics."""
    thresholds = sorted({t for sweep in sweeps.values() for t in sweep})
    header = ["Run", *(f"F1 at {t:g}" for t in thresholds), "Chosen"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, sweep in sweeps.items():
        cells = []
        for t in thresholds:
            cell = format_mean_sd([sweep[t][judged_at[name]]["f1"]], percent=True) if t in sweep else ""
            cells.append(f"**{cell}**" if t == chosen[name] else cell)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {chosen[name]:g} |")
    factors = ", ".join(dict.fromkeys(_factor_label(f) for f in judged_at.values()))
    lines += ["", f"Pooled lesion F1 (%) for each probability threshold, at {factors}."]
    return "\n".join(lines)


def _thresholds_from(
    parser: argparse.ArgumentParser, path: Path, names: Sequence[str]
) -> dict[str, dict[str, list[float]]]:
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        parser.error(f"--thresholds-from: {path}: cannot read ({err}); expected a metrics.json of this script")
    runs = record.get("runs") if isinstance(record, dict) else None
    result = {}
    for name in names:
        entry = (runs or {}).get(name, {})
        chosen = {"phase": entry.get("threshold"), "magnitude": entry.get("magnitude_threshold")}
        if not all(isinstance(t, (int, float)) for t in chosen.values()):
            parser.error(f"--thresholds-from: {path}: no thresholds for run {name!r}; evaluate it there first")
        result[name] = {mode: [float(t)] for mode, t in chosen.items()}
    return result


def _package_version() -> str:
    from cmb_kd import __version__

    return __version__


def _git_commit() -> str | None:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=BUNDLE, capture_output=True, text=True, timeout=10, check=False
        )
    except OSError:
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and commit else None


def _cohort_identity(cohort: Path) -> dict[str, Any]:
    """What tells one cohort from another: the seed of its datalist and its number of subjects."""
    lists = json.loads((cohort / "datalist.json").read_text())
    images = {
        e.get("image") for k in ("training", "validation", "test") for e in lists.get(k) or [] if isinstance(e, dict)
    }
    return {"seed": lists.get("seed"), "subjects": len(images)}


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
                f"--merge: {path}: {record['n_ref'][factor]} reference lesions at {_factor_label(factor)}, expected "
                f"{count} as counted now (another cohort or labels)"
            )
    return record


def _summary_of(by_factor: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """The pooled metrics per factor of a run's metrics.json ``factors`` (or ``magnitude``) entry (None to nan)."""
    return {
        factor: {k: math.nan if v is None else float(v) for k, v in at["metrics"].items()}
        for factor, at in by_factor.items()
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohort", type=Path, required=True, help="cohort folder written by cmb-kd synth")
    parser.add_argument("--runs", type=Path, default=Path("runs/models"), help="folder of the trained runs")
    parser.add_argument("--split", default="test", help="datalist list to evaluate (default: test)")
    parser.add_argument("--factors", nargs="+", type=int, default=[2, 4, 8], help="thick-slice factors")
    parser.add_argument("--models", nargs="+", default=None, help="runs to evaluate (default: all with weights)")
    parser.add_argument("--bundle", type=Path, default=BUNDLE, help="bundle whose inference.json builds the detector")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--out", type=Path, default=Path("results"), help="folder for metrics.json")
    parser.add_argument(
        "--screening",
        action="store_true",
        help="add the screening FCN (RUNS/screening/models/screening.pt) to stage 1; off by default, as in the bundle",
    )
    parser.add_argument(
        "--no-phase",
        action="store_true",
        help="leave the phase images out (the clean-up's phase-sign rule then keeps calcifications)",
    )
    parser.add_argument(
        "--thresholds",
        nargs="+",
        type=float,
        default=None,
        help="probability thresholds to evaluate; with several, each run's threshold of best pooled F1 at "
        f"×{ABLATION_FACTOR} (or the first factor) is chosen and used in the tables (default: the bundle's)",
    )
    parser.add_argument(
        "--thresholds-from",
        type=Path,
        default=None,
        help="metrics.json of an earlier evaluation (e.g. on the validation split): each run at the threshold chosen "
        "there",
    )
    parser.add_argument(
        "--merge",
        type=Path,
        default=None,
        help="metrics.json of an earlier evaluation of the same cohort and split: its runs not evaluated now are kept",
    )
    parser.add_argument(
        "--write-docs", nargs="+", type=Path, default=[], help="Markdown files whose results markers are replaced"
    )
    args = parser.parse_args(argv)
    if args.thresholds is not None and args.thresholds_from is not None:
        parser.error("--thresholds and --thresholds-from: expected one of them, not both")
    if args.merge is not None and not args.merge.is_file():
        parser.error(f"--merge: {args.merge}: file not found; expected a metrics.json of this script")
    if args.thresholds is not None and not all(0.0 < t < 1.0 for t in args.thresholds):
        parser.error(f"--thresholds: expected probabilities in (0, 1), got {args.thresholds}")

    factors = list(dict.fromkeys(args.factors))
    if any(f < 2 for f in factors):
        parser.error(f"--factors: expected thick-slice factors >= 2, got {args.factors}")
    entries = _check_cohort(parser, args.cohort, args.split, factors)
    if not args.runs.is_dir():
        parser.error(f"--runs: {args.runs}: folder not found; expected the runs of scripts/train_models.py")
    try:
        runs = find_runs(args.runs, args.models)
    except ValueError as err:
        parser.error(str(err))
    if not runs:
        parser.error(
            f"--runs: {args.runs}: no run with final weights found; expected e.g. plkd-s0/models/model.pt or "
            "teacher/models/teacher.pt (train them with scripts/train_models.py)"
        )
    _check_docs(parser, args.write_docs)
    screening = args.runs / "screening" / "models" / "screening.pt"
    if args.screening and not screening.is_file():
        parser.error(f"--screening: {screening}: not found; expected the weights of the 'screening' run")
    use_screening = bool(args.screening)

    from cmb_kd.inference import CMBDetector
    from cmb_kd.metrics import summarize_lesion_counts

    try:
        networks = {
            name: build_network(network_def_of(name, args.runs, args.bundle), path) for name, path in runs.items()
        }
        first = next(iter(runs))
        overrides: dict[str, Any] = {
            "network_def": network_def_of(first, args.runs, args.bundle),
            "model_path": str(runs[first]),
            "use_screening": use_screening,
            "screening_path": str(screening),
        }
        detector = CMBDetector.from_bundle(args.bundle, args.device, overrides=overrides)
    except (FileNotFoundError, ValueError) as err:
        parser.error(str(err))
    _progress(
        f"{len(entries)} subject(s) of {args.cohort} ({args.split}), factors {factors}, runs {list(runs)}, "
        f"screening: {screening if use_screening else 'none'}"
    )

    if args.thresholds_from is not None:
        thresholds = _thresholds_from(parser, args.thresholds_from, list(runs))
    elif args.thresholds is not None:
        grid = sorted(set(args.thresholds))
        thresholds = {name: {mode: grid for mode in MODES} for name in runs}
    else:
        thresholds = {name: bundle_thresholds(detector) for name in runs}
    try:
        counts, n_ref_rows = evaluate(
            args.cohort, entries, factors, detector, networks, thresholds, phase=not args.no_phase
        )
    except ValueError as err:
        parser.error(str(err))
    selection = str(ABLATION_FACTOR) if ABLATION_FACTOR in factors else str(factors[0])
    judged_at = {name: HR if name == "teacher" else selection for name in runs}
    # each mode's threshold: the one of best pooled F1 at the judged factor, over the thresholds every subject has
    # (a sweep), or the one given (a single threshold per mode)
    sweeps: dict[str, dict[str, Any]] = {mode: {} for mode in MODES}
    chosen: dict[str, dict[str, float]] = {mode: {} for mode in MODES}
    for mode in MODES:
        for name, by_factor in counts[mode].items():
            common = set.intersection(*(set(found) for rows in by_factor.values() for _, _, found in rows))
            sweeps[mode][name] = sweep(by_factor, sorted(common))
            at_judged = {t: at[judged_at[name]] for t, at in sweeps[mode][name].items()}
            chosen[mode][name] = choose_threshold(at_judged) if at_judged else thresholds[name][mode][0]
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
    n_subjects = {factor: len(rows) for factor, rows in n_ref_rows.items()}
    n_ref = {factor: sum(rows) for factor, rows in n_ref_rows.items()}
    cohort_identity = _cohort_identity(args.cohort)
    provenance = {
        "evaluated": datetime.date.today().isoformat(),
        "cmb_kd_version": _package_version(),
        "commit": _git_commit(),
    }

    def factors_entry(mode: str, name: str) -> dict[str, Any]:
        return {
            factor: {
                "metrics": {k: _json_number(v) for k, v in summaries[mode][name][factor].items()},
                "subjects": subject_rows[mode][name][factor],
            }
            for factor in summaries[mode][name]
        }

    entries_now = {
        name: {
            "weights": str(runs[name]),
            **provenance,
            "wall_time": read_wall_time(args.runs, name),
            "threshold": chosen["phase"][name],
            "magnitude_threshold": chosen["magnitude"][name],
            "thresholds": {
                mode: {
                    f"{t:g}": {factor: {k: _json_number(v) for k, v in m.items()} for factor, m in at.items()}
                    for t, at in sweeps[mode][name].items()
                }
                for mode in MODES
            },
            "factors": factors_entry("phase", name),
            "magnitude": factors_entry("magnitude", name),
        }
        for name in runs
    }
    kept: dict[str, Any] = {}
    if args.merge is not None:
        try:
            earlier = load_merge(
                args.merge,
                split=args.split,
                factors=factors,
                cohort=cohort_identity,
                n_ref=n_ref,
                phase=not args.no_phase,
            )
        except ValueError as err:
            parser.error(str(err))
        kept = {name: entry for name, entry in earlier["runs"].items() if name not in entries_now}
        if kept:  # the factor keys of the kept runs (e.g. the teacher's HR) count their subjects and lesions too
            n_subjects = {**earlier.get("n_subjects", {}), **n_subjects}
            n_ref = {**earlier.get("n_ref", {}), **n_ref}
            for name, entry in kept.items():
                summaries["phase"][name] = _summary_of(entry["factors"])
                summaries["magnitude"][name] = _summary_of(entry["magnitude"])
            _progress(f"kept {len(kept)} run(s) evaluated earlier from {args.merge}: {sorted(kept)}")
    all_entries = dict(sorted({**kept, **entries_now}.items()))
    main_table = format_main_table(summaries["phase"], factors, split=args.split, n_subjects=n_subjects, n_ref=n_ref)
    magnitude_table = format_main_table(
        summaries["magnitude"], factors, split=args.split, n_subjects=n_subjects, n_ref=n_ref
    )
    ablation_table = format_ablation_table(summaries["phase"], factors)

    record = {
        "cohort": str(args.cohort),
        "cohort_identity": cohort_identity,
        "split": args.split,
        "factors": factors,
        "bundle": str(args.bundle),
        "screening": str(screening) if use_screening else None,
        "phase": not args.no_phase,
        "matching": {"connectivity": 26, "max_distance_mm": None},
        "n_subjects": n_subjects,
        "n_ref": n_ref,
        "runs": all_entries,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out / "metrics.json", json.dumps(record, indent=1, allow_nan=False) + "\n")
    print(f"{main_table}\n\nWithout the phase images:\n\n{magnitude_table}\n\n{ablation_table}")
    if args.thresholds is not None and len(args.thresholds) > 1:
        for mode, title in (("phase", "With the phase images"), ("magnitude", "Without the phase images")):
            print(f"\n{title}:\n\n{threshold_table(sweeps[mode], chosen[mode], judged_at)}")
    _progress(f"wrote {args.out / 'metrics.json'}")
    wall_times = {name: entry.get("wall_time") for name, entry in all_entries.items()}
    tables = {
        "table": main_table,
        "magnitude": magnitude_table,
        "ablation": ablation_table,
        "walltime": wall_time_table(wall_times),
    }
    for path in args.write_docs:
        text = path.read_text(encoding="utf-8")
        for name in MARKERS:
            text = replace_between_markers(text, name, tables[name], source=path)
        write_atomic(path, text)
        _progress(f"wrote the tables into {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
