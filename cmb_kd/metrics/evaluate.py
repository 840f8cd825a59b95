"""Evaluation of a folder of predicted CMB masks against reference masks (``cmb-kd evaluate``)."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import zlib
from pathlib import Path

import nibabel as nib
import numpy as np
from tqdm import tqdm

from cmb_kd.io import PREDICTION_SUFFIX, csv_bytes, nifti_stem, write_bytes_atomic
from cmb_kd.metrics.evaluation_result import EvaluationResult
from cmb_kd.metrics.lesion_matching import compute_lesion_counts
from cmb_kd.metrics.pairing import pair_prediction_files
from cmb_kd.metrics.subject_evaluation import SUBJECT_COLUMNS, SubjectEvaluation

__all__ = ["evaluate_folders"]

logger = logging.getLogger(__name__)

_JSON_NAME = "metrics.json"
_CSV_NAME = "metrics_per_subject.csv"
_AFFINE_TOLERANCE_MM = 1e-3
_SHOWN_VALUES = 8
_READ_ERRORS = (nib.filebasedimages.ImageFileError, OSError, EOFError, ValueError, zlib.error)


def _load_header(path: Path) -> nib.spatialimages.SpatialImage:
    try:
        image = nib.load(path)
    except _READ_ERRORS as err:
        raise ValueError(f"cannot read NIfTI file {str(path)!r}: {err}") from err
    shape = tuple(image.shape)
    if len(shape) < 3 or any(size != 1 for size in shape[3:]):
        raise ValueError(f"{str(path)!r} has shape {shape}; expected a 3D mask (X, Y, Z).")
    return image


def _load_mask(image: nib.spatialimages.SpatialImage, path: Path) -> np.ndarray:
    """The voxels of a mask ``(X, Y, Z)``, NaN voxels (a NaN background, the VALDO layout) set to 0."""
    try:
        data = np.asanyarray(image.dataobj)
    except _READ_ERRORS as err:
        raise ValueError(f"cannot read the voxels of {str(path)!r}: {err}") from err
    data = data.reshape(data.shape[:3])
    if np.issubdtype(data.dtype, np.floating):
        nan = np.isnan(data)
        if nan.any():
            logger.debug("%s: %d NaN voxel(s) counted as 0", path, int(np.count_nonzero(nan)))
            data = np.where(nan, data.dtype.type(0), data)
    return data


def _non_binary_warning(mask: np.ndarray, path: Path) -> str | None:
    """One line naming ``path`` and its values other than 0 and 1 (e.g. VALDO-style rater grades), or None."""
    if mask.dtype == np.bool_:
        return None
    other = mask[(mask != 0) & (mask != 1)]
    if other.size == 0:
        return None
    values = np.unique(other)
    shown = ", ".join(f"{float(v):g}" for v in values[:_SHOWN_VALUES])
    if values.size > _SHOWN_VALUES:
        shown += ", ..."
    return (
        f"{path}: reference mask holds {values.size} value(s) other than 0 and 1 ({shown}), e.g. rater certainty "
        "grades: binarised, every voxel above 0.5 counted as lesion"
    )


def _grid_problem(
    pred: Path, pred_image: nib.spatialimages.SpatialImage, ref: Path, ref_image: nib.spatialimages.SpatialImage
) -> str | None:
    pred_shape, ref_shape = tuple(pred_image.shape[:3]), tuple(ref_image.shape[:3])
    if pred_shape != ref_shape:
        return f"prediction {str(pred)!r} has shape {pred_shape} but reference {str(ref)!r} has shape {ref_shape}"
    if not np.allclose(pred_image.affine, ref_image.affine, atol=_AFFINE_TOLERANCE_MM):
        pred_affine = np.array2string(np.asarray(pred_image.affine), precision=3, separator=",").replace("\n", "")
        ref_affine = np.array2string(np.asarray(ref_image.affine), precision=3, separator=",").replace("\n", "")
        return (
            f"prediction {str(pred)!r} (shape {pred_shape}, affine {pred_affine}) and reference {str(ref)!r} "
            f"(shape {ref_shape}, affine {ref_affine}) have different affines"
        )
    return None


def _display_path(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _cell(value: object) -> object:
    """A per-subject cell: floats to 6 significant digits, NaN written as ``nan``."""
    return f"{value:.6g}" if isinstance(value, float) and not math.isnan(value) else value


def _subject_of(path: Path) -> str:
    stem = nifti_stem(path) or path.name
    return next((t for t in stem.split("_") if t.lower().startswith("sub-")), stem)


def _load_pair_headers(
    pairs: list[tuple[Path, Path]],
) -> list[tuple[nib.spatialimages.SpatialImage, nib.spatialimages.SpatialImage]]:
    """The headers of every (prediction, reference) pair, all checked to share one grid before any is computed.

    Raises:
        ValueError: when a file cannot be read or is not 3D, or listing every pair not on the same grid.
    """
    images = []
    problems = []
    for pred, ref in pairs:
        pred_image, ref_image = _load_header(pred), _load_header(ref)
        problem = _grid_problem(pred, pred_image, ref, ref_image)
        if problem is not None:
            problems.append(problem)
        images.append((pred_image, ref_image))
    if problems:
        raise ValueError(
            f"{len(problems)} prediction/reference pair(s) are not on the same grid (same shape and affine "
            "expected; compare an lr-xF prediction with the lr-xF label): " + "; ".join(problems) + "."
        )
    return images


def _evaluate_pairs(
    pairs: list[tuple[Path, Path]],
    images: list[tuple[nib.spatialimages.SpatialImage, nib.spatialimages.SpatialImage]],
    pred_root: Path,
    ref_root: Path,
    *,
    max_distance_mm: float | None,
    connectivity: int,
    progress: bool,
) -> tuple[list[SubjectEvaluation], list[str]]:
    """The :class:`SubjectEvaluation` of every pair, and the warnings about non-binary references."""
    subjects = []
    warnings = []
    for (pred, ref), (pred_image, ref_image) in tqdm(
        list(zip(pairs, images)), desc="evaluate", unit="subject", disable=not progress
    ):
        spacing = tuple(float(s) for s in nib.affines.voxel_sizes(pred_image.affine))
        reference = _load_mask(ref_image, ref)
        warning = _non_binary_warning(reference, ref)
        if warning is not None:
            logger.warning("%s", warning)
            warnings.append(warning)
        counts = compute_lesion_counts(
            _load_mask(pred_image, pred),
            reference,
            spacing=spacing,
            max_distance_mm=max_distance_mm,
            connectivity=connectivity,
        )
        name = nifti_stem(pred)[: -len(PREDICTION_SUFFIX)]
        subjects.append(
            SubjectEvaluation(
                name=name,
                prediction=Path(_display_path(pred, pred_root)),
                reference=Path(_display_path(ref, ref_root)),
                counts=counts,
            )
        )
        logger.debug("%s: %s", name, counts)
    return subjects, warnings


def _missing_subjects(pairs: list[tuple[Path, Path]], leftover: list[Path], ref_root: Path) -> tuple[str, ...]:
    """The subjects with a reference but no prediction, logged as a warning."""
    evaluated = {_subject_of(ref) for _, ref in pairs}
    missing = tuple(sorted({_subject_of(path) for path in leftover} - evaluated))
    if missing:
        logger.warning(
            "%d subject(s) of %s have a reference but no prediction and are not evaluated: %s",
            len(missing),
            ref_root,
            ", ".join(missing),
        )
    return missing


def _write_outputs(result: EvaluationResult, out_root: Path) -> EvaluationResult:
    """Writes ``metrics.json`` and ``metrics_per_subject.csv`` into ``out_root``; ``result`` with their paths."""
    out_root.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = out_root / _JSON_NAME, out_root / _CSV_NAME
    write_bytes_atomic(json_path, (json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n").encode("utf-8"))
    write_bytes_atomic(csv_path, csv_bytes(SUBJECT_COLUMNS, [subject.as_row() for subject in result.subjects], _cell))
    logger.info("wrote %s and %s", json_path, csv_path)
    return dataclasses.replace(result, json_path=json_path, csv_path=csv_path)


def evaluate_folders(
    pred_dir: str | os.PathLike,
    ref_dir: str | os.PathLike,
    output_dir: str | os.PathLike | None = None,
    *,
    max_distance_mm: float | None = None,
    connectivity: int = 26,
    progress: bool = False,
) -> EvaluationResult:
    """Evaluates every predicted mask of a folder against its reference and writes the metrics.

    Predictions ``NAME_cmb_mask.nii.gz`` are paired with references by
    :func:`cmb_kd.metrics.pair_prediction_files`; each pair must share the same grid (shape and affine, e.g. an
    ``lr-x4`` prediction with the ``lr-x4`` label). All pairs are checked before any is computed. Each pair gives
    one row of :func:`cmb_kd.metrics.compute_lesion_counts` (spacing for ``max_distance_mm`` from the affine);
    the rows are pooled by :func:`cmb_kd.metrics.summarize_lesion_counts`.

    A reference mask holding values other than 0 and 1 (e.g. VALDO-style rater certainty grades 1-3) is binarised
    like any other (values above 0.5 are lesion), with a logged warning naming the file and the values found, also
    kept in ``warnings``. NaN voxels of a mask (a NaN background, as VALDO's scans have) count as 0, without a
    warning.

    ``output_dir`` receives ``metrics.json`` (pooled metrics, settings, subjects without prediction, warnings, rows;
    nan is written as null) and ``metrics_per_subject.csv`` (columns ``SUBJECT_COLUMNS``, nan written as ``nan``), each
    written to a temporary name and renamed into place. Input files are only read.

    Args:
        pred_dir: folder of predicted masks ``NAME_cmb_mask.nii.gz``.
        ref_dir: folder of reference masks: flat, or one sub-folder per subject (``sub-XXX/sub-XXX_CMB*.nii.gz``).
        output_dir: folder for the two output files (created if absent); default ``pred_dir``.
        max_distance_mm: optional centroid distance in mm under which a non-overlapping component still matches.
        connectivity: neighbourhood of the connected components, 6, 18 or 26.
        progress: show a progress bar over the pairs.

    Returns:
        The :class:`EvaluationResult`, with the paths of the written files.

    Raises:
        FileNotFoundError: when a folder is missing, there is no prediction, or predictions lack a reference.
        ValueError: when an option is invalid, a file cannot be read or is not 3D, a prediction matches several
            references, or pairs do not share the same grid (all offending pairs are listed).
    """
    # validate the options before touching any file
    compute_lesion_counts(
        np.zeros((1, 1, 1), dtype=bool),
        np.zeros((1, 1, 1), dtype=bool),
        spacing=(1.0, 1.0, 1.0),
        max_distance_mm=max_distance_mm,
        connectivity=connectivity,
    )
    pred_root, ref_root = Path(pred_dir), Path(ref_dir)
    pairs, leftover = pair_prediction_files(pred_root, ref_root)
    out_root = pred_root if output_dir is None else Path(output_dir)
    if out_root.exists() and not out_root.is_dir():
        raise ValueError(f"output_dir {str(out_root)!r} is a file; expected a folder.")
    images = _load_pair_headers(pairs)
    options = {"max_distance_mm": max_distance_mm, "connectivity": connectivity, "progress": progress}
    subjects, warnings = _evaluate_pairs(pairs, images, pred_root, ref_root, **options)
    settings = {
        "pred_dir": str(pred_root),
        "ref_dir": str(ref_root),
        "connectivity": connectivity,
        "max_distance_mm": max_distance_mm,
        "matching": "overlap" if max_distance_mm is None else "overlap or centroid distance",
        "binarisation": "> 0.5",
    }
    result = EvaluationResult(
        subjects=tuple(subjects),
        settings=settings,
        missing_subjects=_missing_subjects(pairs, leftover, ref_root),
        warnings=tuple(warnings),
    )
    return _write_outputs(result, out_root)
