"""The error raised for a bad input scan: one message naming the file, the problem and what was expected."""

from __future__ import annotations

from cmb_kd.inference._path_problem import PathProblem

__all__ = ["InputError"]


class InputError(PathProblem, ValueError):
    """A scan (or an input path) that cannot be used, with the file, the problem and the expectation.

    ``str(error)`` reads ``"<file>: <problem>; expected <expected>"``. The parts stay available as attributes so
    that a batch run can list failed inputs in its summary and finish the others.

    Args:
        path: the offending file or folder.
        problem: what is wrong with it (e.g. ``"4D image with 3 volumes (shape (8, 8, 8, 3))"``).
        expected: what was expected instead (e.g. ``"one 3D volume"``).

    Attributes:
        path: the offending path.
        problem: what is wrong.
        expected: what was expected.
    """
