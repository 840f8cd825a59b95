"""Shared helpers of the inference tests: tiny NIfTI files written into tmp_path."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _inference_helpers import ANISOTROPIC_AFFINE  # noqa: E402


def _image(shape: tuple[int, ...] = (8, 9, 6), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(10.0, 100.0, size=shape).astype(np.float32)


@pytest.fixture
def write_nifti() -> Callable[..., Path]:
    """Function writing ``data`` (default: a small random 3D scan) with ``affine`` to ``path``."""

    def write(path: Path, data: np.ndarray | None = None, affine: np.ndarray | None = None) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        array = _image() if data is None else data
        image = nib.Nifti1Image(array, ANISOTROPIC_AFFINE if affine is None else affine)
        image.set_sform(image.affine, code=1)
        image.set_qform(image.affine, code=1)
        nib.save(image, path)
        return path

    return write


@pytest.fixture
def scan_image() -> np.ndarray:
    """A small random 3D scan (8, 9, 6) of float32 values in [10, 100]."""
    return _image()
