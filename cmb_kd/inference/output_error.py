"""The error raised when an output folder or file cannot be created or written."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["OutputError"]


class OutputError(OSError):
    """An output location that cannot be created or written, naming the folder or file and the reason.

    ``str(error)`` reads ``"<path>: <problem>; expected <expected>"``.

    Args:
        path: the output folder or file.
        problem: what went wrong (e.g. ``"cannot create the folder (Not a directory)"``).
        expected: what was expected (e.g. ``"a writable folder"``).

    Attributes:
        path: the output folder or file.
        problem: what went wrong.
        expected: what was expected.
    """

    def __init__(self, path: str | os.PathLike, problem: str, expected: str) -> None:
        super().__init__(str(path), problem, expected)
        self.path = Path(path)
        self.problem = problem
        self.expected = expected

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}; expected {self.expected}"
