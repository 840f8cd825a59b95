"""Benchmark of cmb_kd.location: atlas build time and registration time and accuracy per scan, on one CPU core.

Usage::

    python benchmarks/bench_location.py                  # 3 subjects, affine only and affine + deformable
    python benchmarks/bench_location.py --subjects 5 --shape 192 224 176 --spacing 1 --slice 4

Each subject is the MNI template drawn through a random affine (no elastic part, so the truth is known exactly) by
:func:`cmb_kd.synth.anatomy.deform_template` on a ``--shape`` grid of ``--spacing`` mm, turned into a T2*-like image
(CSF bright, grey above white matter) and averaged into slices ``--slice`` times thicker (a thick-slice scan).
The table gives, per registration mode, the wall and CPU seconds per scan (the first call, which also loads ITK's
registration modules, is timed apart) and the error in mm at ten MNI landmarks (deep nuclei, brainstem, cortex).
All results are on synthetic data.
"""

from __future__ import annotations

import argparse
import time

import itk
import numpy as np

from cmb_kd.location import RegistrationSettings, load_mars_atlas, register_to_template
from cmb_kd.synth.anatomy import deform_template, template_to_grid

LANDMARKS = np.array(
    [[25, 3, 1], [-25, 3, 1], [11, -18, 7], [-11, -18, 7], [0, -30, -30], [40, -60, 20], [-40, 20, 30], [0, 50, 0],
     [-50, -20, -10], [30, -80, 0]],
    dtype=float,
)  # fmt: skip


def thick_scan(seed: int, shape: tuple[int, int, int], spacing: float, factor: int):
    """A deformed template as a thick-slice scan: (image, affine, mask, landmark positions in its world)."""
    anatomy, params = deform_template(shape, spacing, np.random.default_rng(seed), elastic_mm=0.0)
    image = anatomy.csf + 0.6 * anatomy.gm + 0.4 * anatomy.wm
    points = template_to_grid(LANDMARKS, params, shape, spacing) @ anatomy.affine[:3, :3].T + anatomy.affine[:3, 3]
    n = shape[2] // factor
    image = image[..., : n * factor].reshape(*shape[:2], n, factor).mean(axis=-1).astype(np.float32)
    mask = anatomy.brain[..., : n * factor].reshape(*shape[:2], n, factor).mean(axis=-1) > 0.5
    affine = anatomy.affine.copy()
    affine[:3, 2] *= factor
    affine[:3, 3] += anatomy.affine[:3, 2] * (factor - 1) / 2.0
    return image, affine, mask, points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subjects", type=int, default=3)
    parser.add_argument("--shape", type=int, nargs=3, default=(96, 112, 88))
    parser.add_argument("--spacing", type=float, default=2.0)
    parser.add_argument("--slice", type=int, default=2, help="slice thickness as a multiple of --spacing")
    args = parser.parse_args()
    itk.MultiThreaderBase.SetGlobalDefaultNumberOfThreads(1)
    start = time.perf_counter()
    load_mars_atlas()
    print(f"MARS atlas built in {time.perf_counter() - start:.1f} s (template loading included)\n")
    scans = [thick_scan(seed, tuple(args.shape), args.spacing, args.slice) for seed in range(args.subjects)]
    print(f"{args.subjects} scans of {scans[0][0].shape} voxels, {args.spacing} x {args.spacing} x "
          f"{args.spacing * args.slice} mm\n")  # fmt: skip
    print("| mode | first call s (wall / CPU) | s per scan (wall / CPU, median) | landmark error mm (mean / max) |")
    print("|---|---|---|---|")
    for name, settings in (("affine", RegistrationSettings(deformable=False)), ("affine + deformable", None)):
        walls, cpus, errors = [], [], []
        for image, affine, mask, points in scans:
            wall, cpu = time.perf_counter(), time.process_time()
            transform = register_to_template(image, affine, mask, settings)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
            errors.append(np.linalg.norm(transform.apply(points) - LANDMARKS, axis=1))
        rest = slice(1, None) if len(walls) > 1 else slice(None)
        error = np.concatenate(errors)
        print(f"| {name} | {walls[0]:.1f} / {cpus[0]:.1f} | {np.median(walls[rest]):.1f} / {np.median(cpus[rest]):.1f} "
              f"| {error.mean():.2f} / {error.max():.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
