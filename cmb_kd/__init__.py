"""cmb_kd: cerebral microbleed detection on low-resolution T2*/SWI MRI by knowledge distillation.

``from cmb_kd import CMBDetector`` imports the inference pipeline on first use only, so ``import cmb_kd`` stays
light (no torch or MONAI import).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["CMBDetector", "__version__"]

_LAZY = {"CMBDetector": "cmb_kd.inference.detector"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cmb_kd' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
