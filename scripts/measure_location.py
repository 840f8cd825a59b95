"""Measures the anatomical location of the TRUE lesions of a synthetic cohort against the simulator's classes.

For every subject of the split (the datalist's ``test`` by default, ``all`` for every ``sub-*`` folder), the
thick-slice scan ``sub-XXX_T2S_lr-xF.nii.gz`` with its brain mask ``sub-XXX_brainmask_lr-xF.nii.gz`` is registered
to the MNI template (:func:`cmb_kd.location.locate`) and the true CMB centres of ``sub-XXX.json`` (``cmbs``,
``centre_mm``, world RAS mm) are assigned MARS regions. The simulator's location of each CMB gives its true class
(``lobar`` and ``juxtacortical`` are lobar, ``deep`` is deep, ``infratentorial`` and ``posterior_fossa`` are
infratentorial). Prints Markdown tables: class confusion (truth rows, located columns) and accuracy, the burden class
and lobar-pattern flags from true classes against located ones, and the registration time per scan (wall and CPU,
the first scan, which also loads ITK's registration modules, shown apart).

Usage: python scripts/measure_location.py --cohort data/cohort [--split test|all] [--limit N] [--factor 4]
           [--affine-only] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import nibabel as nib
import numpy as np

TRUE_CLASS = {
    "lobar": "lobar",
    "juxtacortical": "lobar",
    "deep": "deep",
    "infratentorial": "infratentorial",
    "posterior_fossa": "infratentorial",
}


def subjects(cohort: Path, split: str) -> list[str]:
    if split == "all":
        return sorted(p.name for p in cohort.glob("sub-*") if p.is_dir())
    datalist = json.loads((cohort / "datalist.json").read_text())
    if split not in datalist:
        raise SystemExit(f"--split: expected one of test, validation, training, all; {split!r} is not in the datalist")
    return [entry["subject"] for entry in datalist[split]]


def measure_subject(cohort: Path, subject: str, factor: int, settings) -> dict:
    from cmb_kd.location import locate

    folder = cohort / subject
    image = nib.load(folder / f"{subject}_T2S_lr-x{factor}.nii.gz")
    mask = nib.load(folder / f"{subject}_brainmask_lr-x{factor}.nii.gz")
    record = json.loads((folder / f"{subject}.json").read_text())
    cmbs = [c for c in record["cmbs"] if c["type"] == "cmb"]
    centres = np.array([c["centre_mm"] for c in cmbs], dtype=float).reshape(-1, 3)
    wall, cpu = time.perf_counter(), time.process_time()
    result = locate(np.asarray(image.dataobj, dtype=np.float32), image.affine, np.asarray(mask.dataobj) > 0.5,
                    centres, settings=settings)  # fmt: skip
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    truth = [TRUE_CLASS[c["location"]] for c in cmbs]
    return {"subject": subject, "truth": truth, "located": list(result.classes), "regions": list(result.regions),
            "sides": list(result.sides), "wall_s": wall, "cpu_s": cpu, "row": result.row()}  # fmt: skip


def truth_row(classes: list[str]) -> dict:
    """Burden flags from true classes (regions unknown: classes stand for them)."""
    from cmb_kd.location import burden

    stand_in = {"lobar": "frontal", "deep": "basal_ganglia", "infratentorial": "cerebellum"}
    return burden([stand_in[c] for c in classes], ["left"] * len(classes)).as_row()


def tables(results: list[dict]) -> str:
    from cmb_kd.location import BURDEN_CLASSES, LOCATION_CLASSES

    truth = [t for r in results for t in r["truth"]]
    located = [t for r in results for t in r["located"]]
    columns = (*LOCATION_CLASSES, "unlocated")
    lines = ["| truth \\ located | " + " | ".join(columns) + " | n |", "|---" * (len(columns) + 2) + "|"]
    for name in LOCATION_CLASSES:
        counts = [sum(t == name and p == c for t, p in zip(truth, located)) for c in columns]
        lines.append(f"| {name} | " + " | ".join(map(str, counts)) + f" | {sum(counts)} |")
    correct = sum(t == p for t, p in zip(truth, located))
    lines.append(f"\nRegion-class accuracy: {correct}/{len(truth)} = {correct / max(len(truth), 1):.3f}\n")
    rows = [(truth_row(r["truth"]), r["row"]) for r in results]
    lines += ["| true burden \\ located | " + " | ".join(BURDEN_CLASSES) + " |", "|---" * 5 + "|"]
    for name in BURDEN_CLASSES:
        counts = [sum(t["burden_class"] == name and p["burden_class"] == c for t, p in rows) for c in BURDEN_CLASSES]
        lines.append(f"| {name} | " + " | ".join(map(str, counts)) + " |")
    lines.append("")
    lines += ["| flag | agree | true yes / located yes |", "|---|---|---|"]
    for flag in ("strictly_lobar", "boston_strictly_lobar_2plus", "mixed"):
        agree = sum(t[flag] == p[flag] for t, p in rows)
        lines.append(
            f"| {flag} | {agree}/{len(rows)} | {sum(t[flag] for t, _ in rows)} / {sum(p[flag] for _, p in rows)} |"
        )
    walls, cpus = [r["wall_s"] for r in results], [r["cpu_s"] for r in results]
    lines.append(f"\nRegistration + look-up per scan: first {walls[0]:.1f} s wall ({cpus[0]:.1f} s CPU); the other "
                 f"{len(walls) - 1}: median {np.median(walls[1:] or walls):.1f} s wall, "
                 f"{np.median(cpus[1:] or cpus):.1f} s CPU (max {max(walls[1:] or walls):.1f} s wall).")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cohort", type=Path, required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--factor", type=int, default=4)
    parser.add_argument("--affine-only", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    import itk

    from cmb_kd.location import RegistrationSettings, load_mars_atlas

    itk.MultiThreaderBase.SetGlobalDefaultNumberOfThreads(1)
    load_mars_atlas()
    settings = RegistrationSettings(deformable=not args.affine_only)
    names = subjects(args.cohort, args.split)[: args.limit]
    results = []
    for name in names:
        results.append(measure_subject(args.cohort, name, args.factor, settings))
        logging.info("%s: %d CMBs, %.1f s", name, len(results[-1]["truth"]), results[-1]["wall_s"])
    print(tables(results))
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
