"""Shared body of the errors that name a path, the problem found there and what was expected."""

from __future__ import annotations

import os
from pathlib import Path


class PathProblem:
    """Mixin for exceptions reading ``"<path>: <problem>; expected <expected>"``, parts kept as attributes.

    Combine it with a built-in exception class (``class InputError(PathProblem, ValueError)``); the three
    parts are also the exception's ``args``, so the error pickles and compares like a built-in one.
    """

    def __init__(self, path: str | os.PathLike, problem: str, expected: str) -> None:
        super().__init__(str(path), problem, expected)
        self.path = Path(path)
        self.problem = problem
        self.expected = expected

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}; expected {self.expected}"
