"""A split of a cohort written by ``cmb-kd synth``: its checked datalist entries, their subjects and references,
and what tells the cohort from another."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

__all__ = ["cohort_entries", "cohort_identity", "load_reference", "subject_of"]


def _load_datalist(cohort: Path) -> tuple[Path, Any]:
    datalist = cohort / "datalist.json"
    if not cohort.is_dir():
        raise ValueError(f"--cohort: {cohort}: folder not found; expected a cohort written by 'cmb-kd synth'")
    if not datalist.is_file():
        raise ValueError(f"--cohort: {datalist}: not found; expected a cohort written by 'cmb-kd synth'")
    try:
        return datalist, json.loads(datalist.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"--cohort: {datalist}: not JSON ({err})") from err


def cohort_entries(cohort: Path, split: str, factors: Sequence[int]) -> list[dict]:
    """The entries of list ``split`` of the cohort's datalist, each checked to name existing files.

    Args:
        cohort: the cohort folder (the datalist's paths are relative to it).
        split: the datalist list (``training``, ``validation``, ``test``).
        factors: the thick-slice factors whose ``image_lr_xF`` and ``label_lr_xF`` every entry must have, beside
            ``image`` and ``label``; the phase keys (``phase``, ``phase_lr_xF``) are checked where present.

    Returns:
        The entries.

    Raises:
        ValueError: naming the folder, datalist, list, entry or file that is missing.
    """
    datalist, lists = _load_datalist(cohort)
    entries = lists.get(split) if isinstance(lists, dict) else None
    if not entries or not isinstance(entries, list):
        available = sorted(k for k, v in lists.items() if isinstance(v, list) and v) if isinstance(lists, dict) else []
        raise ValueError(f"--split: {datalist} has no non-empty list {split!r}; expected one of {available}")
    keys = ["image", "label"] + [f"{kind}_lr_x{f}" for f in factors for kind in ("image", "label")]
    phase_keys = ["phase"] + [f"phase_lr_x{f}" for f in factors]
    for index, entry in enumerate(entries):
        for key in keys + [k for k in phase_keys if k in entry]:
            if key not in entry:
                option = "--cohort" if key in ("image", "label") else "--factors"
                raise ValueError(f"{option}: {datalist}: {split}[{index}] has no key {key!r}")
            if not (cohort / entry[key]).is_file():
                raise ValueError(f"--cohort: {cohort / entry[key]}: not found ({split}[{index}][{key!r}])")
    return entries


def subject_of(entry: Mapping[str, Any]) -> str:
    """The subject of a datalist entry: its ``subject``, else the folder of its ``image``."""
    return str(entry.get("subject", Path(entry["image"]).parent.name))


def cohort_identity(cohort: Path) -> dict[str, Any]:
    """What tells one cohort from another.

    Args:
        cohort: the cohort folder.

    Returns:
        ``seed`` of its datalist and ``subjects``, its number of subjects over all lists.
    """
    lists = json.loads((cohort / "datalist.json").read_text())
    images = {
        e.get("image") for k in ("training", "validation", "test") for e in lists.get(k) or [] if isinstance(e, dict)
    }
    return {"seed": lists.get("seed"), "subjects": len(images)}


def load_reference(path: Path, shape: Sequence[int], affine: np.ndarray) -> np.ndarray:
    """The reference label of a scan, checked to lie on the scan's grid.

    Args:
        path: the label file.
        shape: the scan's shape ``(X, Y, Z)``.
        affine: the scan's voxel-to-world affine.

    Returns:
        The label's voxels ``(X, Y, Z)`` (a trailing axis of size 1 dropped).

    Raises:
        ValueError: naming ``path`` when its shape or affine differs from the scan's.
    """
    image = nib.load(path)
    label = np.asanyarray(image.dataobj)
    label = label.reshape(label.shape[:3]) if label.ndim == 4 and label.shape[3] == 1 else label
    if label.shape != tuple(shape) or not np.allclose(image.affine, affine, atol=1e-3):
        raise ValueError(
            f"{path}: reference of shape {label.shape} is not on the scan's grid (shape {tuple(shape)} and "
            "the same affine expected)"
        )
    return label
