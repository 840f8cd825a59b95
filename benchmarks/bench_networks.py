"""Measure each network's size, FLOPs per patch and CPU forward / training time per batch.

Usage::

    python benchmarks/bench_networks.py [--batch 8] [--repeats 3] [--threads N] [--only NAME ...] [--output FILE]

For every configuration it prints one row of a Markdown table: parameters, forward FLOPs for one patch
(``torch.utils.flop_counter.FlopCounterMode``, a multiply-add counts as 2 FLOPs), the median time of a forward
pass (eval mode, no gradients) and of a training step (forward + backward + Adam step, train mode) on a batch,
and the training time per patch. ``--output`` also writes the table to a file.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

from cmb_kd.networks import E2UNet, KTViT, ScreeningFCN
from cmb_kd.networks.candidate_resnet import CandidateResNet3D


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[], nn.Module]
    in_channels: int
    patch: tuple[int, ...]


CASES = [
    Case("ScreeningFCN", lambda: ScreeningFCN(3, 1, 1), 1, (20, 20, 16)),
    Case("E2UNet (default, compact)", lambda: E2UNet(3, 1, 1), 1, (48, 48, 24)),
    Case("E2UNet (compact, fcm=False)", lambda: E2UNet(3, 1, 1, fcm=False), 1, (48, 48, 24)),
    Case("E2UNet (unet width)", lambda: E2UNet(3, 1, 1, channels="unet"), 1, (48, 48, 24)),
    Case("KTViT (default compact width, P=4)", lambda: KTViT(3, 1, 1), 1, (64, 64, 32)),
    Case("KTViT (paper width, P=4)", lambda: KTViT(3, 1, 1, width="paper"), 1, (64, 64, 32)),
    Case("KTViT (paper, P=(4,4,2))", lambda: KTViT(3, 1, 1, width="paper", patch_size=(4, 4, 2)), 1, (48, 48, 24)),
    Case("CandidateResNet3D", lambda: CandidateResNet3D(3, 2, 2), 2, (21, 21, 21)),
    Case("CandidateResNet3D (+seg head)", lambda: CandidateResNet3D(3, 2, 2, segmentation_channels=1), 2, (21, 21, 21)),
]


def _loss(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    if isinstance(net, CandidateResNet3D) and net.segmentation_channels > 0:
        logits, seg = net.forward_multitask(x)
        return logits.square().mean() + seg.square().mean()
    return net(x).square().mean()


def _median_seconds(step: Callable[[], None], repeats: int) -> float:
    step()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(case: Case, batch: int, repeats: int) -> dict[str, float]:
    torch.manual_seed(0)
    net = case.build()
    params = sum(p.numel() for p in net.parameters())
    x1 = torch.rand(1, case.in_channels, *case.patch)
    net.eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        net(x1)
    flops = counter.get_total_flops()
    x = torch.rand(batch, case.in_channels, *case.patch)

    def forward() -> None:
        with torch.no_grad():
            net(x)

    forward_s = _median_seconds(forward, repeats)
    net.train()
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-4)

    def train_step() -> None:
        optimiser.zero_grad(set_to_none=True)
        _loss(net, x).backward()
        optimiser.step()

    train_s = _median_seconds(train_step, repeats)
    return {"params": params, "flops": flops, "forward_s": forward_s, "train_s": train_s, "per_patch": train_s / batch}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8, help="patches per batch (default 8)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repetitions after one warm-up (median)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--only", nargs="*", default=None, help="run the cases whose name starts with these")
    parser.add_argument("--output", type=Path, default=None, help="also write the Markdown table here")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    cases = [c for c in CASES if not args.only or any(c.name.startswith(o) for o in args.only)]
    header = (
        f"CPU: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, batch {args.batch}, median of {args.repeats}, "
        f"load average at start {os.getloadavg()[0]:.1f}\n\n"
        "| network | patch | parameters | GFLOPs / patch (fwd) | forward s / batch | train s / batch "
        "| train s / patch |\n"
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
    )
    print(header, flush=True)
    lines = [header]
    for case in cases:
        r = measure(case, args.batch, args.repeats)
        line = (
            f"| {case.name} | {'×'.join(map(str, case.patch))}×{case.in_channels}ch | {r['params'] / 1e6:.2f} M | "
            f"{r['flops'] / 1e9:.2f} | {r['forward_s']:.3f} | {r['train_s']:.3f} | {r['per_patch']:.3f} |"
        )
        print(line, flush=True)
        lines.append(line)
    if args.output is not None:
        args.output.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
