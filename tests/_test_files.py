"""Files for the tests of every subpackage: tiny NIfTI scans, a results page with its markers, a small network
config, and a rename that fails
(tests/conftest.py puts this module on the path)."""

from __future__ import annotations

import os
from pathlib import Path

import nibabel as nib
import numpy as np

ANISOTROPIC_AFFINE = np.array(
    [
        [-0.5, 0.0, 0.0, 40.0],
        [0.0, 0.5, 0.0, -30.0],
        [0.0, 0.0, 3.0, -12.0],
        [0.0, 0.0, 0.0, 1.0],
    ]
)
"""A thick-slice grid: 0.5 x 0.5 x 3 mm voxels, x flipped, with an offset."""


def random_scan(shape: tuple[int, ...] = (8, 9, 6), seed: int = 0) -> np.ndarray:
    """A small random 3D scan of float32 values in [10, 100]."""
    return np.random.default_rng(seed).uniform(10.0, 100.0, size=shape).astype(np.float32)


def write_nifti(path: Path, data: np.ndarray | None = None, affine: np.ndarray | None = None) -> Path:
    """Write ``data`` (default: :func:`random_scan`) with ``affine`` (default :data:`ANISOTROPIC_AFFINE`, as sform
    and qform) to ``path``, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = nib.Nifti1Image(random_scan() if data is None else data, ANISOTROPIC_AFFINE if affine is None else affine)
    image.set_sform(image.affine, code=1)
    image.set_qform(image.affine, code=1)
    nib.save(image, path)
    return path


def interrupt_rename_to(
    monkeypatch, suffix: str, error: BaseException | type[BaseException] = KeyboardInterrupt
) -> None:
    """Make ``os.replace`` raise ``error`` (default a Ctrl-C) when it would rename a file onto ``*suffix``."""
    replace = os.replace

    def interrupted(source, target):
        if str(target).endswith(suffix):
            raise error
        return replace(source, target)

    monkeypatch.setattr(os, "replace", interrupted)


RESULTS_DOC = """# Results

Intro.

<!-- results:table:start -->
old main table
<!-- results:table:end -->

Between.

<!-- results:walltime:start -->
<!-- results:walltime:end -->

<!-- results:magnitude:start -->
<!-- results:magnitude:end -->

<!-- results:ablation:start -->
<!-- results:ablation:end -->
Outro.
"""
"""A Markdown file holding every marker pair of the results tables (``--write-docs`` of scripts/evaluate_models.py)."""

TINY_E2UNET = {
    "_target_": "cmb_kd.networks.E2UNet",
    "spatial_dims": 3,
    "in_channels": 1,
    "out_channels": 1,
    "channels": [4, 8, 16, 32, 64],
}
"""The MONAI config dict of a small E²U-Net, as a run folder's ``network_def.json`` holds it."""
