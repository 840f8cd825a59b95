"""The input scans of a bundle's MONAI inference run: its datalist, and a non-zero exit when some could not be used."""

from __future__ import annotations

import logging
import os
from collections.abc import Collection, Iterable

from cmb_kd.inference.input_discovery import find_inputs
from cmb_kd.io import InputError

__all__ = ["ImageInputs"]

logger = logging.getLogger(__name__)


class ImageInputs:
    """Finds the input scans named by ``paths`` once, for a bundle's ``datalist`` and the end of its ``run``.

    The scans are found as ``cmb-kd infer`` finds them (:func:`~cmb_kd.inference.find_inputs`: NIfTI files, flat
    or VALDO-style folders, masks and labels skipped by name, headers checked). Each path that cannot be used is
    logged as an error naming it when the object is built, and left out of :attr:`datalist`, so one broken file
    does not stop a run over a folder; :meth:`exit_on_problems`, the last step of the run, then ends it with a
    non-zero exit code. In a bundle config::

        "input_scans": {"_target_": "cmb_kd.inference.ImageInputs", "paths": "@inputs"},
        "datalist": "$@input_scans.datalist",
        "run": ["$@evaluator.run()", "$@input_scans.exit_on_problems()"]

    Args:
        paths: one NIfTI file or folder, or several.
        modalities: optional modality tokens a file found in a folder must carry (e.g. ``("TOF",)``).

    Attributes:
        inputs: the usable scans, absolute and sorted.
        problems: one :class:`~cmb_kd.io.InputError` per path that cannot be used.

    Raises:
        ValueError: ``paths`` is empty or ``modalities`` is not a collection of non-empty strings.
    """

    def __init__(
        self, paths: str | os.PathLike | Iterable[str | os.PathLike], *, modalities: Collection[str] | None = None
    ) -> None:
        self.paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
        self.inputs, self.problems = find_inputs(self.paths, modalities=modalities)
        for problem in self.problems:
            logger.error("%s", problem)

    @property
    def datalist(self) -> list[dict[str, str]]:
        """``[{"image": "/abs/path/NAME.nii.gz"}, ...]``, one entry per usable scan, sorted."""
        return [{"image": str(path)} for path in self.inputs]

    def exit_on_problems(self) -> None:
        """Raise ``SystemExit(1)`` after logging the number of unusable paths, or when no scan was found at all.

        Raises:
            SystemExit: with code 1 when a path could not be used or nothing was found.
        """
        if not self.inputs and not self.problems:
            self.problems = [InputError(self.paths[0], "no input scan found", "NIfTI images")]
            logger.error("%s", self.problems[0])
        if self.problems:
            logger.error("%d input path(s) could not be used (logged above)", len(self.problems))
            raise SystemExit(1)
