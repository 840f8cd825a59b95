"""Discovery of the input scans of a batch run: NIfTI files given directly, flat folders and VALDO-style folders."""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterable
from pathlib import Path

from cmb_kd.io import EXPECTED_FILE, PREDICTION_SUFFIX, InputError, nifti_stem, open_nifti

__all__ = [
    "BRAIN_MASK_TOKEN",
    "BRAIN_MASKS_BESIDE",
    "NON_IMAGE_TOKENS",
    "brain_mask_of",
    "brain_mask_source",
    "brain_mask_stems",
    "find_brain_mask",
    "find_inputs",
    "is_image_name",
    "phase_beside",
]

NON_IMAGE_TOKENS: frozenset[str] = frozenset(
    {
        "cmb",
        "mask",
        "masks",
        "brainmask",
        "mimics",
        "phase",
        "pha",
        "label",
        "labels",
        "seg",
        "dseg",
        "probseg",
        "roi",
        "vessels",
    }
)
"""Name tokens (case-insensitive) that mark a NIfTI file inside a folder as a mask, label or derived map."""

BRAIN_MASK_TOKEN = "brainmask"
"""The name token of a brain mask (``cmb-kd synth`` writes ``sub-001_brainmask`` beside ``sub-001_T2S``)."""

BRAIN_MASKS_BESIDE = "beside"
"""The ``brain_masks`` value (``--brain-mask beside``) that looks for each scan's brain mask in its own folder."""

_TOKEN_SPLIT = re.compile(r"[_\-.]")
_MASK_EXTENSIONS = (".nii.gz", ".nii")


def is_image_name(name: str) -> bool:
    """Whether a file name found in a folder is taken as an input image (see :func:`find_inputs` for the rule)."""
    stem = nifti_stem(name)
    if stem is None or name.startswith(".") or stem.endswith(PREDICTION_SUFFIX):
        return False
    return not any(token.lower() in NON_IMAGE_TOKENS for token in _TOKEN_SPLIT.split(stem))


def phase_beside(path: str | os.PathLike) -> Path | None:
    """The phase image that belongs to scan ``path``, found beside it by the VALDO naming, or None.

    The scan's name split at ``_`` has one token replaced by ``phase`` (in the first place from the left that
    gives an existing file, with the scan's own extension): ``sub-001_T2S.nii.gz`` pairs with
    ``sub-001_phase.nii.gz`` and ``sub-001_SWI_lr-x4.nii.gz`` with ``sub-001_phase_lr-x4.nii.gz``, as
    ``cmb-kd synth`` writes them.
    """
    path = Path(path)
    stem = nifti_stem(path)
    if stem is None:
        return None
    extension = path.name[len(stem) :]
    tokens = stem.split("_")
    for index, token in enumerate(tokens):
        if token.lower() in NON_IMAGE_TOKENS:
            continue
        candidate = path.with_name("_".join(tokens[:index] + ["phase"] + tokens[index + 1 :]) + extension)
        if candidate.is_file():
            return candidate
    return None


def brain_mask_stems(path: str | os.PathLike, *, own_name: bool) -> list[str]:
    """The names (without ``.nii.gz`` / ``.nii``) under which the brain mask of scan ``path`` is looked for, in order.

    For a scan ``NAME``: ``NAME`` itself when ``own_name`` (a folder of masks named like the scans), then
    ``NAME_brainmask``, then ``NAME`` split at ``_`` with one token replaced by ``brainmask``, from the left
    (tokens of :data:`NON_IMAGE_TOKENS` are kept), as :func:`phase_beside` does for ``phase``:
    ``sub-001_T2S`` gives ``sub-001_T2S_brainmask``, ``brainmask_T2S``, ``sub-001_brainmask``. A name of one
    token gets no replaced form (a lone ``brainmask.nii.gz`` would pair with every such scan).

    Args:
        path: the scan.
        own_name: include ``NAME`` itself (for masks in another folder than the scan).

    Returns:
        The names to try, in order; empty for a path that is not NIfTI.
    """
    stem = nifti_stem(path)
    if stem is None:
        return []
    stems = [stem] if own_name else []
    stems.append(f"{stem}_{BRAIN_MASK_TOKEN}")
    tokens = stem.split("_")
    if len(tokens) > 1:
        for index, token in enumerate(tokens):
            if token.lower() not in NON_IMAGE_TOKENS:
                stems.append("_".join(tokens[:index] + [BRAIN_MASK_TOKEN] + tokens[index + 1 :]))
    return list(dict.fromkeys(stems))


def find_brain_mask(path: str | os.PathLike, folder: str | os.PathLike | None = None) -> Path:
    """The brain mask of scan ``path``: the first of :func:`brain_mask_stems` that is a file in ``folder``.

    Each name is tried with ``.nii.gz`` then ``.nii``; the scan itself is never its own mask. With ``folder`` None
    the mask is looked for beside the scan (``NAME_brainmask`` and the replaced forms, not ``NAME``), else in
    ``folder`` itself (not its sub-folders; ``NAME`` first).

    Args:
        path: the scan.
        folder: the folder of brain masks, or None for the scan's own folder.

    Returns:
        The mask file.

    Raises:
        InputError: naming the scan, the folder searched and the names looked for, when no mask is there.
    """
    scan = Path(path)
    where = scan.parent if folder is None else Path(folder)
    stems = brain_mask_stems(scan, own_name=folder is not None)
    for stem in stems:
        for extension in _MASK_EXTENSIONS:
            candidate = where / f"{stem}{extension}"
            if candidate.is_file() and candidate.resolve() != scan.resolve():
                return candidate
    looked = ", ".join(f"{stem}.nii.gz" for stem in stems)
    raise InputError(
        scan,
        f"no brain mask in {where} (looked for {looked}, or .nii)",
        f"the scan's brain mask there, named {'NAME, ' if folder is not None else ''}NAME_{BRAIN_MASK_TOKEN} or NAME "
        f"with one '_' token replaced by '{BRAIN_MASK_TOKEN}'",
    )


def brain_mask_source(brain_masks: str | os.PathLike | None) -> Path | str | None:
    """The ``brain_masks`` of a batch run checked at the door (see :func:`run_inference`).

    Args:
        brain_masks: None (the detector finds the brain), a NIfTI mask file, a folder of masks, or
            :data:`BRAIN_MASKS_BESIDE` (a folder of that name is written ``./beside``).

    Returns:
        None, :data:`BRAIN_MASKS_BESIDE`, or the file or folder as an absolute path.

    Raises:
        ValueError: for a value that is no path; an :class:`InputError` naming a path that does not exist or is
            neither a folder nor a NIfTI file.
    """
    if brain_masks is None or (isinstance(brain_masks, str) and brain_masks == BRAIN_MASKS_BESIDE):
        return brain_masks
    if not isinstance(brain_masks, (str, os.PathLike)):
        raise ValueError(
            f"brain_masks: expected a NIfTI file, a folder of brain masks or {BRAIN_MASKS_BESIDE!r}, got "
            f"{type(brain_masks).__name__}"
        )
    path = Path(os.path.abspath(os.fspath(brain_masks)))
    expected = f"a NIfTI brain mask, a folder of them, or {BRAIN_MASKS_BESIDE!r} for masks beside the scans"
    if not path.exists():
        raise InputError(path, "brain mask path not found", expected)
    if not path.is_dir() and nifti_stem(path) is None:
        raise InputError(path, f"not a NIfTI file (suffix {''.join(path.suffixes) or 'none'!r})", expected)
    return path


def brain_mask_of(path: str | os.PathLike, source: Path | str | None) -> Path | None:
    """The brain mask file of scan ``path`` under a checked :func:`brain_mask_source` (None: no mask asked for).

    Raises:
        InputError: naming the scan when its mask is not in the folder (:func:`find_brain_mask`).
    """
    if source is None:
        return None
    if source == BRAIN_MASKS_BESIDE:
        return find_brain_mask(path)
    return find_brain_mask(path, source) if source.is_dir() else source


def _has_modality(path: Path, modalities: frozenset[str]) -> bool:
    stem = nifti_stem(path) or ""
    return any(token.lower() in modalities for token in stem.split("_"))


def _walk(folder: Path) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(root) / name for name in sorted(files) if is_image_name(name))
    return found


def find_inputs(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    modalities: Collection[str] | None = None,
    check_headers: bool = True,
) -> tuple[list[Path], list[InputError]]:
    """Lists the input scans named by ``paths`` and, separately, every path that cannot be used.

    Each path is a NIfTI file or a folder:

    - a file is taken as given, whatever its name (naming a file is explicit), if it ends in ``.nii`` or
      ``.nii.gz``;
    - a folder is searched recursively (flat folder of scans, VALDO-style ``sub-XXX/`` folders, deeper layouts);
      hidden files and folders are skipped, and of the NIfTI files only images are taken: a file is skipped when
      its name (without ``.nii``/``.nii.gz``), split at ``_``, ``-`` and ``.``, holds a token of
      :data:`NON_IMAGE_TOKENS` in any case (``CMB``, ``mask``, ``brainmask``, ``mimics``, ``phase``, ``label``,
      ``seg``, ...), or ends in ``_cmb_mask`` (this package's own outputs). So ``sub-001_T2S.nii.gz``,
      ``sub-001_SWI_lr-x4.nii.gz`` and ``sub-101_space-T2S_desc-masked_T2S.nii.gz`` are images, while
      ``sub-001_CMB.nii.gz``, ``sub-001_brainmask_lr-x4.nii.gz`` and ``sub-001_phase.nii.gz`` are not. Other files
      (``.json``, ``.csv``, ``.png``) are ignored.

    With ``modalities`` (e.g. ``("T2S", "SWI")``), folder files are further kept only when one of their
    ``_``-separated tokens is one of them (case-insensitive); files named directly are always kept.
    With ``check_headers``, every found file is opened (header only) and checked as :func:`load_scan` does;
    voxel-level problems (Inf, constant image, corrupt compressed data) are found only when the scan is loaded.
    Two files with the same name ``NAME`` would write the same outputs, so only the first in sorted order is kept
    and the others are reported.

    Args:
        paths: one path or several.
        modalities: optional modality tokens a folder file must carry.
        check_headers: open each file's header and report the unreadable ones.

    Returns:
        ``(inputs, problems)``: the usable files, absolute, sorted and de-duplicated, and one
        :class:`InputError` per path that cannot be used (missing path, not NIfTI, a folder without images, a bad
        header, a duplicate name), in the order found. A batch run processes ``inputs`` and lists ``problems``.

    Raises:
        ValueError: if ``paths`` is empty or ``modalities`` is not a collection of non-empty strings.
    """
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not items:
        raise ValueError("paths: expected one or more NIfTI files or folders, got none")
    wanted = _modality_tokens(modalities)
    problems: list[InputError] = []
    found: dict[Path, None] = {}
    for item in items:
        files, problem = _files_of(Path(os.path.abspath(os.fspath(item))), wanted)
        found.update(dict.fromkeys(files))
        if problem is not None:
            problems.append(problem)
    inputs, unusable = _unique_readable(sorted(found), check_headers)
    return inputs, problems + unusable


def _modality_tokens(modalities: Collection[str] | None) -> frozenset[str] | None:
    """The modality tokens, lower case, or None for no modality filter; ValueError unless a collection of non-empty
    strings."""
    if modalities is None:
        return None
    if isinstance(modalities, str) or not all(isinstance(m, str) and m for m in modalities) or not modalities:
        raise ValueError(
            f"modalities: expected a collection of non-empty tokens such as ('T2S', 'SWI'), got {modalities!r}"
        )
    return frozenset(m.lower() for m in modalities)


def _files_of(path: Path, wanted: frozenset[str] | None) -> tuple[list[Path], InputError | None]:
    """The NIfTI images an absolute ``path`` names (itself, or those found in the folder, with a modality token of
    ``wanted`` when given) and the problem that makes it unusable, if any."""
    if not path.exists():
        return [], InputError(path, "path not found", f"{EXPECTED_FILE} or a folder of them")
    if path.is_dir():
        files = _walk(path)
        if wanted is not None:
            files = [f for f in files if _has_modality(f, wanted)]
        if files:
            return files, None
        rule = "" if wanted is None else f" with a modality token in {sorted(wanted)}"
        return [], InputError(path, f"folder holds no NIfTI image{rule}", "NIfTI images (masks and labels are skipped)")
    if nifti_stem(path) is None:
        return [], InputError(path, f"not a NIfTI file (suffix {''.join(path.suffixes) or 'none'!r})", EXPECTED_FILE)
    return [path], None


def _unique_readable(paths: list[Path], check_headers: bool) -> tuple[list[Path], list[InputError]]:
    """Of sorted ``paths``, those whose header opens (with ``check_headers``) and whose name ``NAME`` no earlier one
    holds, and one :class:`InputError` per other path, in order."""
    inputs: list[Path] = []
    problems: list[InputError] = []
    names: dict[str, Path] = {}
    for path in paths:
        if check_headers:
            try:
                open_nifti(path)
            except InputError as err:
                problems.append(err)
                continue
        name = nifti_stem(path) or path.name
        if name in names:
            problems.append(
                InputError(
                    path,
                    f"same name {name!r} as {names[name]}, so its outputs would overwrite the other's",
                    "unique file names across the inputs (run the folders separately or rename)",
                )
            )
            continue
        names[name] = path
        inputs.append(path)
    return inputs, problems
