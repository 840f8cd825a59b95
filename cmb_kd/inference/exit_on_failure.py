"""End a bundle run with a non-zero exit status when any input of a batch failed."""

from __future__ import annotations

import logging

from cmb_kd.inference.inference_run import InferenceRun

__all__ = ["exit_on_failure"]

logger = logging.getLogger(__name__)


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
