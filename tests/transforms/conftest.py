"""Shared fixtures of the transform tests: a small numeric head phantom."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _phantom import head_phantom  # noqa: E402


@pytest.fixture(scope="session")
def phantom() -> dict:
    """Small head phantom (64 x 72 x 56 mm at 1 mm) with its native x4 acquisition."""
    return head_phantom((64, 72, 56), seed=3, lr_factor=4)
