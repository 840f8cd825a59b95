"""Seconds and peak memory per synthetic subject (simulation and writing), one fresh process per subject.

Usage: python benchmarks/bench_synth.py [--subjects 3] [--seed 0]

Prints a Markdown table. Each subject runs in its own process so its peak resident memory
(ru_maxrss) is its own; the one-off template load is reported separately.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import resource
import tempfile
import time
from pathlib import Path


def _one(seed: int, queue) -> None:
    import torch

    from cmb_kd.synth import SynthConfig, simulate_subject, write_subject
    from cmb_kd.synth.anatomy import load_template

    start = time.perf_counter()
    load_template()
    loaded = time.perf_counter()
    subject = simulate_subject(SynthConfig(), seed=seed)
    simulated = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        write_subject(subject, Path(tmp), "sub-bench")
        written = time.perf_counter()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    queue.put(
        {
            "seed": seed,
            "template_s": loaded - start,
            "simulate_s": simulated - loaded,
            "write_s": written - simulated,
            "peak_mib": peak_mib,
            "cmbs": len(subject.lesions),
            "b0": subject.acquisition["field_strength_t"],
            "threads": torch.get_num_threads(),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    ctx = mp.get_context("spawn")
    rows = []
    for i in range(args.subjects):
        queue = ctx.Queue()
        proc = ctx.Process(target=_one, args=(args.seed + i, queue))
        proc.start()
        rows.append(queue.get())
        proc.join()
    from cmb_kd.synth import SynthConfig

    config = SynthConfig()
    print(
        f"HR grid {config.shape} at {config.spacing} mm, LR factors {config.lr_factors}; "
        f"{platform.processor() or platform.machine()}, "
        f"{mp.cpu_count()} cores, torch threads {rows[0]['threads']}\n"
    )
    print(
        "| seed | B0 (T) | CMBs | template load (s) | simulate (s) | write (s) | total per subject (s) "
        "| peak memory (MiB) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        total = r["simulate_s"] + r["write_s"]
        print(
            f"| {r['seed']} | {r['b0']} | {r['cmbs']} | {r['template_s']:.1f} | {r['simulate_s']:.1f} "
            f"| {r['write_s']:.1f} "
            f"| {total:.1f} | {r['peak_mib']:.0f} |"
        )
    totals = [r["simulate_s"] + r["write_s"] for r in rows]
    print(
        f"\nmean {sum(totals) / len(totals):.1f} s per subject (target <= 30 s), "
        f"max peak {max(r['peak_mib'] for r in rows):.0f} MiB (target <= 4096 MiB)"
    )


if __name__ == "__main__":
    main()
