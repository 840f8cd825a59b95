"""Benchmark of cmb_kd.transforms: training-chain throughput and skull-stripping accuracy.

Usage::

    python benchmarks/bench_transforms.py                     # both parts, 10 synthetic subjects
    python benchmarks/bench_transforms.py --part throughput --device cuda
    python benchmarks/bench_transforms.py --part skullstrip --subjects 10 --cache /tmp/cmb_synth

Throughput: patches per second through the full training transform chain (candidate-centred 48x48x24 crops,
random degrade x2/x4/x8 to the LR input, flips / in-plane swap / noise) on a 192x224x176 volume already on the
device. Skull stripping: Dice with the true brain mask and seconds per volume for synthetic subjects at HR
(1 mm) and on their native x4 thick-slice acquisition. All results are on synthetic data.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch
from monai.data import MetaTensor
from monai.transforms import Compose

from cmb_kd.transforms import RandCandidateCropd, RandDegradeResolutiond, SkullStrip, patch_augmentation


def training_chain(seed: int = 0) -> Compose:
    """Crop -> degrade -> augment, as wired in the training configs."""
    chain = Compose(
        [
            RandCandidateCropd(
                ["image", "label"], "label", mimic_key="mimic", brain_key="brain", spatial_size=(48, 48, 24),
                num_samples=4, positive=1, mimic=1, false_positive=0, negative=1,
            ),
            RandDegradeResolutiond("image", factors=(2, 4, 8), output_keys="image_lr"),
            patch_augmentation(["image", "image_lr", "label"], noise_keys="image_lr"),
        ]
    )  # fmt: skip
    return chain.set_random_state(seed)


def synthetic_volume(device: torch.device, shape: tuple[int, int, int] = (192, 224, 176)) -> dict:
    """A random 1 mm volume with 8 small CMB labels, a few mimic blobs and an ellipsoidal brain, on ``device``."""
    rng = np.random.default_rng(0)
    grid = np.ogrid[tuple(slice(0, n) for n in shape)]
    brain = sum(((g - n / 2) / (0.4 * n)) ** 2 for g, n in zip(grid, shape)) < 1
    label = np.zeros(shape, np.uint8)
    mimic = np.zeros(shape, np.uint8)
    for target in (label, mimic):
        for c in rng.integers(40, np.array(shape) - 40, size=(8, 3)):
            target[c[0] - 1 : c[0] + 2, c[1] - 1 : c[1] + 2, c[2] - 1 : c[2] + 1] = 1
    image = MetaTensor(torch.from_numpy(rng.random(shape, dtype=np.float32))[None], affine=torch.eye(4))
    tensors = {"image": image, "label": torch.from_numpy(label)[None], "mimic": torch.from_numpy(mimic)[None]}
    tensors["brain"] = torch.from_numpy(brain.astype(np.uint8))[None]
    return {k: v.to(device) for k, v in tensors.items()}


def bench_throughput(device: torch.device, iterations: int) -> float:
    """Patches per second through :func:`training_chain` on ``device``."""
    data = synthetic_volume(device)
    chain = training_chain()
    chain(data)  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    patches = 0
    for _ in range(iterations):
        patches += len(chain(data))
    if device.type == "cuda":
        torch.cuda.synchronize()
    return patches / (time.perf_counter() - start)


def load_subject(seed: int, cache: Path | None) -> dict:
    """Synthetic subject ``seed`` (default SynthConfig) as arrays, read from / written to ``cache`` if given."""
    path = cache / f"s{seed}.npz" if cache else None
    if path is not None and path.exists():
        return dict(np.load(path))
    from cmb_kd.synth import SynthConfig, simulate_subject

    s = simulate_subject(SynthConfig(), seed=seed)
    lr = s.lr["x4"]
    out = {"m": s.magnitude, "b": s.brain_mask, "a": s.affine, "lm": lr.magnitude, "lb": lr.brain_mask, "la": lr.affine}
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **out)
    return out


def dice(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 0, b > 0
    return float(2.0 * (a & b).sum() / max(a.sum() + b.sum(), 1))


def bench_skull_strip(
    subjects: int, cache: Path | None, first_seed: int = 100
) -> list[tuple[int, float, float, float, float]]:
    """Per subject: (seed, Dice HR, seconds HR, Dice x4, seconds x4), on seeds never used to tune the method."""
    strip = SkullStrip()
    rows = []
    for seed in range(first_seed, first_seed + subjects):
        s = load_subject(seed, cache)
        result = [seed]
        for image, mask, affine in ((s["m"], s["b"], s["a"]), (s["lm"], s["lb"], s["la"])):
            x = MetaTensor(torch.from_numpy(image)[None], affine=torch.as_tensor(affine))
            if seed == first_seed and len(result) == 1:
                strip(x)  # load ITK's filters once, outside the timing
            start = time.perf_counter()
            m = strip(x)
            elapsed = time.perf_counter() - start
            result += [dice(np.asarray(m[0]), mask), elapsed]
        rows.append(tuple(result))
        print(f"subject {seed}: Dice HR {result[1]:.4f} ({result[2]:.2f} s), x4 {result[3]:.4f} ({result[4]:.2f} s)")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["all", "throughput", "skullstrip"], default="all")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cpu, and cuda too when available)")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--subjects", type=int, default=10)
    parser.add_argument(
        "--first-seed", type=int, default=100, help="first subject seed (default 100; seeds 0-9 were used for tuning)"
    )
    parser.add_argument("--cache", type=Path, default=None, help="folder to keep simulated subjects in")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs")
    if args.part in ("all", "throughput"):
        devices = [args.device] if args.device else ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        print("\n| device | patches/s (48x48x24, crop + degrade + augment) |\n|---|---|")
        for name in devices:
            print(f"| {name} | {bench_throughput(torch.device(name), args.iterations):.1f} |")
    if args.part in ("all", "skullstrip"):
        rows = np.array(bench_skull_strip(args.subjects, args.cache, args.first_seed))
        print("\n| grid | mean Dice | min Dice | mean s/volume | max s/volume |\n|---|---|---|---|---|")
        for label, d, t in (("HR 1 mm", 1, 2), ("native x4", 3, 4)):
            print(
                f"| {label} | {rows[:, d].mean():.4f} | {rows[:, d].min():.4f} | {rows[:, t].mean():.2f} | "
                f"{rows[:, t].max():.2f} |"
            )


if __name__ == "__main__":
    main()
