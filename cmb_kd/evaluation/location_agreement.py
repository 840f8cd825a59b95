"""The anatomical location of a synthetic cohort's CMBs against the simulator's truth.

Two measurements: the TRUE lesions located by registration (:func:`locate_true_lesions`: how well the atlas and the
registration place a CMB whose position is known), and the detections of ``cmb-kd infer --location``
(:func:`detected_location`: what a user gets, the detector's misses and false positives included). Each gives one
:class:`SubjectLocation` per subject; :func:`location_tables` prints the class confusion, the burden-class confusion
and the agreement of the lobar-pattern flags. The simulator's location of a CMB gives its true class (``lobar`` and
``juxtacortical`` are lobar, ``deep`` is deep, ``infratentorial`` and ``posterior_fossa`` are infratentorial).
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from cmb_kd.location import BURDEN_CLASSES, LOCATION_CLASSES, burden, locate

__all__ = [
    "FLAGS",
    "MATCH_MM",
    "MISSED",
    "TRUE_CLASS",
    "SubjectLocation",
    "detected_location",
    "locate_true_lesions",
    "location_tables",
    "true_lesions",
    "truth_row",
]

TRUE_CLASS = {
    "lobar": "lobar",
    "juxtacortical": "lobar",
    "deep": "deep",
    "infratentorial": "infratentorial",
    "posterior_fossa": "infratentorial",
}
"""The MARS class of each location the simulator records for a CMB."""
MATCH_MM = 5.0
"""Largest distance (mm) between a detection's centroid and a true CMB's centre for the detection to be that CMB."""
MISSED = "missed"
"""The located class of a true CMB no detection matches."""
FLAGS = ("strictly_lobar", "boston_strictly_lobar_2plus", "mixed")
"""The lobar-pattern flags compared."""
_STAND_IN = {"lobar": "frontal", "deep": "basal_ganglia", "infratentorial": "cerebellum"}


@dataclass
class SubjectLocation:
    """One subject's true and located CMBs.

    Attributes:
        subject: the subject's name.
        truth: the true class of each true CMB.
        located: the located class of each true CMB (:data:`MISSED` when no detection matches it).
        true_row: the burden row (:data:`~cmb_kd.location.BURDEN_COLUMNS`) of the true classes.
        row: the burden row of what was located (all detections, false positives included).
        seconds: the time the location took, when measured.
    """

    subject: str
    truth: list[str]
    located: list[str]
    true_row: dict[str, Any]
    row: dict[str, Any]
    seconds: float | None = field(default=None)


def true_lesions(record: Mapping[str, Any]) -> tuple[list[str], np.ndarray]:
    """The true classes and centres (world RAS mm, ``(N, 3)``) of the CMBs of a subject JSON of ``cmb-kd synth``."""
    cmbs = [c for c in record.get("cmbs", []) if c.get("type") == "cmb"]
    centres = np.array([c["centre_mm"] for c in cmbs], dtype=float).reshape(-1, 3)
    return [TRUE_CLASS[c["location"]] for c in cmbs], centres


def truth_row(classes: Sequence[str]) -> dict[str, Any]:
    """The burden row of CMBs known by class only (each class stands for one of its regions)."""
    return burden([_STAND_IN[c] for c in classes], ["left"] * len(classes)).as_row()


def locate_true_lesions(cohort: Path, subject: str, factor: int, settings: Any = None) -> SubjectLocation:
    """Register the subject's ``xF`` scan (with its brain mask) and locate its TRUE CMBs.

    Args:
        cohort: the cohort folder of ``cmb-kd synth``.
        subject: the subject (``sub-XXX``).
        factor: the thick-slice factor of the scan.
        settings: the :class:`~cmb_kd.location.RegistrationSettings` (default ones when None).
    """
    folder = Path(cohort) / subject
    image = nib.load(folder / f"{subject}_T2S_lr-x{factor}.nii.gz")
    mask = np.asarray(nib.load(folder / f"{subject}_brainmask_lr-x{factor}.nii.gz").dataobj) > 0.5
    truth, centres = true_lesions(json.loads((folder / f"{subject}.json").read_text()))
    start = time.perf_counter()
    result = locate(np.asarray(image.dataobj, dtype=np.float32), image.affine, mask, centres, settings=settings)
    seconds = time.perf_counter() - start
    return SubjectLocation(subject, truth, list(result.classes), truth_row(truth), result.row(), seconds)


def detected_location(cohort: Path, subject: str, factor: int, predictions: Path) -> SubjectLocation:
    """The subject's detections as ``cmb-kd infer --location`` wrote them, against its true CMBs.

    Each true CMB takes the class of the nearest detection within :data:`MATCH_MM` (:data:`MISSED` when there is
    none); the burden row is the one of the detections' location JSON.

    Raises:
        ValueError: naming a lesion table or location JSON that is missing or has no location.
    """
    name = f"{subject}_T2S_lr-x{factor}"
    table, summary = Path(predictions) / f"{name}_cmb_lesions.csv", Path(predictions) / f"{name}_cmb_location.json"
    for path in (table, summary):
        if not path.is_file():
            raise ValueError(f"{path}: not found; expected the outputs of cmb-kd infer --location for {subject}")
    with open(table, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if rows and "location_class" not in rows[0]:
        raise ValueError(f"{table}: expected the location columns of cmb-kd infer --location, got {list(rows[0])}")
    found = np.array([[float(r[f"centroid_{a}_mm"]) for a in "xyz"] for r in rows], dtype=float).reshape(-1, 3)
    truth, centres = true_lesions(json.loads((Path(cohort) / subject / f"{subject}.json").read_text()))
    located = []
    for centre in centres:
        distances = np.linalg.norm(found - centre, axis=1)
        hit = int(np.argmin(distances)) if len(found) else -1
        located.append(rows[hit]["location_class"] if hit >= 0 and distances[hit] <= MATCH_MM else MISSED)
    record = json.loads(summary.read_text())
    row = {"burden_class": record["burden_class"], **{flag: record[flag] for flag in FLAGS}}
    return SubjectLocation(subject, truth, located, truth_row(truth), row)


def location_tables(results: Sequence[SubjectLocation]) -> str:
    """Markdown tables: class confusion (truth rows, located columns) with the accuracy over located CMBs, burden
    class confusion (true rows), and the agreement of the lobar-pattern flags."""
    truth = [t for r in results for t in r.truth]
    located = [p for r in results for p in r.located]
    columns = (*LOCATION_CLASSES, "unlocated", MISSED)
    lines = ["| truth \\ located | " + " | ".join(columns) + " | n |", "|---" * (len(columns) + 2) + "|"]
    for name in LOCATION_CLASSES:
        counts = [sum(t == name and p == c for t, p in zip(truth, located)) for c in columns]
        lines.append(f"| {name} | " + " | ".join(map(str, counts)) + f" | {sum(counts)} |")
    found = [(t, p) for t, p in zip(truth, located) if p != MISSED]
    correct = sum(t == p for t, p in found)
    lines.append(f"\nClass accuracy over the located CMBs: {correct}/{len(found)} ({len(truth) - len(found)} missed)\n")
    lines += [
        "| true burden \\ located | " + " | ".join(BURDEN_CLASSES) + " |",
        "|---" * (len(BURDEN_CLASSES) + 1) + "|",
    ]
    for name in BURDEN_CLASSES:
        counts = [
            sum(r.true_row["burden_class"] == name and r.row["burden_class"] == c for r in results)
            for c in BURDEN_CLASSES
        ]
        lines.append(f"| {name} | " + " | ".join(map(str, counts)) + " |")
    agree = sum(r.true_row["burden_class"] == r.row["burden_class"] for r in results)
    lines += [f"\nBurden class agreement: {agree}/{len(results)}\n", "| flag | agree | true yes / located yes |"]
    lines.append("|---|---|---|")
    for flag in FLAGS:
        same = sum(bool(r.true_row[flag]) == bool(r.row[flag]) for r in results)
        yes = f"{sum(bool(r.true_row[flag]) for r in results)} / {sum(bool(r.row[flag]) for r in results)}"
        lines.append(f"| {flag} | {same}/{len(results)} | {yes} |")
    return "\n".join(lines)
