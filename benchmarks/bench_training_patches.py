"""Training patches per second: the plain data path against the randomised one, and the student's step beside them.

Usage: python benchmarks/bench_training_patches.py [--data COHORT] [--subjects 2] [--batches 30] [--device cpu]

Builds the PLKD student's training data path from the bundle configs, as ``monai.bundle run`` does:
``train.json`` + ``distill_plkd.json`` (plain: every LR input made by ``DegradeResolution``), and the same with
``randomised.json`` + ``randomised_lr.json`` (each patch with a drawn warp, bias field and presentation, each LR
input with a drawn slice profile, thickness, gap, in-plane resolution and Rician noise, see docs/training.md).
After the cache is filled, it times ``--batches`` batches of the data path (draw the candidate-centred patches,
augment, collate, make the LR input on the device) and of the student's training step (E2UNet ``compact``
forward, backward and Adam step on those batches), and prints patches per second for each. ``--data`` reuses a
cohort written by ``cmb-kd synth``; otherwise ``--subjects`` subjects of the default cohort are written to a
temporary folder first.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import torch

CONFIGS = Path(__file__).resolve().parents[1] / "bundles" / "cmb_lr_mri_segmentation" / "configs"
PATHS = {
    "plain": ["train.json", "distill_plkd.json"],
    "randomised": ["train.json", "distill_plkd.json", "randomised.json", "randomised_lr.json"],
}


def _parser(files: list[str], data: Path, device: str):
    from monai.bundle import ConfigParser

    parser = ConfigParser()
    parser.read_config([str(CONFIGS / name) for name in files])
    parser["bundle_root"] = tempfile.mkdtemp(prefix="bench_patches_")
    parser["dataset_dir"] = str(data)
    parser["device"] = f"$torch.device('{device}')"
    return parser


def measure(files: list[str], data: Path, device: str, batches: int) -> dict[str, float]:
    """Patches per second of the data path and of the student's step for one set of config files."""
    from monai.data import CacheDataset, DataLoader
    from monai.utils import set_determinism

    set_determinism(seed=0)
    parser = _parser(files, data, device)
    datalist = parser.get_parsed_content("train#dataset#data")
    transform = parser.get_parsed_content("train#preprocessing")
    dataset = CacheDataset(datalist, transform, cache_rate=1.0, num_workers=0, progress=False)
    loader = DataLoader(dataset, batch_size=int(parser["batch_size"]), shuffle=True, num_workers=0)
    prepare = parser.get_parsed_content("train#prepare_batch")
    prepare.factor = parser.get_parsed_content("target_factor")
    network = parser.get_parsed_content("network_def").to(device)
    optimiser = torch.optim.Adam(network.parameters(), lr=1e-3)
    loss_function = parser.get_parsed_content("loss")

    prepared, patches = [], 0
    start = time.perf_counter()
    while len(prepared) < batches:
        for batch in loader:
            prepared.append(prepare(batch, torch.device(device)))
            patches += prepared[-1][0].shape[0]
            if len(prepared) == batches:
                break
    data_seconds = time.perf_counter() - start

    start = time.perf_counter()
    for lr, label in prepared:
        optimiser.zero_grad()
        loss = loss_function(network(lr), label)
        loss.backward()
        optimiser.step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    step_seconds = time.perf_counter() - start
    return {
        "patches": patches,
        "data_per_s": patches / data_seconds,
        "step_per_s": patches / step_seconds,
        "both_per_s": patches / (data_seconds + step_seconds),
    }


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="a cohort written by cmb-kd synth")
    parser.add_argument("--subjects", type=int, default=2, help="subjects to write when --data is not given")
    parser.add_argument("--batches", type=int, default=30, help="batches timed per path")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)

    data = args.data
    if data is None:
        from cmb_kd.synth import write_cohort

        data = Path(tempfile.mkdtemp(prefix="bench_patches_cohort_"))
        write_cohort(data, args.subjects, 0, progress=False)
    results = {name: measure(files, data, args.device, args.batches) for name, files in PATHS.items()}
    print("| data path | patches timed | data path, patches/s | student step, patches/s | both, patches/s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        print(f"| {name} | {r['patches']} | {r['data_per_s']:.1f} | {r['step_per_s']:.1f} | {r['both_per_s']:.1f} |")
    print(
        f"\n{args.device}; torch threads {torch.get_num_threads()}; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs"
    )
    return results


if __name__ == "__main__":
    main()
