"""How files are named: the NIfTI stem of a path and the suffix of a predicted mask."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["NIFTI_SUFFIXES", "PREDICTION_SUFFIX", "nifti_stem"]

PREDICTION_SUFFIX = "_cmb_mask"
"""Suffix that ``cmb-kd infer`` adds to the input name ``NAME`` of each predicted mask."""

NIFTI_SUFFIXES = (".nii.gz", ".nii")
"""File name endings of NIfTI files (matched case-insensitively)."""


def nifti_stem(path: str | os.PathLike) -> str | None:
    """Returns the file name without ``.nii.gz`` / ``.nii``, or None when the file is not NIfTI."""
    name = Path(path).name
    for suffix in NIFTI_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None
