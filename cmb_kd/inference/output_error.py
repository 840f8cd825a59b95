"""The error raised when an output folder or file cannot be created or written."""

from __future__ import annotations

from cmb_kd.inference._path_problem import PathProblem

__all__ = ["OutputError"]


class OutputError(PathProblem, OSError):
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
