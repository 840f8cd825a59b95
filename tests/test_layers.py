"""The package's layers: a subpackage imports only from layers below its own, so there is no cycle between them.

The order is the one docs/index.md draws; an import found anywhere in a module (at its top or inside a function)
counts, because an import inside a function that dodges a cycle is still a cycle of ideas.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "cmb_kd"
LAYERS = (
    ("checks",),
    ("io",),
    ("synth", "metrics"),
    ("transforms",),
    ("networks", "losses"),
    ("handlers",),
    ("candidates",),
    ("location",),
    ("inference",),
    ("evaluation", "train_runs"),
    ("cli_infer",),
    ("cli",),
    ("__main__",),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
ROOT_NAMES = {"__init__", "__version__"}  # the package root's own attributes, e.g. ``from cmb_kd import __version__``


def _unit(path: Path) -> str:
    """The layer unit of a module: its subpackage, or its own name for a module at the package root."""
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else path.stem


def _imported_units(path: Path) -> set[str]:
    """The units of cmb_kd a module imports, absolute or relative, at any depth of its code."""
    units = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.ImportFrom):  # relative: resolved against the module's own package
            base = list(path.relative_to(PACKAGE).parent.parts)[: len(path.relative_to(PACKAGE).parts) - node.level]
            names = ["cmb_kd." + ".".join([*base, *(node.module or "").split(".")]).strip(".")]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "cmb_kd" and len(parts) > 1 and parts[1] not in ROOT_NAMES:
                units.add(parts[1])
    return units


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_unit_of_the_package_has_a_layer():
    assert {_unit(p) for p in _modules()} - ROOT_NAMES == set(RANK)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_module_imports_only_from_layers_below_its_own(path):
    unit = _unit(path)
    if unit in ROOT_NAMES:
        return
    upward = sorted(u for u in _imported_units(path) - {unit} if RANK.get(u, -1) >= RANK[unit])
    where = f"{path.relative_to(PACKAGE)} ({unit}, layer {RANK[unit]})"
    assert not upward, f"{where} imports {upward} from its own layer or above"
