"""Pairing of predicted CMB masks (``NAME_cmb_mask.nii.gz``) with reference masks in a folder."""

from __future__ import annotations

import os
import re
from collections import defaultdict
from pathlib import Path

from cmb_kd.io.naming import PREDICTION_SUFFIX, nifti_stem

__all__ = ["MODALITY_TOKENS", "pair_prediction_files"]

MODALITY_TOKENS: frozenset[str] = frozenset({"t2s", "t2star", "t2starw", "swi", "gre", "qsm", "mag"})
"""Image modality tokens (matched case-insensitively) that the pairing rule replaces with ``CMB``."""

_LABEL_TOKEN = "cmb"
_LR_TAG = re.compile(r"^lr-x\d+$", re.IGNORECASE)


def _tokens(stem: str) -> list[str]:
    return stem.split("_")


def _entities(stem: str) -> tuple[str | None, str | None]:
    tokens = _tokens(stem)
    subject = next((t for t in tokens if t.lower().startswith("sub-")), None)
    lr_tag = next((t.lower() for t in tokens if _LR_TAG.match(t)), None)
    return subject, lr_tag


def _is_label(stem: str) -> bool:
    return any(t.lower() == _LABEL_TOKEN for t in _tokens(stem))


def _has_modality(stem: str) -> bool:
    return any(t.lower() in MODALITY_TOKENS for t in _tokens(stem))


def _list_references(ref_dir: Path) -> dict[str, list[Path]]:
    references: dict[str, list[Path]] = defaultdict(list)
    for root, dirs, files in os.walk(ref_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for file_name in sorted(files):
            stem = nifti_stem(file_name)
            if stem is None or file_name.startswith(".") or stem.endswith(PREDICTION_SUFFIX):
                continue
            references[stem].append(Path(root) / file_name)
    return references


def _unique(candidates: list[Path], name: str, rule: str) -> Path:
    if len(candidates) > 1:
        listed = ", ".join(str(c) for c in candidates)
        raise ValueError(f"prediction {name!r} matches several references by {rule}: {listed}; keep only one.")
    return candidates[0]


def _find_reference(name: str, ref_dir: Path, references: dict[str, list[Path]]) -> Path | None:
    tokens = _tokens(name)
    # rule 1: the image modality token replaced by CMB (sub-001_T2S_lr-x4 -> sub-001_CMB_lr-x4)
    if _has_modality(name):
        swapped = "_".join("CMB" if t.lower() in MODALITY_TOKENS else t for t in tokens)
        found = [p for stem, paths in references.items() if stem.lower() == swapped.lower() for p in paths]
        if found:
            return _unique(found, name, f"the modality rule ({swapped})")
    # rule 2: a CMB label with the same subject id and the same lr-xF tag (or none on both sides)
    subject, lr_tag = _entities(name)
    if subject is not None:
        found = [
            p
            for stem, paths in references.items()
            if _is_label(stem) and _entities(stem) == (subject, lr_tag)
            for p in paths
        ]
        if found:
            return _unique(found, name, f"subject and resolution ({subject}, {lr_tag or 'no lr tag'})")
    # rule 3: a file with exactly the input name directly inside ref_dir (flat folder of masks), unless the
    # name carries a modality token: such a file is the image itself, never its label
    found = [p for p in references.get(name, []) if p.parent == ref_dir]
    if found and not _has_modality(name):
        return _unique(found, name, "exact name")
    return None


def _check_folders(pred_dir: str | os.PathLike, ref_dir: str | os.PathLike) -> tuple[Path, Path]:
    """The two folders, checked to exist and be folders."""
    folders = []
    for arg_name, value in (("pred_dir", pred_dir), ("ref_dir", ref_dir)):
        folder = Path(value)
        if not folder.exists():
            raise FileNotFoundError(f"{arg_name} {str(folder)!r} does not exist; expected a folder of NIfTI masks.")
        if not folder.is_dir():
            raise ValueError(f"{arg_name} {str(folder)!r} is a file; expected a folder of NIfTI masks.")
        folders.append(folder)
    return folders[0], folders[1]


def _list_predictions(pred_folder: Path) -> list[tuple[str, Path]]:
    """``(NAME, path)`` of every ``NAME_cmb_mask.nii.gz`` directly inside ``pred_folder``, sorted; at least one."""
    predictions = []
    for path in sorted(pred_folder.iterdir()):
        stem = nifti_stem(path)
        if path.is_file() and stem is not None and stem.endswith(PREDICTION_SUFFIX) and stem != PREDICTION_SUFFIX:
            predictions.append((stem[: -len(PREDICTION_SUFFIX)], path))
    if not predictions:
        raise FileNotFoundError(
            f"pred_dir {str(pred_folder)!r} holds no predicted mask; expected files NAME{PREDICTION_SUFFIX}.nii.gz "
            "as written by `cmb-kd infer`."
        )
    return predictions


def pair_prediction_files(
    pred_dir: str | os.PathLike, ref_dir: str | os.PathLike
) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """Pairs every predicted mask in ``pred_dir`` with its reference mask under ``ref_dir``.

    Predictions are the files ``NAME_cmb_mask.nii.gz`` (or ``.nii``) directly inside ``pred_dir``, as written by
    ``cmb-kd infer`` for an input ``NAME.nii.gz``. References are the NIfTI files anywhere under ``ref_dir``
    (hidden files and folders, and files ending in ``_cmb_mask``, are skipped). For each ``NAME`` the first rule
    that finds a file wins:

    1. modality rule: the modality token of ``NAME`` (one of ``MODALITY_TOKENS``: T2S, T2star, T2starw, SWI, GRE,
       QSM, mag; any case) replaced by ``CMB``: ``sub-001_T2S_lr-x4`` pairs with ``sub-001_CMB_lr-x4`` and
       ``sub-001_T2S`` with ``sub-001_CMB`` (VALDO-style and ``cmb-kd synth`` cohorts);
    2. entity rule: the one file carrying a ``CMB`` token with the same ``sub-XXX`` token and the same ``lr-xF``
       token as ``NAME`` (or no ``lr-xF`` token on either side);
    3. exact rule: a file named ``NAME.nii.gz`` / ``NAME.nii`` directly inside ``ref_dir`` (flat folder of masks),
       only when ``NAME`` has no modality token.

    The label-specific rules come first, and the exact rule ignores names with a modality token, so that an image
    lying in the reference folder is never taken as its own reference.
    Several predictions may share one reference (e.g. T2S and SWI of one subject).

    Args:
        pred_dir: folder of predicted masks.
        ref_dir: folder of reference masks, flat or one sub-folder per subject.

    Returns:
        The ``(prediction, reference)`` pairs sorted by prediction name, and the reference label files (files
        with a ``CMB`` token, or files directly inside ``ref_dir`` without a modality token) that no prediction
        was paired with.

    Raises:
        FileNotFoundError: when a folder is missing, ``pred_dir`` holds no ``*_cmb_mask.nii.gz``, or some
            predictions have no reference (all of them are listed).
        ValueError: when a path is not a folder, or a prediction matches several references by one rule.
    """
    pred_folder, ref_folder = _check_folders(pred_dir, ref_dir)
    predictions = _list_predictions(pred_folder)
    references = _list_references(ref_folder)
    pairs: list[tuple[Path, Path]] = []
    unpaired: list[str] = []
    for name, path in predictions:
        reference = _find_reference(name, ref_folder, references)
        if reference is None:
            unpaired.append(path.name)
        else:
            pairs.append((path, reference))
    if unpaired:
        raise FileNotFoundError(
            f"{len(unpaired)} prediction(s) in {str(pred_folder)!r} have no reference mask in {str(ref_folder)!r}: "
            f"{', '.join(unpaired)}. A prediction NAME{PREDICTION_SUFFIX}.nii.gz pairs with NAME's modality token "
            "(T2S, SWI, ...) replaced by CMB (sub-001_T2S_lr-x4 -> sub-001_CMB_lr-x4), else with the CMB file of "
            "the same sub-XXX and lr-xF tags, else (NAME without modality token) with NAME.nii.gz directly inside the "
            "reference folder."
        )
    used = {reference for _, reference in pairs}
    leftover = [
        path
        for stem, paths in references.items()
        for path in paths
        if path not in used and (_is_label(stem) or (path.parent == ref_folder and not _has_modality(stem)))
    ]
    return pairs, sorted(leftover)
