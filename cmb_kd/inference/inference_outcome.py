"""The outcome of one input of a batch run: a row of ``cmb_summary.csv``."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from pathlib import Path

from cmb_kd.io import nifti_stem

__all__ = ["SUMMARY_COLUMNS", "WARNINGS_SEPARATOR", "InferenceOutcome"]

SUMMARY_COLUMNS: tuple[str, ...] = ("name", "count", "status", "message", "warnings")
"""Columns of ``cmb_summary.csv``, in order."""

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

    Raises:
        ValueError: for an unknown status, a negative count, an ``ok`` outcome without a count or a ``failed``
            outcome with one or without a message, or warnings that are not a tuple of strings.
    """

    name: str
    count: int | None
    status: str
    message: str = ""
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
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
    def succeeded(cls, path: str | os.PathLike, count: int, warnings: Iterable[str] = ()) -> InferenceOutcome:
        """Outcome of an input processed with ``count`` detections and the ``warnings`` about it (each made one line).

        Raises:
            ValueError: for a negative count or a warning that is not a string.
        """
        if isinstance(warnings, str):
            raise ValueError(f"warnings: expected an iterable of strings, got the string {warnings!r}")
        lines = tuple(" ".join(w.split()) if isinstance(w, str) else w for w in warnings)
        return cls(name=_name(path), count=int(count), status="ok", warnings=tuple(w for w in lines if w != ""))

    @classmethod
    def failed(cls, path: str | os.PathLike, error: BaseException | str) -> InferenceOutcome:
        """Outcome of an input that could not be processed, with the error's message."""
        message = str(error) or type(error).__name__
        return cls(name=_name(path), count=None, status="failed", message=" ".join(message.split()))

    def as_row(self) -> dict[str, str | int]:
        """The outcome as a mapping of :data:`SUMMARY_COLUMNS` to values (an empty count when failed, the warnings
        joined by :data:`WARNINGS_SEPARATOR`)."""
        return {
            "name": self.name,
            "count": "" if self.count is None else self.count,
            "status": self.status,
            "message": self.message,
            "warnings": WARNINGS_SEPARATOR.join(self.warnings),
        }


def _name(path: str | os.PathLike) -> str:
    return nifti_stem(path) or Path(path).name
