"""The result of a batch run of :func:`run_inference`: one outcome per input and the summary file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from cmb_kd.inference.inference_outcome import InferenceOutcome

__all__ = ["InferenceRun"]


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
