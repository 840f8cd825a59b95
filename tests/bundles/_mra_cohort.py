"""A tiny stand-in for an MRA cohort in the layout of ``cmb-kd synth OUT --kind mra``, for the vessel bundle's tests.

``OUT/datalist.json`` holds ``training``, ``validation`` and ``test`` lists of ``{"subject", "image", "label",
"brain_mask"}`` entries (paths relative to ``OUT``); each subject has ``sub-XXX/sub-XXX_TOF.nii.gz`` (float32),
``sub-XXX_vessels.nii.gz`` and ``sub-XXX_brainmask.nii.gz`` (uint8) on one 0.5×0.5×0.8 mm grid with an RAS affine.
The angiogram is a few bright curved tubes (partial volume from :func:`cmb_kd.synth.tubes.tube_fraction`) in a dim,
noisy ellipsoid of brain; the vessel label is the tubes' voxels at least half covered.
"""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np

from cmb_kd.synth.tubes import tube_fraction

SPACING = (0.5, 0.5, 0.8)
SPLITS = {"training": 2, "validation": 1, "test": 1}


def _paths(rng: np.random.Generator, shape: tuple[int, int, int], n_tubes: int) -> list[np.ndarray]:
    """Curved paths in voxel coordinates crossing the volume along a random axis, densely sampled."""
    paths = []
    t = np.linspace(0.0, 1.0, 200)
    for _ in range(n_tubes):
        axis = int(rng.integers(0, 3))
        points = np.empty((t.size, 3))
        for other in range(3):
            n = shape[other]
            if other == axis:
                points[:, other] = t * (n - 1)
            else:
                phase, centre = rng.uniform(0, 2 * np.pi), rng.uniform(0.3, 0.7) * (n - 1)
                points[:, other] = centre + 0.15 * n * np.sin(2 * np.pi * t + phase)
        paths.append(points)
    return paths


def _subject(rng: np.random.Generator, shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    vessels = np.zeros(shape, dtype=np.float32)
    for path in _paths(rng, shape, n_tubes=4):
        index, fraction = tube_fraction(path, float(rng.uniform(1.2, 2.2)), shape, 1.0)
        vessels[index] = np.maximum(vessels[index], fraction)
    grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij"))
    brain = (grid**2).sum(axis=0) <= 0.9**2
    image = (0.25 * brain + vessels + 0.03 * rng.standard_normal(shape)).astype(np.float32)
    return image, (vessels >= 0.5).astype(np.uint8), brain.astype(np.uint8)


def write_mra_cohort(out: Path, shape: tuple[int, int, int] = (66, 64, 33), seed: int = 0) -> Path:
    """Write the cohort into ``out`` and return the path of its ``datalist.json``."""
    rng = np.random.default_rng(seed)
    affine = np.diag([*SPACING, 1.0])
    datalist: dict[str, list[dict[str, str]]] = {}
    number = 0
    for split, count in SPLITS.items():
        datalist[split] = []
        for _ in range(count):
            number += 1
            subject = f"sub-{number:03d}"
            (out / subject).mkdir(parents=True, exist_ok=True)
            files = dict(zip(("image", "label", "brain_mask"), _subject(rng, shape)))
            names = {"image": "TOF", "label": "vessels", "brain_mask": "brainmask"}
            entry = {"subject": subject}
            for key, data in files.items():
                entry[key] = f"{subject}/{subject}_{names[key]}.nii.gz"
                nib.save(nib.Nifti1Image(data, affine), out / entry[key])
            datalist[split].append(entry)
    path = out / "datalist.json"
    path.write_text(json.dumps(datalist, indent=2))
    return path
