"""Atomic writers of the outputs of ``cmb-kd infer``: a scan's mask, lesion table and report, and the batch summary."""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from cmb_kd.checks import as_affine
from cmb_kd.inference.batch_result import SUMMARY_COLUMNS, InferenceOutcome
from cmb_kd.inference.lesion_table import Lesion
from cmb_kd.inference.location_output import LOCATION_SUFFIX, lesion_columns, location_json_bytes, with_location
from cmb_kd.inference.report_figure import render_report_png
from cmb_kd.inference.report_html import render_report_html
from cmb_kd.io import (
    PREDICTION_SUFFIX,
    OutputError,
    csv_bytes,
    nifti_stem,
    prepare_folder,
    table_cell,
    write_bytes_atomic,
    write_files_atomic,
)

__all__ = ["LESIONS_SUFFIX", "REPORT_SUFFIX", "SUMMARY_NAME", "OutputWriter"]

LESIONS_SUFFIX = "_cmb_lesions"
"""Suffix added to the input name ``NAME`` of the per-lesion table ``NAME_cmb_lesions.csv``."""
REPORT_SUFFIX = "_cmb_report"
"""Suffix added to the input name ``NAME`` of the report picture ``NAME_cmb_report.png`` and page ``.html``."""
SUMMARY_NAME = "cmb_summary.csv"
"""File name of the batch summary (one row per input)."""

_SUMMARY_KEYS = ("name", "status")
"""Columns every summary has had; the others may be missing from a summary written by an older version."""
_SUMMARY_STATUSES = ("ok", "failed")


def _rows(items: Sequence[Any], kind: type, name: str, expected: str) -> list[Mapping[str, Any]]:
    """The CSV rows (``as_row()``) of ``items``, each checked to be a ``kind``."""
    rows = []
    for i, item in enumerate(items):
        if not isinstance(item, kind):
            raise ValueError(f"{name}[{i}]: expected {expected}, got {type(item).__name__}")
        rows.append(item.as_row())
    return rows


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


def _mask_bytes(mask: Any, affine: Any, header: nib.Nifti1Header | None) -> bytes:
    """The gzip-compressed NIfTI-1 file of a mask (see :meth:`OutputWriter.write_mask`)."""
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
    return gzip.compress(image.to_bytes(), compresslevel=6, mtime=0)


def _lesions_bytes(lesions: Sequence[Lesion], location: Any = None) -> bytes:
    """The CSV file of a lesion table (see :meth:`OutputWriter.write_lesions`), with the location's columns."""
    rows = with_location(_rows(lesions, Lesion, "lesions", "a Lesion (from lesion_table)"), location)
    return csv_bytes(lesion_columns(location), rows, table_cell)


class OutputWriter:
    """Writes the outputs of one batch run into ``output_dir``, every file atomically.

    For an input ``NAME.nii.gz`` (or ``NAME.nii``) the files are ``NAME_cmb_mask.nii.gz``,
    ``NAME_cmb_lesions.csv``, optionally ``NAME_cmb_location.json`` and the report, ``NAME_cmb_report.png`` and
    ``NAME_cmb_report.html``; the
    folder has one ``cmb_summary.csv``. Each
    file is written under a hidden temporary name (``.FILE.XXXXXXXX.tmp``) in ``output_dir`` and renamed into place
    with ``os.replace``, so an interrupted run never leaves a half-written file under a final name; an existing
    file of the same name is replaced. New files get mode ``0o666`` less the umask, as with :func:`open`.
    :meth:`write_scan` writes the files of one scan as a unit (all or none of them). Inputs are never written.

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

    def report_html_path(self, input_path: str | os.PathLike) -> Path:
        """``output_dir/NAME_cmb_report.html``."""
        return self.report_path(input_path).with_suffix(".html")

    def location_path(self, input_path: str | os.PathLike) -> Path:
        """``output_dir/NAME_cmb_location.json``."""
        return self.output_dir / f"{self.name_of(input_path)}{LOCATION_SUFFIX}.json"

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
        payload = _mask_bytes(mask, affine, header)
        return write_bytes_atomic(self._target(self.mask_path(input_path), input_path), payload)

    def write_lesions(self, input_path: str | os.PathLike, lesions: Sequence[Lesion]) -> Path:
        """Write the lesion table of an input as ``NAME_cmb_lesions.csv`` (columns :data:`LESION_COLUMNS`).

        Floats are rounded to 4 decimals; a missing probability is an empty cell; no lesion gives the header only.

        Raises:
            ValueError: if an item of ``lesions`` is not a :class:`Lesion`.
            OutputError: when the file cannot be written.
        """
        return write_bytes_atomic(self._target(self.lesions_path(input_path), input_path), _lesions_bytes(lesions))

    def write_scan(
        self,
        input_path: str | os.PathLike,
        mask: Any,
        affine: Any,
        lesions: Sequence[Lesion],
        *,
        header: nib.Nifti1Header | None = None,
        report_image: Any | None = None,
        report_title: str | None = None,
        report_phase: bool | None = None,
        location: Any = None,
    ) -> list[Path]:
        """Write every output of one scan as a unit: the mask, the lesion table and, with ``report_image``, the report.

        Everything is computed first; then each file is written under a temporary name and all are renamed into
        place (:func:`write_files_atomic`). When a write fails, no output of the scan is left in the folder: the
        files already renamed are removed, the temporaries deleted, and so are the scan's outputs from an earlier
        run, which the failure leaves out of date. On success, a report or a location JSON left by an earlier run
        is removed when none is written now, so the folder never holds one of other detections than the mask's.

        Args:
            input_path: the input scan (names the outputs).
            mask: ``(X, Y, Z)`` booleans or integer labels in [0, 255] on the input grid (see :meth:`write_mask`).
            affine: the input's 4x4 voxel-to-world affine.
            lesions: the lesion table (see :meth:`write_lesions`).
            header: the input's header (from :func:`load_scan`).
            report_image: the scan ``(X, Y, Z)`` to draw the picture on (:func:`render_report_png`), shown with
                the lesion table in the HTML page (:func:`render_report_html`); None for no report.
            report_title: title of the report.
            report_phase: whether the phase image was used, said in the report's header (None: not said).
            location: the :class:`~cmb_kd.location.LocationResult` of ``lesions``: its columns in the table and
                the report, and ``NAME_cmb_location.json``; None for none.

        Returns:
            The written paths: mask, lesion table, the location JSON, then the picture and the page when drawn.

        Raises:
            ValueError: for a bad mask, affine, lesion table or picture input (nothing is written then).
            OutputError: when a file cannot be written (then no output of the scan is left in the folder).
        """
        files = {
            self._target(self.mask_path(input_path), input_path): _mask_bytes(mask, affine, header),
            self._target(self.lesions_path(input_path), input_path): _lesions_bytes(lesions, location),
        }
        if location is not None:
            files[self._target(self.location_path(input_path), input_path)] = location_json_bytes(
                self.name_of(input_path), lesions, location
            )
        if report_image is not None:
            shown = {"title": report_title, "phase_used": report_phase, "location": location}
            picture = render_report_png(report_image, mask, affine, lesions=lesions, **shown)
            files[self._target(self.report_path(input_path), input_path)] = picture
            page = render_report_html(picture, lesions, affine, **shown)
            files[self._target(self.report_html_path(input_path), input_path)] = page.encode("utf-8")
        try:
            written = write_files_atomic(files)
        except OutputError:
            with contextlib.suppress(OutputError):  # the write's error is the one to report
                self.remove_outputs(input_path)
            raise
        stale = [] if report_image is not None else [self.report_path(input_path), self.report_html_path(input_path)]
        self.remove_outputs(input_path, only=stale + ([self.location_path(input_path)] if location is None else []))
        return written

    def outputs_of(self, input_path: str | os.PathLike) -> list[Path]:
        """The paths of every output of an input: mask, lesion table, location JSON, then the report's picture and
        page (present or not).

        Raises:
            ValueError: if ``input_path`` is not a NIfTI file name.
        """
        return [
            self.mask_path(input_path),
            self.lesions_path(input_path),
            self.location_path(input_path),
            self.report_path(input_path),
            self.report_html_path(input_path),
        ]

    def remove_outputs(self, input_path: str | os.PathLike, *, only: Sequence[Path] | None = None) -> list[Path]:
        """Remove the outputs of an input present in the folder (of a scan that failed, or out of date).

        Args:
            input_path: the input scan; a name that is not NIfTI has no outputs (nothing is removed).
            only: remove only these of the input's outputs.

        Returns:
            The removed paths.

        Raises:
            OutputError: naming a file that exists and cannot be removed.
        """
        if nifti_stem(input_path) is None:
            return []
        removed = []
        for path in self.outputs_of(input_path) if only is None else only:
            if os.path.abspath(path) == os.path.abspath(input_path):
                continue
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            except OSError as err:
                raise OutputError(
                    path,
                    f"cannot remove this out-of-date output ({err.strerror or type(err).__name__})",
                    "a writable output folder",
                ) from err
            removed.append(path)
        return removed

    def read_summary(self) -> list[dict[str, str]]:
        """The rows of the ``cmb_summary.csv`` already in the folder (from earlier runs); none when there is none.

        Columns are read by name: a column of :data:`SUMMARY_COLUMNS` missing from an older summary is an empty
        cell. An empty file counts as no summary.

        Returns:
            One mapping of :data:`SUMMARY_COLUMNS` to strings per row, in the file's order.

        Raises:
            OutputError: naming the file when it cannot be read or is not a summary written by ``cmb-kd infer``
                (unknown or missing columns, a bad row): it is never overwritten then.
        """
        path = self.summary_path
        if not path.exists() and not path.is_symlink():
            return []
        expected = (
            f"a {SUMMARY_NAME} written by cmb-kd infer (columns {', '.join(SUMMARY_COLUMNS)}), or none: move the "
            "file away or choose another output folder"
        )
        if not path.is_file():
            raise OutputError(path, "exists and is not a regular file", expected)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise OutputError(path, "is not a summary of cmb-kd infer (not UTF-8 text)", expected) from err
        except OSError as err:
            raise OutputError(path, f"cannot read the file ({err.strerror or type(err).__name__})", expected) from err
        if not text.strip():
            return []
        reader = csv.DictReader(io.StringIO(text, newline=""))
        rows = []
        try:
            columns = list(reader.fieldnames or ())
            unknown = [column for column in columns if column not in SUMMARY_COLUMNS]
            missing = [column for column in _SUMMARY_KEYS if column not in columns]
            if unknown or missing or len(set(columns)) != len(columns):
                raise OutputError(path, f"is not a summary of cmb-kd infer (columns {columns})", expected)
            for row in reader:
                where = f"line {reader.line_num}"
                if None in row:
                    raise OutputError(path, f"is not a summary of cmb-kd infer ({where}: too many cells)", expected)
                if any(value is None for value in row.values()):
                    raise OutputError(path, f"is not a summary of cmb-kd infer ({where}: too few cells)", expected)
                if not row["name"] or row["status"] not in _SUMMARY_STATUSES:
                    problem = f"{where}: name {row['name']!r}, status {row['status']!r}"
                    raise OutputError(path, f"is not a summary of cmb-kd infer ({problem})", expected)
                rows.append({column: row.get(column, "") for column in SUMMARY_COLUMNS})
        except csv.Error as err:
            raise OutputError(path, f"is not a summary of cmb-kd infer (not CSV: {err})", expected) from err
        return rows

    def write_summary(self, outcomes: Sequence[InferenceOutcome], *, earlier: Sequence[Mapping[str, Any]] = ()) -> Path:
        """Write ``cmb_summary.csv``: one row per input (columns :data:`SUMMARY_COLUMNS`), failed inputs included.

        The rows of ``earlier`` (from :meth:`read_summary`) whose names are not among ``outcomes`` come first, in
        their order, then one row per outcome: an input processed again replaces its old row, the others are kept.

        Args:
            outcomes: the outcomes of this run so far.
            earlier: rows of the summary of earlier runs.

        Raises:
            ValueError: if an item of ``outcomes`` is not an :class:`InferenceOutcome`, or a row of ``earlier`` has
                no name or a column that is not in :data:`SUMMARY_COLUMNS`.
            OutputError: when the file cannot be written.
        """
        rows = _rows(outcomes, InferenceOutcome, "outcomes", "an InferenceOutcome")
        names = {outcome.name for outcome in outcomes}
        kept = []
        for i, row in enumerate(earlier):
            if not isinstance(row, Mapping) or not row.get("name") or set(row) - set(SUMMARY_COLUMNS):
                raise ValueError(
                    f"earlier[{i}]: expected a summary row with a name and columns among {SUMMARY_COLUMNS}, got {row!r}"
                )
            if row["name"] not in names:
                kept.append(row)
        return write_bytes_atomic(self.summary_path, csv_bytes(SUMMARY_COLUMNS, [*kept, *rows], table_cell))
