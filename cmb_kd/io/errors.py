"""The errors a user sees about a file: one message naming the path, the problem found there and what was expected."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PathProblem", "InputError", "OutputError"]


class PathProblem:
    """Mixin for exceptions reading ``"<path>: <problem>; expected <expected>"``, parts kept as attributes.

    Combine it with a built-in exception class (``class InputError(PathProblem, ValueError)``); the three
    parts are also the exception's ``args``, so the error pickles and compares like a built-in one.

    Args:
        path: the offending file or folder.
        problem: what is wrong with it (e.g. ``"4D image with 3 volumes (shape (8, 8, 8, 3))"``).
        expected: what was expected instead (e.g. ``"one 3D volume"``).

    Attributes:
        path: the offending path.
        problem: what is wrong.
        expected: what was expected.
    """

    def __init__(self, path: str | os.PathLike, problem: str, expected: str) -> None:
        super().__init__(str(path), problem, expected)
        self.path = Path(path)
        self.problem = problem
        self.expected = expected

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}; expected {self.expected}"


class InputError(PathProblem, ValueError):
    """A scan (or an input path) that cannot be used; a batch run lists it in its summary and finishes the others.

    ``str(error)`` reads ``"<file>: <problem>; expected <expected>"`` (see :class:`PathProblem` for the arguments).
    """


class OutputError(PathProblem, OSError):
    """An output folder or file that cannot be created or written, naming it and the reason.

    ``str(error)`` reads ``"<path>: <problem>; expected <expected>"``, e.g. ``"out: cannot create the folder (Not a
    directory); expected a folder that can be created"`` (see :class:`PathProblem` for the arguments).
    """
