"""Atomic writers of the outputs of ``cmb-kd infer``: the CMB mask, the lesion table and the batch summary."""

from __future__ import annotations

import csv
import gzip
import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from cmb_kd.inference._atomic import prepare_folder, write_bytes_atomic
from cmb_kd.inference._checks import as_affine
from cmb_kd.inference.inference_outcome import SUMMARY_COLUMNS, InferenceOutcome
from cmb_kd.inference.lesion import LESION_COLUMNS, Lesion
from cmb_kd.inference.output_error import OutputError
from cmb_kd.metrics.pairing import PREDICTION_SUFFIX, nifti_stem

__all__ = ["LESIONS_SUFFIX", "REPORT_SUFFIX", "SUMMARY_NAME", "OutputWriter"]

LESIONS_SUFFIX = "_cmb_lesions"
"""Suffix added to the input name ``NAME`` of the per-lesion table ``NAME_cmb_lesions.csv``."""
REPORT_SUFFIX = "_cmb_report"
"""Suffix added to the input name ``NAME`` of the report picture ``NAME_cmb_report.png``."""
SUMMARY_NAME = "cmb_summary.csv"
"""File name of the batch summary (one row per input)."""


def _cell(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return "" if math.isnan(value) else str(round(float(value), 4))
    return value


def _rows(items: Sequence[Any], kind: type, name: str, expected: str) -> list[Mapping[str, Any]]:
    """The CSV rows (``as_row()``) of ``items``, each checked to be a ``kind``."""
    rows = []
    for i, item in enumerate(items):
        if not isinstance(item, kind):
            raise ValueError(f"{name}[{i}]: expected {expected}, got {type(item).__name__}")
        rows.append(item.as_row())
    return rows


def _csv_bytes(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _cell(value) for key, value in row.items()})
    return buffer.getvalue().encode("utf-8")


def _as_label_volume(mask: Any) -> np.ndarray:
    if hasattr(mask, "detach"):
        mask = mask.detach().cpu().numpy()
    array = np.asarray(mask)
    if array.ndim != 3:
        raise ValueError(f"mask: expected a 3D mask (X, Y, Z), got shape {array.shape} ({array.ndim} dimensions)")
    if array.dtype == np.bool_:
        return array.astype(np.uint8)
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise ValueError(f"mask: expected integer labels in [0, 255] or booleans, got dtype {array.dtype}")
    if array.size and (
        not np.isfinite(array).all() or array.min() < 0 or array.max() > 255 or not np.all(np.mod(array, 1) == 0)
    ):
        raise ValueError(
            f"mask: expected integer labels in [0, 255] or booleans, got values in [{array.min()}, {array.max()}]"
        )
    return array.astype(np.uint8)


class OutputWriter:
    """Writes the outputs of one batch run into ``output_dir``, every file atomically.

    For an input ``NAME.nii.gz`` (or ``NAME.nii``) the files are ``NAME_cmb_mask.nii.gz``,
    ``NAME_cmb_lesions.csv`` and optionally ``NAME_cmb_report.png``; the batch has one ``cmb_summary.csv``. Each
    file is written under a hidden temporary name (``.FILE.XXXX.tmp``) in ``output_dir`` and renamed into place
    with ``os.replace``, so an interrupted run never leaves a half-written file under a final name; an existing
    file of the same name is replaced. Inputs are never written.

    Args:
        output_dir: folder for the outputs; created with its parents when missing.

    Raises:
        OutputError: naming the folder when it cannot be created or written (e.g. a path under a regular file, a
            read-only location).
    """

    def __init__(self, output_dir: str | os.PathLike) -> None:
        self.output_dir = prepare_folder(output_dir)

    @staticmethod
    def name_of(input_path: str | os.PathLike) -> str:
        """The name ``NAME`` of an input ``NAME.nii.gz`` / ``NAME.nii``.

        Raises:
            ValueError: if ``input_path`` is not a NIfTI file name.
        """
        stem = nifti_stem(input_path)
        if stem is None:
            raise ValueError(f"input_path: expected a NIfTI file name NAME.nii.gz or NAME.nii, got {str(input_path)!r}")
        return stem

    def mask_path(self, input_path: str | os.PathLike) -> Path:
        """``output_dir/NAME_cmb_mask.nii.gz``."""
        return self.output_dir / f"{self.name_of(input_path)}{PREDICTION_SUFFIX}.nii.gz"

    def lesions_path(self, input_path: str | os.PathLike) -> Path:
        """``output_dir/NAME_cmb_lesions.csv``."""
        return self.output_dir / f"{self.name_of(input_path)}{LESIONS_SUFFIX}.csv"

    def report_path(self, input_path: str | os.PathLike) -> Path:
        """``output_dir/NAME_cmb_report.png``."""
        return self.output_dir / f"{self.name_of(input_path)}{REPORT_SUFFIX}.png"

    @property
    def summary_path(self) -> Path:
        """``output_dir/cmb_summary.csv``."""
        return self.output_dir / SUMMARY_NAME

    def _target(self, path: Path, input_path: str | os.PathLike | None = None) -> Path:
        if input_path is not None and os.path.abspath(path) == os.path.abspath(input_path):
            raise OutputError(path, "the output would replace the input scan", "an output folder apart from inputs")
        return path

    def write_mask(
        self,
        input_path: str | os.PathLike,
        mask: Any,
        affine: Any,
        *,
        header: nib.Nifti1Header | None = None,
    ) -> Path:
        """Write the CMB mask of an input as ``NAME_cmb_mask.nii.gz`` (uint8, gzip-compressed NIfTI-1).

        The image gets exactly ``mask``'s shape and ``affine`` as both sform and qform (with the input header's
        codes when given and non-zero, else 1 = scanner) and spatial units mm. NIfTI-1 stores the sform in
        float32, so an affine read from a NIfTI-1 input is kept exactly (others to float32 precision).

        Args:
            input_path: the input scan (names the output).
            mask: ``(X, Y, Z)`` booleans or integer labels in [0, 255] on the input grid.
            affine: the input's 4x4 voxel-to-world affine.
            header: the input's header (from :func:`load_scan`); when given, ``mask`` must have its shape.

        Returns:
            The written path.

        Raises:
            ValueError: for a mask that is not 3D integer labels in [0, 255], a bad affine, or a shape that is not the
                input's.
            OutputError: when the file cannot be written.
        """
        data = _as_label_volume(mask)
        matrix = as_affine(affine, "affine")
        sform_code = qform_code = 1
        if header is not None:
            shape = tuple(int(n) for n in header.get_data_shape()[:3])
            if data.shape != shape:
                raise ValueError(f"mask: expected the input's shape {shape}, got shape {data.shape}")
            sform_code = int(header["sform_code"]) or 1
            qform_code = int(header["qform_code"]) or 1
        image = nib.Nifti1Image(data, matrix)
        image.set_data_dtype(np.uint8)
        image.header.set_xyzt_units("mm", "sec")
        image.set_sform(matrix, code=sform_code)
        image.set_qform(matrix, code=qform_code)
        payload = gzip.compress(image.to_bytes(), compresslevel=6, mtime=0)
        return write_bytes_atomic(self._target(self.mask_path(input_path), input_path), payload)

    def write_lesions(self, input_path: str | os.PathLike, lesions: Sequence[Lesion]) -> Path:
        """Write the lesion table of an input as ``NAME_cmb_lesions.csv`` (columns :data:`LESION_COLUMNS`).

        Floats are rounded to 4 decimals; a missing probability is an empty cell; no lesion gives the header only.

        Raises:
            ValueError: if an item of ``lesions`` is not a :class:`Lesion`.
            OutputError: when the file cannot be written.
        """
        rows = _rows(lesions, Lesion, "lesions", "a Lesion (from lesion_table)")
        return write_bytes_atomic(
            self._target(self.lesions_path(input_path), input_path), _csv_bytes(LESION_COLUMNS, rows)
        )

    def write_summary(self, outcomes: Sequence[InferenceOutcome]) -> Path:
        """Write ``cmb_summary.csv``: one row per input (columns :data:`SUMMARY_COLUMNS`), failed inputs included.

        Raises:
            ValueError: if an item of ``outcomes`` is not an :class:`InferenceOutcome`.
            OutputError: when the file cannot be written.
        """
        rows = _rows(outcomes, InferenceOutcome, "outcomes", "an InferenceOutcome")
        return write_bytes_atomic(self.summary_path, _csv_bytes(SUMMARY_COLUMNS, rows))
