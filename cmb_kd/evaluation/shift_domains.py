"""Held-out shift domains of the generalisation benchmark: physics variants of the simulator rendered by scanner
presets, with subjects of a cohort seed that no training cohort uses, written once to disk and reused.

Each domain is a physics variant (:data:`PHYSICS`) rendered by a scanner preset (:data:`cmb_kd.synth.SCANNER_PRESETS`):
skull-stripped with a zero background, a NaN background (VALDO), 0.8–0.9 mm in-plane with 4.5–5 mm slices and a gap,
1.5 T with a long TE against 3 T with a short TE, low SNR with a strong bias field, an unseen tissue contrast, and the
randomised physics of ``SynthConfig.randomised()``. A domain's scans are written under ``<folder>/sub-XXX/``
(``sub-XXX_T2S.nii.gz``, reference ``sub-XXX_CMB.nii.gz``).
"""

from __future__ import annotations

import gzip
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

from cmb_kd.io import write_bytes_atomic
from cmb_kd.synth import RANDOMISED, ScannerConfig, SynthConfig, draw_scanner, render_scan, simulate_subject
from cmb_kd.synth.writer import subject_seed

__all__ = [
    "BENCH_SEED",
    "DOMAINS",
    "GRIDS",
    "PHYSICS",
    "VALIDATION_SEED",
    "Domain",
    "physics_config",
    "prepare_scans",
    "render_subject",
    "save_nifti",
]

BENCH_SEED = 7_340_021
"""Cohort seed of the benchmark subjects (``subject_seed(BENCH_SEED, i)``): no training cohort uses it."""
VALIDATION_SEED = 7_340_022
"""Cohort seed of the validation scans on which the benchmark's thresholds are chosen."""

PHYSICS: dict[str, dict] = {
    "base": {},
    "1.5T_long_TE": {"field_strengths": (1.5,), "echo_time_range": (0.035, 0.040)},
    "3T_short_TE": {"field_strengths": (3.0,), "echo_time_range": (0.010, 0.012)},
    "unseen_contrast": {"tissue_jitter": 0.45},
    "randomised": dict(RANDOMISED),
}
"""Simulator settings (``SynthConfig`` fields) of each physics variant; ``base`` is the default simulator and
``randomised`` the broad preset (:meth:`SynthConfig.randomised`: random tissue contrast, CMBs down to one or two
voxels, juxtacortical, posterior-fossa and clustered CMBs, sub-voxel veins, flow voids, sulcal clefts, air)."""


@dataclass(frozen=True)
class Domain:
    """A held-out domain: a physics variant (key of :data:`PHYSICS`) rendered by a scanner preset."""

    physics: str
    scanner: str
    description: str


DOMAINS: dict[str, Domain] = {
    "skull_stripped_zero": Domain("base", "skull_stripped_zero", "skull-stripped, zero background"),
    "valdo_nan": Domain("base", "valdo_nan", "skull-stripped, NaN background (VALDO)"),
    "thin_inplane_thick_gapped": Domain("base", "thin_inplane_thick_gapped", "0.8-0.9 mm in-plane, 4.5-5 mm + gap"),
    "1.5T_long_TE": Domain("1.5T_long_TE", "default_like", "1.5 T, TE 35-40 ms"),
    "3T_short_TE": Domain("3T_short_TE", "default_like", "3 T, TE 10-12 ms"),
    "low_snr_strong_bias": Domain("base", "low_snr_strong_bias", "low SNR, strong bias field"),
    "unseen_contrast": Domain("unseen_contrast", "default_like", "tissue contrast outside the literature jitter"),
    "randomised_physics": Domain("randomised", "default_like", "randomised contrast, tiny CMBs and mimics"),
}
"""The held-out domains by name."""

GRIDS: dict[str, dict] = {
    "full": {},
    "small": {"shape": (96, 112, 88), "spacing": 2.0, "lr_factors": (4,)},
}
"""HR grids of the simulated subjects: the default 1 mm grid, or a 2 mm grid for a quick look (and the tests)."""


def physics_config(physics: str, grid: str) -> SynthConfig:
    """The simulator settings of a physics variant (key of :data:`PHYSICS`) on a grid (key of :data:`GRIDS`)."""
    return SynthConfig(**{**GRIDS[grid], **PHYSICS[physics]})


def save_nifti(array: np.ndarray, affine: np.ndarray, path: Path) -> None:
    """Writes ``array`` with ``affine`` (as sform and qform) to the gzip-compressed NIfTI ``path``, atomically,
    creating its folder."""
    image = nib.Nifti1Image(array, affine)
    image.set_sform(affine, code=1)
    image.set_qform(affine, code=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, gzip.compress(image.to_bytes(), compresslevel=1, mtime=0))


def render_subject(physics: str, scanner: ScannerConfig, seed: int, grid: str, folder: Path, name: str) -> None:
    """Simulates subject ``seed`` of a physics variant, renders it with a scanner draw and writes scan and reference.

    Args:
        physics: key of :data:`PHYSICS`.
        scanner: the scanner distribution drawn from.
        seed: the subject's seed.
        grid: key of :data:`GRIDS`.
        folder: the domain's folder.
        name: the subject's name (``sub-XXX``).
    """
    subject = simulate_subject(physics_config(physics, grid), seed=seed)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    scan = render_scan(subject, draw_scanner(scanner, rng), rng)
    save_nifti(scan.cmb_label.astype(np.uint8), scan.affine, folder / name / f"{name}_CMB.nii.gz")
    save_nifti(scan.image, scan.affine, folder / name / f"{name}_T2S.nii.gz")  # written last: marks a whole subject


def prepare_scans(
    folder: Path, physics: str, scanner: ScannerConfig, cohort_seed: int, n: int, grid: str, workers: int
) -> list[tuple[Path, Path]]:
    """Writes the ``n`` subjects of a domain that are not on disk yet.

    Args:
        folder: the domain's folder.
        physics: key of :data:`PHYSICS`.
        scanner: the scanner distribution drawn from.
        cohort_seed: the seed of the subjects (:data:`BENCH_SEED` or :data:`VALIDATION_SEED`).
        n: the number of subjects.
        grid: key of :data:`GRIDS`.
        workers: processes simulating subjects.

    Returns:
        The (scan, reference) paths of the ``n`` subjects.
    """
    names = [f"sub-{i + 1:03d}" for i in range(n)]
    missing = [(i, name) for i, name in enumerate(names) if not (folder / name / f"{name}_T2S.nii.gz").is_file()]
    jobs = [(physics, scanner, subject_seed(cohort_seed, i), grid, folder, name) for i, name in missing]
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            list(pool.map(render_subject, *zip(*jobs)))
    else:
        for job in jobs:
            render_subject(*job)
    return [(folder / name / f"{name}_T2S.nii.gz", folder / name / f"{name}_CMB.nii.gz") for name in names]
