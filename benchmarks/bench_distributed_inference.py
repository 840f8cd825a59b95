"""Scans per minute per process of ``cmb-kd infer --distributed`` on 1 and 2 CPU processes under torchrun.

Usage: python benchmarks/bench_distributed_inference.py [--scans 8] [--processes 1 2] [--seed 11] [--work DIR]
[--bundle DIR]

The cohort: ``--scans`` subjects simulated on a 2 mm HR grid (``SynthConfig(shape=(96, 112, 88), spacing=2.0,
lr_factors=(4,))``, to keep the benchmark short), their native x4 thick-slice scans (2 x 2 x 8 mm, 96 x 112 x 22
voxels) with their brain masks beside them, so that no skull stripping runs. It is written once into
``--work/cohort`` and reused by later runs with the same ``--work``. For each process count P,

    python -m torch.distributed.run --standalone --nproc_per_node=P -m cmb_kd infer --distributed COHORT
        --output WORK/out-P --brain-mask beside --device cpu --quiet [--bundle DIR]

runs into a fresh output folder with ``OMP_NUM_THREADS=1`` per process (one core each), the shipped bundle (its
``inference.json`` on the 1 mm working grid, the trained ``models/model.pt``) unless ``--bundle`` names another. The
wall time is the whole launch: process start-up, bundle loading, the first scan's warm-up, the scans, the gather.
Prints a Markdown table (processes, scans, wall seconds, scans per minute, scans per minute per process) and the
one-minute load average before and after each launch: processes beside it (training, say) share the cores, and P
processes scale only while P cores are free.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nibabel as nib

from cmb_kd.synth import SynthConfig, simulate_subject


def write_cohort(folder: Path, n_scans: int, seed: int) -> list[Path]:
    """``n_scans`` native x4 scans ``sub-NNN_T2S_lr-x4.nii.gz`` with their brain masks beside them (kept if there)."""
    folder.mkdir(parents=True, exist_ok=True)
    config = SynthConfig(shape=(96, 112, 88), spacing=2.0, lr_factors=(4,))
    scans = []
    for index in range(n_scans):
        scan = folder / f"sub-{index + 1:03d}_T2S_lr-x4.nii.gz"
        mask = folder / f"sub-{index + 1:03d}_brainmask_lr-x4.nii.gz"
        if not (scan.is_file() and mask.is_file()):
            lr = simulate_subject(config, seed=seed + index).lr["x4"]
            nib.save(nib.Nifti1Image(lr.magnitude, lr.affine), scan)
            nib.save(nib.Nifti1Image(lr.brain_mask, lr.affine), mask)
        scans.append(scan)
    return scans


def launch(scans: list[Path], output: Path, processes: int, bundle: Path | None) -> dict[str, float]:
    """Run ``cmb-kd infer --distributed`` on ``processes`` processes; its wall time and the loads around it."""
    shutil.rmtree(output, ignore_errors=True)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
    command += ["-m", "cmb_kd", "infer", "--distributed", *map(str, scans), "--output", str(output)]
    command += ["--brain-mask", "beside", "--device", "cpu", "--quiet"]
    command += [] if bundle is None else ["--bundle", str(bundle)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    with open(output / "cmb_summary.csv", newline="") as handle:
        ok = sum(row["status"] == "ok" for row in csv.DictReader(handle))
    if ok != len(scans):
        raise RuntimeError(f"{ok} of {len(scans)} scans processed; see {output / 'cmb_summary.csv'}")
    per_minute = 60.0 * len(scans) / wall
    return {
        "processes": processes,
        "scans": len(scans),
        "wall_s": wall,
        "per_min": per_minute,
        "per_min_per_process": per_minute / processes,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> list[dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=8, help="scans in the cohort (8)")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2], help="process counts to time (1 2)")
    parser.add_argument("--seed", type=int, default=11, help="seed of the first simulated subject (11)")
    parser.add_argument("--work", type=Path, default=None, help="folder for the cohort and outputs (a temporary one)")
    parser.add_argument("--bundle", type=Path, default=None, help="bundle folder (the shipped one)")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_distributed_"))
    scans = write_cohort(work / "cohort", args.scans, args.seed)
    rows = [launch(scans, work / f"out-{n}", n, args.bundle) for n in args.processes]
    print(f"CPU: {platform.machine()}, {os.cpu_count()} cores; OMP_NUM_THREADS=1 per process; cohort in {work}\n")
    print("| processes | scans | wall (s) | scans/min | scans/min/process | load before -> after |")
    print("| ---: | ---: | ---: | ---: | ---: | --- |")
    for row in rows:
        print(
            f"| {row['processes']} | {row['scans']} | {row['wall_s']:.1f} | {row['per_min']:.2f} | "
            f"{row['per_min_per_process']:.2f} | {row['load_before']:.1f} -> {row['load_after']:.1f} |"
        )
    return rows


if __name__ == "__main__":
    main()
