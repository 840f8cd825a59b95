"""Seconds and peak memory per rendered scan (render_scan) of one default 1 mm subject.

Usage: python benchmarks/bench_scanner.py [--draws 6] [--seed 0]

Simulates one subject on the default grid, then renders it with ``--draws`` scanners drawn from
the training distribution ``ScannerConfig()``, with every preset of ``SCANNER_PRESETS``, and with
the largest grid the training distribution allows (0.4 mm in-plane, 2 mm contiguous slices). Each
render runs in its own process that first loads the subject; the peak resident memory of the process
is then reset (Linux ``/proc/self/clear_refs``), so the memory reported is the peak the render adds
on top of the loaded subject. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing as mp
import pickle
import platform
import tempfile
import time
from pathlib import Path


def _resident_mib(field: str) -> float:
    """A memory line of /proc/self/status (VmRSS: current, VmHWM: peak since the last reset), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"/proc/self/status has no {field} line")


def _render(path: str, label: str, draw_fields: dict, queue) -> None:
    import numpy as np
    import torch

    from cmb_kd.synth.scanner import render_scan
    from cmb_kd.synth.scanner_draw import ScannerDraw

    with open(path, "rb") as handle:
        subject = pickle.load(handle)
    draw = ScannerDraw(**draw_fields)
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak resident set size to the current one
    before = _resident_mib("VmRSS")
    start = time.perf_counter()
    scan = render_scan(subject, draw, np.random.default_rng(0))
    seconds = time.perf_counter() - start
    after = _resident_mib("VmHWM")
    record = scan.record
    queue.put(
        {
            "label": label,
            "seconds": seconds,
            "added_mib": after - before,
            "peak_mib": after,
            "rendered": record["rendered_shape"],
            "spacing": record["rendered_spacing_mm"],
            "profile": record["slice_profile"],
            "window": record["kspace_window"],
            "presentation": record["presentation"],
            "dtype": record["dtype"],
            "visible": f"{record['n_cmb_visible']}/{len(record['cmbs'])}",
            "threads": torch.get_num_threads(),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import numpy as np

    from cmb_kd.synth import SynthConfig, simulate_subject
    from cmb_kd.synth.scanner_config import SCANNER_PRESETS, ScannerConfig
    from cmb_kd.synth.scanner_draw import draw_scanner

    config = SynthConfig()
    subject = simulate_subject(config, seed=args.seed)
    jobs = []
    for i in range(args.draws):
        jobs.append((f"training draw {i}", draw_scanner(ScannerConfig(), np.random.default_rng([args.seed, i]))))
    for name, preset in SCANNER_PRESETS.items():
        jobs.append((name, draw_scanner(preset, np.random.default_rng([args.seed, 100]))))
    largest = dataclasses.replace(
        jobs[0][1], inplane_spacing=0.4, slice_thickness=2.0, slice_gap=0.0, kspace_window="hamming"
    )
    jobs.append(("largest grid (0.4 mm, 2 mm slices)", largest))

    ctx = mp.get_context("spawn")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "subject.pkl"
        with open(path, "wb") as handle:
            pickle.dump(subject, handle)
        for label, draw in jobs:
            queue = ctx.Queue()
            proc = ctx.Process(target=_render, args=(str(path), label, dataclasses.asdict(draw), queue))
            proc.start()
            rows.append(queue.get())
            proc.join()
    print(
        f"HR grid {config.shape} at {config.spacing} mm, subject seed {args.seed} ({len(subject.lesions)} CMBs); "
        f"{platform.processor() or platform.machine()}, {mp.cpu_count()} cores, torch threads {rows[0]['threads']}\n"
    )
    print(
        "| scanner | rendered grid | spacing (mm) | profile | window | presentation | dtype | visible CMBs "
        "| render (s) | added peak memory (MiB) |"
    )
    print("|---|---|---|---|---|---|---|---:|---:|---:|")
    for r in rows:
        grid = "×".join(str(n) for n in r["rendered"])
        spacing = "×".join(f"{s:.2f}" for s in r["spacing"])
        print(
            f"| {r['label']} | {grid} | {spacing} | {r['profile']} | {r['window']} | {r['presentation']} "
            f"| {r['dtype']} | {r['visible']} | {r['seconds']:.2f} | {r['added_mib']:.0f} |"
        )
    seconds = [r["seconds"] for r in rows]
    print(
        f"\nmean {sum(seconds) / len(seconds):.2f} s per scan, max {max(seconds):.2f} s; "
        f"max added peak memory {max(r['added_mib'] for r in rows):.0f} MiB"
    )


if __name__ == "__main__":
    main()
