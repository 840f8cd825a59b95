"""Tests mirror the package: every module ``cmb_kd/<sub>/<name>.py`` has its ``tests/<sub>/test_<name>.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(p for p in (ROOT / "cmb_kd").rglob("*.py") if not p.name.startswith("__"))


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_module_has_its_own_test_file(module):
    relative = module.relative_to(ROOT / "cmb_kd")
    expected = ROOT / "tests" / relative.parent / f"test_{relative.name}"
    assert expected.is_file(), f"{module.relative_to(ROOT)} has no {expected.relative_to(ROOT)}"
