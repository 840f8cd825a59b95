"""Lesion detection on held-out domains that no step of training or threshold choice saw: the shift benchmark.

Usage: python benchmarks/bench_generalisation.py [--data data/generalisation] [--subjects 20]
[--method shipped=bundles/cmb_lr_mri_segmentation ...] [--domains NAME ...] [--grid full|small]
[--validation-subjects 5] [--json docs/results/generalisation.json] [--workers 1]
[--choose-threshold [--cohort data/cohort]]

Each domain (:mod:`cmb_kd.evaluation.shift_domains`) is a physics variant of the simulator rendered by a scanner preset
(:data:`cmb_kd.synth.SCANNER_PRESETS`): skull-stripped with a zero background, a NaN background (VALDO), 0.8–0.9 mm
in-plane with 4.5–5 mm slices and a gap, 1.5 T with a long TE against 3 T with a short TE, low SNR with a strong
bias field, an unseen tissue contrast, and the randomised physics of ``SynthConfig.randomised()`` (tiny CMBs,
mimics, random contrast), which the default simulator never draws. Its subjects come from a cohort seed of their own
(``BENCH_SEED``), so they are none of the training, validation or test subjects of ``cmb-kd synth``; a domain's
scans are written once under ``DATA/<domain>/sub-XXX/`` (``sub-XXX_T2S.nii.gz``, reference ``sub-XXX_CMB.nii.gz``)
and reused.

Methods: every ``--method NAME=BUNDLE`` runs :class:`~cmb_kd.inference.CMBDetector` from that bundle on the magnitude
alone (no phase), as ``cmb-kd infer`` does; the classical baseline ``classical`` is stage 1 of the same pipeline
(3D fast radial symmetry ∪ threshold + morphology, the candidates of ``CMBDetector.prepare`` on the same brain
mask), every candidate at or above a score threshold counted as a detection. The baseline's threshold is chosen
for the best F1 on validation scans rendered from the training scanner distribution (``ScannerConfig()``) with
subjects of another seed (``VALIDATION_SEED``), never on a benchmark domain. Predictions are cached under
``DATA/predictions/<method>/<domain>/``.

Scores per domain and method, pooled over subjects: lesion TPR, PPV, F1 and false positives per scan, by overlap
matching (a predicted component touching a reference lesion) and by 5 mm centroid matching (VALDO-style: also a
component whose centroid lies within 5 mm of a lesion's), and the TPR of lesions below and above 2 mm equivalent
diameter (centroid matching; :class:`cmb_kd.evaluation.Tally`). Prints a Markdown table; ``--json`` writes the figures.

``--choose-threshold`` touches no benchmark domain: it runs the first method on the validation sets only (the
``VALIDATION_SEED`` subjects with the default and the randomised physics, both rendered from the training scanner
distribution, and with ``--cohort`` the native ×4 scans of a cohort's validation split), sweeps the stage-2
probability threshold and prints per set and threshold the F1 and FP per scan (5 mm matching); the threshold
chosen is the one of the best mean F1 over the sets (each set counts once, whatever its size), the higher one on
a tie. The bundle's ``threshold`` is set from it by hand.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path

import nibabel as nib
import numpy as np

from cmb_kd.evaluation import (
    BENCH_SEED,
    CENTROID_MM,
    DOMAINS,
    GRIDS,
    VALIDATION_SEED,
    Tally,
    prepare_scans,
    save_nifti,
)
from cmb_kd.metrics import LesionCounts, compute_lesion_counts
from cmb_kd.synth import SCANNER_PRESETS, ScannerConfig

BASELINE_THRESHOLDS = tuple(np.round(np.arange(1.0, 8.01, 0.25), 2))
"""Candidate score thresholds tried for the classical baseline on the validation scans."""
MODEL_THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
"""Stage-2 probability thresholds tried by ``--choose-threshold``."""
VALIDATION_PHYSICS = ("base", "randomised")
"""Physics variants of the validation sets of ``--choose-threshold`` (each with ``VALIDATION_SEED`` subjects)."""


def _points_mask(candidates, shape: tuple[int, int, int], affine: np.ndarray, threshold: float) -> np.ndarray:
    """One voxel per candidate at or above ``threshold``, on the input grid (candidates carry world mm)."""
    mask = np.zeros(shape, np.uint8)
    inverse = np.linalg.inv(affine)
    for candidate in candidates:
        if candidate.score >= threshold:
            voxel = np.rint(inverse[:3, :3] @ np.asarray(candidate.mm) + inverse[:3, 3]).astype(int)
            if all(0 <= v < n for v, n in zip(voxel, shape)):
                mask[tuple(voxel)] = 1
    return mask


def _load(path: Path) -> tuple[np.ndarray, np.ndarray]:
    image = nib.load(path)
    return np.nan_to_num(np.asarray(image.dataobj, dtype=np.float32), nan=0.0), image.affine


def run_domain(
    detectors: dict, pairs: list[tuple[Path, Path]], cache: Path, baseline_threshold: float
) -> dict[str, Tally]:
    """Every method on every scan of one domain (predictions cached under ``cache/<method>/``)."""
    tallies = {name: Tally() for name in [*detectors, "classical"]}
    baseline = next(iter(detectors))  # the classical baseline uses the stage 1 of the first method's pipeline
    for scan, reference_path in pairs:
        reference, affine = _load(reference_path)
        prepared: dict[str, tuple[object, float]] = {}
        for name in tallies:
            out = cache / name / scan.name.replace("_T2S.nii.gz", "_cmb_mask.nii.gz")
            timing = out.with_name(out.name.replace(".nii.gz", ".seconds.json"))
            if out.is_file() and timing.is_file():
                prediction = _load(out)[0]
                seconds = json.loads(timing.read_text())["seconds"]
            else:
                source = baseline if name == "classical" else name
                if source not in prepared:
                    start = time.perf_counter()
                    prepared[source] = (detectors[source].prepare(scan), time.perf_counter() - start)
                scan_prepared, seconds = prepared[source]
                start = time.perf_counter()
                if name == "classical":
                    prediction = _points_mask(scan_prepared.candidates, reference.shape, affine, baseline_threshold)
                else:
                    prediction = detectors[name].segment(scan_prepared).mask
                seconds += time.perf_counter() - start
                save_nifti(prediction.astype(np.uint8), affine, out)
                timing.write_text(json.dumps({"seconds": seconds}))
            tallies[name].add(prediction, reference, affine, seconds)
    return tallies


def choose_baseline_threshold(detector, pairs: list[tuple[Path, Path]]) -> tuple[float, float]:
    """The candidate score threshold of the best validation F1 (centroid matching), and that F1."""
    counts = {t: LesionCounts() for t in BASELINE_THRESHOLDS}
    for scan, reference_path in pairs:
        reference, affine = _load(reference_path)
        prepared = detector.prepare(scan)
        spacing = np.linalg.norm(affine[:3, :3], axis=0)
        for threshold in BASELINE_THRESHOLDS:
            prediction = _points_mask(prepared.candidates, reference.shape, affine, threshold)
            counts[threshold] += compute_lesion_counts(
                prediction, reference, spacing=spacing, max_distance_mm=CENTROID_MM
            )
    f1 = {t: (c.f1 if not math.isnan(c.f1) else -1.0) for t, c in counts.items()}
    best = max(f1, key=lambda t: (f1[t], t))
    return float(best), float(f1[best])


def sweep_thresholds(
    detector, sets: dict[str, list[tuple[Path, Path]]], thresholds: tuple[float, ...] = MODEL_THRESHOLDS
) -> dict[str, dict[float, Tally]]:
    """The detections of ``detector`` on every validation set at every stage-2 threshold (stage 2 runs once per
    scan; :meth:`CMBDetector.detections` re-thresholds its probability map and cleans it up)."""
    tallies = {name: {t: Tally() for t in thresholds} for name in sets}
    for name, pairs in sets.items():
        for scan, reference_path in pairs:
            reference, affine = _load(reference_path)
            start = time.perf_counter()
            prepared = detector.prepare(scan)
            probability = detector.segment(prepared).probability
            seconds = time.perf_counter() - start
            for threshold in thresholds:
                tallies[name][threshold].add(
                    detector.detections(prepared, probability, threshold), reference, affine, seconds
                )
    return tallies


def mean_f1(tallies: dict[str, dict[float, Tally]], threshold: float) -> float:
    """The mean over the sets of the F1 (5 mm matching) at ``threshold``; a set with no lesion and no detection
    counts 0."""
    f1 = [tallies[name][threshold].centroid.f1 for name in tallies]
    return float(np.mean([0.0 if math.isnan(v) else v for v in f1]))


def best_threshold(tallies: dict[str, dict[float, Tally]]) -> float:
    """The threshold of the best mean F1 (5 mm matching) over the sets, the higher threshold on a tie."""
    return max(next(iter(tallies.values())), key=lambda t: (round(mean_f1(tallies, t), 6), t))


def format_sweep(tallies: dict[str, dict[float, Tally]]) -> str:
    """Markdown table: one row per threshold, F1 and FP per scan (5 mm matching) of every set, and their mean F1."""
    names = list(tallies)
    head = "| threshold | " + " | ".join(f"{n}: F1 | {n}: FP/scan" for n in names) + " | mean F1 |"
    lines = [head, "| ---: " * (2 * len(names) + 2) + "|"]
    for threshold in next(iter(tallies.values())):
        rows = [tallies[n][threshold].row() for n in names]
        cells = " | ".join(f"{r['f1_centroid']} | {r['fp_per_scan_centroid']}" for r in rows)
        lines.append(f"| {threshold} | {cells} | {100 * mean_f1(tallies, threshold):.1f} |")
    return "\n".join(lines)


def cohort_validation(cohort: Path, factor: int = 4) -> list[tuple[Path, Path]]:
    """(native ×``factor`` scan, its label) of every subject of a cohort's validation split."""
    datalist = cohort / "datalist.json"
    if not datalist.is_file():
        raise SystemExit(f"--cohort: {datalist}: not found; expected a cohort written by 'cmb-kd synth'")
    entries = json.loads(datalist.read_text()).get("validation") or []
    keys = (f"image_lr_x{factor}", f"label_lr_x{factor}")
    if not entries or any(k not in e for e in entries for k in keys):
        raise SystemExit(f"--cohort: {datalist}: expected a validation split with {keys[0]} and {keys[1]}")
    return [(cohort / e[keys[0]], cohort / e[keys[1]]) for e in entries]


def format_table(results: dict[str, dict[str, dict]]) -> str:
    """Markdown table: one row per domain and method."""
    head = (
        "| domain | method | scans | CMBs | F1 (5 mm) | TPR | PPV | FP/scan | F1 (overlap) | FP/scan (overlap) "
        "| TPR < 2 mm (n) | TPR ≥ 2 mm (n) | s/scan |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: | ---: | ---: |"
    )
    lines = [head]
    for domain, methods in results.items():
        for method, r in methods.items():
            lines.append(
                f"| {domain} | {method} | {r['scans']} | {r['lesions']} | {r['f1_centroid']} | {r['tpr_centroid']} "
                f"| {r['ppv_centroid']} | {r['fp_per_scan_centroid']} | {r['f1_overlap']} | "
                f"{r['fp_per_scan_overlap']} | {r['tpr_small']} ({r['lesions_small']}) | {r['tpr_large']} "
                f"({r['lesions_large']}) | {r['seconds_per_scan']} |"
            )
    return "\n".join(lines)


def _method(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path or name == "classical":
        raise argparse.ArgumentTypeError(f"expected NAME=BUNDLE_DIR (NAME not 'classical'), got {text!r}")
    return name, Path(path)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/generalisation"), help="folder of the domains")
    parser.add_argument("--subjects", type=int, default=20, help="subjects per domain")
    parser.add_argument("--validation-subjects", type=int, default=5, help="scans choosing the baseline threshold")
    default_bundle = Path(__file__).resolve().parents[1] / "bundles" / "cmb_lr_mri_segmentation"
    parser.add_argument(
        "--method", type=_method, action="append", default=None, help=f"NAME=BUNDLE (default shipped={default_bundle})"
    )
    parser.add_argument("--domains", nargs="+", default=list(DOMAINS), choices=list(DOMAINS), help="domains to run")
    parser.add_argument("--grid", choices=list(GRIDS), default="full", help="HR grid of the simulated subjects")
    parser.add_argument("--workers", type=int, default=1, help="processes simulating subjects")
    parser.add_argument("--allow-untrained", action="store_true", help="run bundles without weights (tests only)")
    parser.add_argument("--json", type=Path, default=None, help="write the figures to this JSON file")
    parser.add_argument(
        "--choose-threshold", action="store_true", help="sweep the first method's threshold on the validation sets"
    )
    parser.add_argument("--cohort", type=Path, default=None, help="with --choose-threshold: in-domain validation")
    args = parser.parse_args(argv)

    from cmb_kd.inference import CMBDetector

    methods = dict(args.method or [("shipped", default_bundle)])
    detectors = {
        name: CMBDetector.from_bundle(path, "cpu", allow_untrained=args.allow_untrained)
        for name, path in methods.items()
    }
    first = next(iter(detectors.values()))
    grid_tag = "" if args.grid == "full" else f"-{args.grid}"
    if args.choose_threshold:
        return choose_model_threshold(first, args, grid_tag)
    validation = prepare_scans(
        args.data / f"validation{grid_tag}", "base", ScannerConfig(), VALIDATION_SEED,
        args.validation_subjects, args.grid, args.workers,
    )  # fmt: skip
    threshold, validation_f1 = choose_baseline_threshold(first, validation)
    results: dict[str, dict[str, dict]] = {}
    for domain_name in args.domains:
        domain = DOMAINS[domain_name]
        folder = args.data / f"{domain_name}{grid_tag}"
        pairs = prepare_scans(
            folder, domain.physics, SCANNER_PRESETS[domain.scanner], BENCH_SEED, args.subjects, args.grid, args.workers
        )
        tallies = run_domain(detectors, pairs, args.data / "predictions" / f"{domain_name}{grid_tag}", threshold)
        results[domain_name] = {name: tally.row() for name, tally in tallies.items()}
        print(f"{domain_name}: done", flush=True)
    table = format_table(results)
    print(table)
    print(
        f"\nclassical baseline threshold {threshold} (validation F1 {100 * validation_f1:.1f} % on "
        f"{len(validation)} scans); grid {args.grid}; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs"
    )
    record = {
        "domains": {name: DOMAINS[name].description for name in args.domains},
        "methods": {name: str(path) for name, path in methods.items()},
        "subjects": args.subjects,
        "grid": args.grid,
        "baseline_threshold": threshold,
        "baseline_validation_f1": validation_f1,
        "results": results,
    }
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(record, indent=1, allow_nan=True))
    return record


def choose_model_threshold(detector, args: argparse.Namespace, grid_tag: str) -> dict:
    """``--choose-threshold``: the sweep on the validation sets, printed (and written with ``--json``)."""
    sets = {}
    for physics in VALIDATION_PHYSICS:
        # the default physics shares its scans with the baseline's validation ("validation")
        folder = args.data / (f"validation{grid_tag}" if physics == "base" else f"validation_{physics}{grid_tag}")
        sets[f"validation_{physics}"] = prepare_scans(
            folder, physics, ScannerConfig(), VALIDATION_SEED, args.validation_subjects, args.grid, args.workers
        )
    if args.cohort is not None:
        sets["validation_cohort_x4"] = cohort_validation(args.cohort)
    tallies = sweep_thresholds(detector, sets)
    chosen = best_threshold(tallies)
    print(format_sweep(tallies))
    print(f"\nthreshold of the best mean F1: {chosen}")
    record = {
        "sets": {name: len(pairs) for name, pairs in sets.items()},
        "chosen": chosen,
        "sweep": {name: {str(t): tally.row() for t, tally in by.items()} for name, by in tallies.items()},
    }
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(record, indent=1, allow_nan=True))
    return record


if __name__ == "__main__":
    main()
