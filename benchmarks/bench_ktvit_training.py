"""Measure how fast KT-ViT trains on the CPU at the paper's 64×64×32 patches, per named width and thread count.

Usage::

    python benchmarks/bench_ktvit_training.py [--widths compact paper] [--threads 1 2] [--batch 2] [--repeats 3]
        [--volume 448 448 128] [--output FILE]

For every width of ``KTViT.WIDTH_PRESETS`` named and every thread count it prints one row of a Markdown table:
parameters, forward GFLOPs of one patch (``torch.utils.flop_counter.FlopCounterMode``, a multiply-add counts as
2 FLOPs), the median time of one H-net training step (BCE on the logits, backward, Adam step with the paper's
lr 1e-4 and weight decay 1e-5) and of one L-net step with transfer (the L-net's step plus the frozen H-net's
forward pass and the KT-ViT loss: MSE at the four feature taps, KL at the decision), each as seconds per batch and
patches per second. ``--volume X Y Z`` also times the whole-volume sliding-window inference of the L-net
(64×64×32 windows, overlap 0.25, as the vessel bundle's ``inference.json``) on a volume of that size, by default
the paper's 448×448×128 TubeTK volume. Timings on a machine shared with other jobs run slower; the header records
the load average at the start.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from monai.inferers import SlidingWindowInferer
from torch.utils.flop_counter import FlopCounterMode

from cmb_kd.losses import ktvit_transfer_loss
from cmb_kd.networks import FeatureTaps, KTViT

PATCH = (64, 64, 32)
"""The paper's training patch, slice axis last."""


def _median_seconds(step: Callable[[], None], repeats: int) -> float:
    step()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _batch(batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    image = torch.rand(batch, 1, *PATCH, generator=generator)
    return image, (image > 0.9).float()


def hnet_step(width: str, batch: int) -> Callable[[], None]:
    """One supervised training step of a KT-ViT (the H-net, or the L-net without transfer)."""
    torch.manual_seed(0)
    net = KTViT(3, 1, 1, width=width).train()
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-4, weight_decay=1e-5)
    loss = torch.nn.BCEWithLogitsLoss()
    image, label = _batch(batch)

    def step() -> None:
        optimiser.zero_grad(set_to_none=True)
        loss(net(image), label).backward()
        optimiser.step()

    return step


def transfer_step(width: str, batch: int) -> Callable[[], None]:
    """One L-net training step with transfer from a frozen H-net, as ``DistillationHandler`` runs it."""
    torch.manual_seed(0)
    lnet, hnet = KTViT(3, 1, 1, width=width).train(), KTViT(3, 1, 1, width=width).eval().requires_grad_(False)
    optimiser = torch.optim.Adam(lnet.parameters(), lr=1e-4, weight_decay=1e-5)
    supervised, transfer = torch.nn.BCEWithLogitsLoss(), ktvit_transfer_loss()
    student_taps = FeatureTaps(lnet, transfer.student_taps).attach()
    teacher_taps = FeatureTaps(hnet, transfer.teacher_taps, detach=True).attach()
    image, label = _batch(batch)

    def step() -> None:
        optimiser.zero_grad(set_to_none=True)
        sup = supervised(lnet(image), label)
        with torch.no_grad():
            hnet(image)
        transfer(sup, student_taps.collect(), teacher_taps.collect())["total"].backward()
        optimiser.step()

    return step


def forward_gflops(width: str) -> tuple[float, float]:
    """(parameters in millions, forward GFLOPs of one patch)."""
    net = KTViT(3, 1, 1, width=width).eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        net(torch.rand(1, 1, *PATCH))
    return sum(p.numel() for p in net.parameters()) / 1e6, counter.get_total_flops() / 1e9


def volume_seconds(width: str, shape: tuple[int, int, int]) -> float:
    """Seconds of one whole-volume sliding-window inference (eval mode, no gradients), after a warm-up window."""
    net = KTViT(3, 1, 1, width=width).eval()
    inferer = SlidingWindowInferer(roi_size=PATCH, sw_batch_size=2, overlap=0.25, mode="gaussian")
    volume = torch.rand(1, 1, *shape)
    with torch.no_grad():
        net(torch.rand(1, 1, *PATCH))
        start = time.perf_counter()
        inferer(volume, net)
    return time.perf_counter() - start


def _row(width: str, threads: int, args: argparse.Namespace, sizes: tuple[float, float]) -> str:
    torch.set_num_threads(threads)
    hnet = _median_seconds(hnet_step(width, args.batch), args.repeats)
    lnet = _median_seconds(transfer_step(width, args.batch), args.repeats)
    cells = [
        width,
        f"{sizes[0]:.2f} M",
        f"{sizes[1]:.1f}",
        str(threads),
        f"{hnet:.2f}",
        f"{args.batch / hnet:.2f}",
        f"{lnet:.2f}",
        f"{args.batch / lnet:.2f}",
    ]
    if args.volume:
        cells.append(f"{volume_seconds(width, tuple(args.volume)):.0f}")
    return "| " + " | ".join(cells) + " |"


def main(argv: list[str] | None = None) -> list[str]:
    """Run the benchmark; returns the printed lines (the header, then one row per width and thread count)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", nargs="+", default=["compact", "paper"], choices=sorted(KTViT.WIDTH_PRESETS))
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2], help="torch intra-op threads per row")
    parser.add_argument("--batch", type=int, default=2, help="patches per batch (default 2, the bundle's)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repetitions after one warm-up (median)")
    parser.add_argument("--volume", nargs=3, type=int, default=None, help="also time inference on X Y Z voxels")
    parser.add_argument("--output", type=Path, default=None, help="also write the Markdown table here")
    args = parser.parse_args(argv)
    volume = f", inference on {'×'.join(map(str, args.volume))} voxels" if args.volume else ""
    header = (
        f"CPU: {platform.processor() or platform.machine()}, torch {torch.__version__}, patch "
        f"{'×'.join(map(str, PATCH))}, batch {args.batch}, median of {args.repeats}{volume}, "
        f"load average at start {os.getloadavg()[0]:.1f}\n\n"
        "| width | parameters | GFLOPs / patch (fwd) | threads | H-net step s / batch | H-net patches / s "
        "| L-net + transfer s / batch | L-net + transfer patches / s |"
        + (" whole-volume inference s |" if args.volume else "")
        + "\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        + (" ---: |" if args.volume else "")
    )
    print(header, flush=True)
    lines = [header]
    for width in args.widths:
        sizes = forward_gflops(width)
        for threads in args.threads:
            line = _row(width, threads, args, sizes)
            print(line, flush=True)
            lines.append(line)
    if args.output is not None:
        args.output.write_text("\n".join(lines) + "\n")
    return lines


if __name__ == "__main__":
    main()
