"""Result of evaluating a folder of predictions against a folder of references."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cmb_kd.metrics.lesion_counts import LesionCounts
from cmb_kd.metrics.lesion_summary import summarize_lesion_counts
from cmb_kd.metrics.subject_evaluation import SubjectEvaluation

__all__ = ["EvaluationResult"]


def _json_number(value: float) -> float | None:
    return None if math.isnan(value) else value


@dataclass(frozen=True)
class EvaluationResult:
    """Per-subject and pooled metrics of one evaluation run.

    Attributes:
        subjects: one :class:`SubjectEvaluation` per prediction, sorted by prediction name.
        settings: the matching settings and folders (written to ``metrics.json``).
        missing_subjects: subjects with a reference label but no prediction at all (not part of the metrics).
        warnings: one line per doubt about the inputs (e.g. a reference mask holding values other than 0 and 1),
            also logged; written to ``metrics.json``.
        json_path: where ``metrics.json`` was written, or None.
        csv_path: where ``metrics_per_subject.csv`` was written, or None.
    """

    subjects: tuple[SubjectEvaluation, ...]
    settings: dict[str, Any] = field(default_factory=dict)
    missing_subjects: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    json_path: Path | None = None
    csv_path: Path | None = None

    @property
    def counts(self) -> LesionCounts:
        """Counts pooled over all subjects."""
        return sum((s.counts for s in self.subjects), LesionCounts())

    @property
    def metrics(self) -> dict[str, float]:
        """Pooled metrics, see :func:`cmb_kd.metrics.summarize_lesion_counts`.

        Raises:
            ValueError: when the result holds no subject.
        """
        return summarize_lesion_counts([s.counts for s in self.subjects])

    def to_dict(self) -> dict[str, Any]:
        """Returns the content of ``metrics.json``: pooled ``metrics`` (nan written as null), ``settings``,
        ``missing_subjects``, ``warnings`` and the per-subject rows."""
        metrics = {key: _json_number(value) for key, value in self.metrics.items()}
        for key in ("n_subjects", "n_ref", "n_pred", "tp", "fp", "fn", "duplicates"):
            metrics[key] = int(self.metrics[key])
        subjects = []
        for subject in self.subjects:
            row = subject.as_row()
            subjects.append({k: _json_number(v) if isinstance(v, float) else v for k, v in row.items()})
        return {
            "metrics": metrics,
            "settings": dict(self.settings),
            "missing_subjects": list(self.missing_subjects),
            "warnings": list(self.warnings),
            "subjects": subjects,
        }
