"""Measures the anatomical location of a synthetic cohort's CMBs against the simulator's classes.

Without ``--predictions``, the TRUE lesions of every subject of the split are located: its thick-slice scan
``sub-XXX_T2S_lr-xF.nii.gz`` with its brain mask is registered to the MNI template and the true CMB centres of
``sub-XXX.json`` are assigned MARS regions (:func:`cmb_kd.evaluation.locate_true_lesions`). With ``--predictions
DIR``, the detections that ``cmb-kd infer --location`` wrote into DIR for those scans are scored instead
(:func:`cmb_kd.evaluation.detected_location`: each true CMB takes the class of the detection within 5 mm of it).
Prints the class confusion, the burden-class confusion and the lobar-pattern flags (:func:`location_tables`) and,
for true lesions, the registration time per scan (the first scan, which also loads ITK's registration modules, apart).

Usage: python scripts/measure_location.py --cohort data/cohort [--split test|all] [--limit N] [--factor 4]
           [--affine-only] [--predictions DIR] [--out results.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
from pathlib import Path

import numpy as np


def subjects(cohort: Path, split: str) -> list[str]:
    if split == "all":
        return sorted(p.name for p in cohort.glob("sub-*") if p.is_dir())
    datalist = json.loads((cohort / "datalist.json").read_text())
    if split not in datalist:
        raise SystemExit(f"--split: expected one of test, validation, training, all; {split!r} is not in the datalist")
    return [entry["subject"] for entry in datalist[split]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cohort", type=Path, required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--factor", type=int, default=4)
    parser.add_argument("--affine-only", action="store_true")
    parser.add_argument("--predictions", type=Path, default=None, help="outputs of cmb-kd infer --location")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from cmb_kd.evaluation import detected_location, locate_true_lesions, location_tables

    names = subjects(args.cohort, args.split)[: args.limit]
    if args.predictions is not None:
        results = [detected_location(args.cohort, name, args.factor, args.predictions) for name in names]
    else:
        import itk

        from cmb_kd.location import RegistrationSettings, load_mars_atlas

        itk.MultiThreaderBase.SetGlobalDefaultNumberOfThreads(1)
        load_mars_atlas()
        settings = RegistrationSettings(deformable=not args.affine_only)
        results = [locate_true_lesions(args.cohort, name, args.factor, settings) for name in names]
    print(location_tables(results))
    times = [r.seconds for r in results if r.seconds is not None]
    if times:
        rest = times[1:] or times
        print(f"\nRegistration + look-up per scan: first {times[0]:.1f} s wall; the other {len(times) - 1}: median "
              f"{np.median(rest):.1f} s wall (max {max(rest):.1f} s).")  # fmt: skip
    if args.out is not None:
        args.out.write_text(json.dumps([dataclasses.asdict(r) for r in results], indent=1))


if __name__ == "__main__":
    main()
