"""Puts the inference tests' helpers on the path; the NIfTI fixtures are in tests/conftest.py."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
