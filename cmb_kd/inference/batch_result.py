"""What a batch run of :func:`run_inference` gives back: one outcome per input (a row of ``cmb_summary.csv``),
the run as a whole, and the exit status a bundle run ends with."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from cmb_kd.inference.location_output import LOCATION_SUMMARY_COLUMNS, location_summary_row
from cmb_kd.io import nifti_stem
from cmb_kd.location import LocationResult

__all__ = ["SUMMARY_COLUMNS", "WARNINGS_SEPARATOR", "InferenceOutcome", "InferenceRun", "exit_on_failure"]

logger = logging.getLogger(__name__)

SUMMARY_COLUMNS: tuple[str, ...] = ("name", "count", "status", "message", "warnings", *LOCATION_SUMMARY_COLUMNS)
"""Columns of ``cmb_summary.csv``, in order: the outcome, then the burden of a scan run with location (empty
otherwise; :data:`LOCATION_SUMMARY_COLUMNS`)."""

WARNINGS_SEPARATOR = "; "
"""How the warnings of one input are joined in the ``warnings`` column."""

_STATUSES = ("ok", "failed")


@dataclasses.dataclass(frozen=True)
class InferenceOutcome:
    """What happened to one input: its name, the number of detected CMBs, the error when it failed, the warnings.

    Attributes:
        name: the input's name ``NAME`` (file name without ``.nii.gz`` / ``.nii``; the whole file name when it is
            not NIfTI).
        count: number of detected CMBs; None when the input failed.
        status: ``"ok"`` or ``"failed"``.
        message: empty when ``ok``; the error message (naming the file and the problem) when ``failed``.
        warnings: doubts about a processed input (e.g. ``DetectionResult.warnings``: inverted contrast, slices
            thicker than the model is validated for), one line each; empty when there are none.
        location: the scan's :data:`LOCATION_SUMMARY_COLUMNS` as text (:func:`location_summary_row`); empty when
            it was run without location or its location failed.

    Raises:
        ValueError: for an unknown status, a negative count, an ``ok`` outcome without a count or a ``failed``
            outcome with one or without a message, or warnings that are not a tuple of strings.
    """

    name: str
    count: int | None
    status: str
    message: str = ""
    warnings: tuple[str, ...] = ()
    location: dict[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.location, dict) or set(self.location) - set(LOCATION_SUMMARY_COLUMNS):
            raise ValueError(f"location: expected a mapping of LOCATION_SUMMARY_COLUMNS, got {self.location!r}")
        if not isinstance(self.warnings, tuple) or not all(isinstance(w, str) for w in self.warnings):
            raise ValueError(f"warnings: expected a tuple of strings, got {self.warnings!r}")
        if self.status not in _STATUSES:
            raise ValueError(f"status: expected one of {_STATUSES}, got {self.status!r}")
        if self.status == "ok":
            if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 0:
                raise ValueError(f"count: expected a non-negative integer for an 'ok' outcome, got {self.count!r}")
        elif self.count is not None or not self.message:
            raise ValueError(
                f"count, message: expected count None and a non-empty message for a 'failed' outcome, got "
                f"count={self.count!r}, message={self.message!r}"
            )

    @classmethod
    def succeeded(
        cls,
        path: str | os.PathLike,
        count: int,
        warnings: Iterable[str] = (),
        location: LocationResult | None = None,
    ) -> InferenceOutcome:
        """Outcome of an input processed with ``count`` detections, the ``warnings`` about it (each made one line)
        and its ``location`` (its burden goes to the summary row), if any.

        Raises:
            ValueError: for a negative count or a warning that is not a string.
        """
        if isinstance(warnings, str):
            raise ValueError(f"warnings: expected an iterable of strings, got the string {warnings!r}")
        lines = tuple(" ".join(w.split()) if isinstance(w, str) else w for w in warnings)
        burden = location_summary_row(location) if location is not None else {}
        return cls(_name(path), int(count), "ok", warnings=tuple(w for w in lines if w != ""), location=burden)

    @classmethod
    def failed(cls, path: str | os.PathLike, error: BaseException | str) -> InferenceOutcome:
        """Outcome of an input that could not be processed, with the error's message."""
        message = str(error) or type(error).__name__
        return cls(name=_name(path), count=None, status="failed", message=" ".join(message.split()))

    @classmethod
    def from_row(cls, row: dict[str, str]) -> InferenceOutcome:
        """The outcome a row of ``cmb_summary.csv`` records (as :meth:`OutputWriter.read_summary` gives it).

        Raises:
            ValueError: for a row that is no outcome (see the class).
        """
        status = row.get("status", "")
        count = int(row["count"]) if status == "ok" and row.get("count", "").isdigit() else None
        warnings = tuple(w for w in row.get("warnings", "").split(WARNINGS_SEPARATOR) if w)
        location = {column: row[column] for column in LOCATION_SUMMARY_COLUMNS if row.get(column)}
        return cls(row.get("name", ""), count, status, row.get("message", ""), warnings=warnings, location=location)

    def as_row(self) -> dict[str, str | int]:
        """The outcome as a mapping of :data:`SUMMARY_COLUMNS` to values (an empty count when failed, the warnings
        joined by :data:`WARNINGS_SEPARATOR`, the burden columns empty without location)."""
        return {
            "name": self.name,
            "count": "" if self.count is None else self.count,
            "status": self.status,
            "message": self.message,
            "warnings": WARNINGS_SEPARATOR.join(self.warnings),
            **location_summary_row(None),
            **self.location,
        }


def _name(path: str | os.PathLike) -> str:
    return nifti_stem(path) or Path(path).name


@dataclasses.dataclass(frozen=True)
class InferenceRun:
    """What a batch run did.

    Attributes:
        outcomes: one :class:`InferenceOutcome` per input path of this run (unusable paths first, in the order
            found, then the scans in sorted order), as listed in ``cmb_summary.csv``.
        summary_path: the written ``cmb_summary.csv``, which also keeps the rows of earlier runs into the folder for
            the names this run did not process.
    """

    outcomes: list[InferenceOutcome]
    summary_path: Path

    @property
    def failures(self) -> list[InferenceOutcome]:
        """The outcomes of the inputs that failed."""
        return [outcome for outcome in self.outcomes if outcome.status == "failed"]

    @property
    def status(self) -> int:
        """Exit status of the run: 0 when every input was processed, 1 when any failed."""
        return 1 if self.failures else 0


def exit_on_failure(run: InferenceRun) -> None:
    """Raise ``SystemExit(1)`` after logging how many inputs of ``run`` failed; return quietly when none failed.

    :func:`run_inference` logged each failed input (one line, level WARNING) as it happened; this logs one last
    line with their number and the summary that lists them.

    The last step of ``python -m monai.bundle run`` with the bundle's ``inference.json`` / ``evaluate.json``, so
    that a batch with bad inputs ends with a non-zero exit code after all the good inputs were processed.

    Args:
        run: the result of :func:`run_inference`.

    Raises:
        ValueError: if ``run`` is not an :class:`InferenceRun`.
        SystemExit: with code 1 when any input failed.
    """
    if not isinstance(run, InferenceRun):
        raise ValueError(f"run: expected an InferenceRun (from run_inference), got {type(run).__name__}")
    failures = run.failures
    if not failures:
        return
    logger.error("%d of %d input(s) failed (logged above); see %s", len(failures), len(run.outcomes), run.summary_path)
    raise SystemExit(1)
