"""Seconds per stage of whole-volume CMB inference on a native thick-slice scan, against a full sliding window.

Usage: python benchmarks/bench_infer.py [--repeats 2] [--seed 7] [--max-candidates 200 50] [--screening]
[--device cpu] [--bundle DIR]

The scan: a synthetic subject simulated on a 2 mm HR grid (``SynthConfig(shape=(96, 112, 88), spacing=2.0)``, to keep
the benchmark short; the speed depends on the grid, not on the detail) is resampled (trilinear,
with a 3 mm slab average through the slices) onto a native grid of 256×256×50 voxels of 0.5×0.5×3 mm centred on
the head (a 128×128×150 mm field of view; the head is wider, so the edges of the scan cut through it, as a
small-FOV clinical scan does). The detector is the bundle's ``configs/inference.json`` on a 1 mm working grid,
with one column per ``--max-candidates`` cap, without the screening FCN and, with ``--screening`` or when
``models/screening/model.pt`` exists, with it. It loads the trained weights ``models/model.pt`` (and
``models/screening/model.pt``) when they exist, as the config does, and untrained weights of the same architectures
otherwise; the footer says which. A network's time per crop or window does not depend on the weight values, but
stage 2's time depends on how many crops it runs: one per candidate, less those merged into an earlier crop (the
rows "candidates per scan" and "stage-2 crops per scan"), and the clean-up's on how many components pass the
threshold, which does depend on the weights. FRST and threshold + morphology do not depend on any weights and fill
the cap on this scan, so without the FCN the candidates, and so the crops, are the same for trained and untrained
weights; the screening FCN is a source of candidates too, so with it the candidates and crops depend on its
weights. A first call warms up (ITK and PyTorch load their kernels); the table gives the median over
``--repeats`` timed calls.

Beside it, the same E²U-Net is run as a MONAI sliding window over the whole brain box (48×48×24 windows, overlap
0.25, batch 8) on the same standardised working volume, in the same process, and the ratio of its time to
stage 2's is printed. Peak memory is the process's peak resident set size (``ru_maxrss``) after the detector
runs, before the sliding window. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

from cmb_kd.inference import STAGES, CMBDetector, brain_box, default_bundle_dir
from cmb_kd.synth import SynthConfig, simulate_subject

NATIVE_SHAPE = (256, 256, 50)
NATIVE_SPACING = (0.5, 0.5, 3.0)


def native_scan(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A (256, 256, 50) scan of 0.5×0.5×3 mm voxels made from a simulated 1 mm HR subject, with its affine."""
    subject = simulate_subject(SynthConfig(shape=(96, 112, 88), spacing=2.0, lr_factors=(4,)), seed=seed)
    hr, hr_affine = subject.magnitude, subject.affine
    brain_centre = np.array(ndimage.center_of_mass(subject.brain_mask > 0))
    centre_mm = hr_affine[:3, :3] @ brain_centre + hr_affine[:3, 3]
    affine = np.diag([*NATIVE_SPACING, 1.0])
    affine[:3, 3] = centre_mm - affine[:3, :3] @ ((np.array(NATIVE_SHAPE) - 1) / 2.0)
    to_hr = np.linalg.inv(hr_affine) @ affine
    grid = np.stack(np.meshgrid(*[np.arange(n, dtype=np.float64) for n in NATIVE_SHAPE], indexing="ij"), axis=0)
    slab = np.zeros(NATIVE_SHAPE, dtype=np.float64)
    offsets = np.linspace(-1.0, 1.0, 3) * NATIVE_SPACING[2] / 3.0
    for dz in offsets:  # slab average through the 3 mm slice
        points = grid.copy()
        points[2] += dz / NATIVE_SPACING[2]
        hr_points = np.tensordot(to_hr[:3, :3], points, axes=1) + to_hr[:3, 3, None, None, None]
        slab += ndimage.map_coordinates(hr, hr_points, order=1, mode="constant", cval=0.0)
    return (slab / len(offsets)).astype(np.float32), affine


def sliding_window_seconds(detector: CMBDetector, image: np.ndarray, affine: np.ndarray) -> tuple[float, tuple]:
    """Seconds of the E²U-Net as a full sliding window over the standardised brain box of ``image``."""
    from monai.data import MetaTensor
    from monai.inferers import SlidingWindowInferer

    work = detector.working_grid(MetaTensor(torch.from_numpy(image)[None], affine=torch.as_tensor(affine)))
    brain = np.asarray(detector.skull_strip(work)[0]) != 0
    box = brain_box(brain, detector.inferer.patch_size)
    volume = detector.standardisation(np.asarray(work[0])[box], brain[box])
    tensor = torch.from_numpy(volume)[None, None].to(detector.device)
    inferer = SlidingWindowInferer(roi_size=detector.inferer.patch_size, sw_batch_size=8, overlap=0.25)
    start = time.perf_counter()
    with torch.no_grad():
        torch.sigmoid(inferer(tensor, detector.network))
    return time.perf_counter() - start, tuple(volume.shape)


def weights_note(bundle: Path, model_path: Path, screening_path: Path, with_screening: bool) -> str:
    """Which weights the detector ran with: trained where the bundle's file exists, untrained otherwise."""
    paths = [model_path, screening_path] if with_screening else [model_path]
    trained = [str(p.relative_to(bundle)) for p in paths if p.is_file()]
    missing = [str(p.relative_to(bundle)) for p in paths if not p.is_file()]
    if not missing:
        return f"trained ({', '.join(trained)})"
    if not trained:
        return f"untrained (no {', '.join(missing)})"
    return f"trained ({', '.join(trained)}), untrained for the rest (no {', '.join(missing)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-candidates", type=int, nargs="+", default=[200, 50])
    parser.add_argument(
        "--screening",
        action="store_true",
        help="also time columns with the screening FCN (always done when models/screening/model.pt exists; "
        "untrained weights otherwise)",
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--bundle", type=Path, default=None)
    args = parser.parse_args()
    bundle = args.bundle or default_bundle_dir()

    start = time.perf_counter()
    image, affine = native_scan(args.seed)
    make_seconds = time.perf_counter() - start
    load = os.getloadavg()[0]
    print(
        f"CPU: {platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"load average at start {load:.1f}; scan {image.shape} at {NATIVE_SPACING} mm made in {make_seconds:.0f} s; "
        f"median of {args.repeats}"
    )
    rows = []
    model_path, screening_path = bundle / "models" / "model.pt", bundle / "models" / "screening" / "model.pt"
    with_screening = args.screening or screening_path.is_file()
    settings = [(cap, False) for cap in args.max_candidates]
    if with_screening:
        settings += [(cap, True) for cap in args.max_candidates]
    detector = None
    for cap, screening in settings:
        overrides = {"candidate_detector#max_candidates": cap, "use_screening": screening}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            detector = CMBDetector.from_bundle(bundle, device=args.device, allow_untrained=True, overrides=overrides)
        detector(image, affine)  # warm-up
        runs, crops = [], []
        for _ in range(args.repeats):
            runs.append(detector(image, affine))
            crops.append(detector.inferer.last_crop_count)
        timings = {stage: statistics.median(r.timings[stage] for r in runs) for stage in STAGES}
        total = statistics.median(r.total_seconds for r in runs)
        name = f"cap {cap}" + (" + screening FCN" if screening else "")
        counts = (statistics.median(len(r.candidates) for r in runs), statistics.median(crops))
        rows.append((name, counts, timings, total))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    sliding, box_shape = sliding_window_seconds(detector, image, affine)

    header = ["stage", *[name for name, *_ in rows]]
    print("| " + " | ".join(header) + " |")
    print("| --- |" + " ---: |" * len(rows))
    print("| candidates per scan | " + " | ".join(f"{n:g}" for _, (n, _), _, _ in rows) + " |")
    print("| stage-2 crops per scan | " + " | ".join(f"{n:g}" for _, (_, n), _, _ in rows) + " |")
    for stage in STAGES:
        print(f"| {stage} | " + " | ".join(f"{t[stage]:.2f}" for _, _, t, _ in rows) + " |")
    print("| **total (s)** | " + " | ".join(f"**{total:.2f}**" for *_, total in rows) + " |")
    print(
        f"| full sliding window, E2UNet over the brain box {box_shape} (s) | "
        + " | ".join(f"{sliding:.2f}" for _ in rows)
        + " |"
    )
    print(
        "| sliding window / stage 2 | " + " | ".join(f"{sliding / t['segmentation']:.2f}" for _, _, t, _ in rows) + " |"
    )
    print(f"\npeak resident memory of the process after the detector runs: {peak_mb:.0f} MiB")
    print(f"weights: {weights_note(bundle, model_path, screening_path, with_screening)}")


if __name__ == "__main__":
    main()
