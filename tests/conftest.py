"""Fixtures shared by the tests of every subpackage: tiny NIfTI files written into tmp_path."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

import _test_files  # noqa: E402


@pytest.fixture
def write_nifti() -> Callable[..., Path]:
    """Function writing ``data`` (default: a small random 3D scan) with ``affine`` to ``path``."""
    return _test_files.write_nifti


@pytest.fixture
def scan_image() -> np.ndarray:
    """A small random 3D scan (8, 9, 6) of float32 values in [10, 100]."""
    return _test_files.random_scan()
