"""Each subpackage offers exactly what its modules declare public: its ``__all__`` is the union of theirs."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "cmb_kd"
SUBPACKAGES = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))
LOWER_LAYER_NAMES = {
    # the detector's API offers the file layer's errors and scan loader, and the weights loader that the bundle's
    # inference.json (and every copy of it users keep) calls as cmb_kd.inference.load_network_weights
    "inference": {"InputError", "OutputError", "load_scan", "load_network_weights"},
}


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_a_subpackage_re_exports_exactly_its_modules_public_names(name):
    package = importlib.import_module(f"cmb_kd.{name}")
    declared: dict[str, str] = {}
    for path in sorted((PACKAGE / name).glob("*.py")):
        if path.stem == "__init__":
            continue
        module = importlib.import_module(f"cmb_kd.{name}.{path.stem}")
        assert hasattr(module, "__all__"), f"cmb_kd.{name}.{path.stem} declares no __all__"
        for public in module.__all__:
            assert public not in declared, f"{public} is declared by {declared.get(public)} and {path.stem}"
            declared[public] = path.stem
            assert getattr(package, public) is getattr(module, public), f"cmb_kd.{name}.{public} is another object"
    assert sorted(package.__all__) == sorted([*declared, *LOWER_LAYER_NAMES.get(name, ())])
