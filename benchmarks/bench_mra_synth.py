"""Seconds and peak memory per synthetic TOF MRA subject (simulation and writing), one fresh process per subject.

Usage: python benchmarks/bench_mra_synth.py [--grid tubetk|small] [--subjects 3] [--seed 0] [--threads 1]

Prints a Markdown table. Each subject runs in its own process (torch and BLAS limited to ``--threads``) so its
peak resident memory (ru_maxrss) is its own; the one-off template load (nilearn's MNI152 maps and the distance
maps derived from them, cached for the rest of a process) is reported separately.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import resource
import tempfile
import time
from pathlib import Path


def _one(grid: str, seed: int, threads: int, queue) -> None:
    import torch

    torch.set_num_threads(threads)
    from cmb_kd.synth import MRA_GRIDS, MRAConfig, simulate_mra_subject, write_mra_subject
    from cmb_kd.synth.mra_anatomy import brain_distance

    shape, spacing, centre = MRA_GRIDS[grid]
    config = MRAConfig(shape=shape, spacing=spacing, centre_mm=centre)
    start = time.perf_counter()
    brain_distance()
    loaded = time.perf_counter()
    subject = simulate_mra_subject(config, seed=seed)
    simulated = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        write_mra_subject(subject, Path(tmp), "sub-bench")
        written = time.perf_counter()
    queue.put(
        {
            "seed": seed,
            "template_s": loaded - start,
            "simulate_s": simulated - loaded,
            "write_s": written - simulated,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
            "segments": len(subject.tree),
            "vessel_voxels": int(subject.label.sum()),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", choices=("tubetk", "small"), default="tubetk")
    parser.add_argument("--subjects", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(args.threads)  # inherited by the spawned processes
    ctx = mp.get_context("spawn")
    rows = []
    for i in range(args.subjects):
        queue = ctx.Queue()
        proc = ctx.Process(target=_one, args=(args.grid, args.seed + i, args.threads, queue))
        proc.start()
        rows.append(queue.get())
        proc.join()
    from cmb_kd.synth import MRA_GRIDS

    shape, spacing, _ = MRA_GRIDS[args.grid]
    load = os.getloadavg()[0]
    print(
        f"MRA grid {args.grid} {shape} at {spacing} mm; {platform.processor() or platform.machine()}, "
        f"{mp.cpu_count()} cores, {args.threads} thread(s) per subject, load average {load:.1f} at the end\n"
    )
    print("| seed | segments | vessel voxels | template load (s) | simulate (s) | write (s) | total per subject (s) "
          "| peak memory (MiB) |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        total = r["simulate_s"] + r["write_s"]
        print(
            f"| {r['seed']} | {r['segments']} | {r['vessel_voxels']} | {r['template_s']:.1f} | {r['simulate_s']:.1f} "
            f"| {r['write_s']:.1f} | {total:.1f} | {r['peak_mib']:.0f} |"
        )
    totals = [r["simulate_s"] + r["write_s"] for r in rows]
    print(f"\nmean {sum(totals) / len(totals):.1f} s per subject (simulate + write), max {max(totals):.1f} s")


if __name__ == "__main__":
    main()
