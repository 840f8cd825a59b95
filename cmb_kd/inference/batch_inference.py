"""Batch inference over files and folders: every good input processed and written, every bad one reported."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from cmb_kd.inference.detection_result import DetectionResult
from cmb_kd.inference.inference_outcome import InferenceOutcome
from cmb_kd.inference.inference_run import InferenceRun
from cmb_kd.inference.input_discovery import find_inputs, phase_beside
from cmb_kd.inference.input_error import InputError
from cmb_kd.inference.output_error import OutputError
from cmb_kd.inference.output_writer import OutputWriter
from cmb_kd.inference.report_figure import write_report_png
from cmb_kd.inference.scan_loading import load_scan

__all__ = ["run_inference"]

logger = logging.getLogger(__name__)


def run_inference(
    inputs: str | os.PathLike | Iterable[str | os.PathLike],
    output_dir: str | os.PathLike,
    detector: Callable[..., DetectionResult],
    *,
    report: bool = False,
    progress: bool = False,
    phase: bool = True,
) -> InferenceRun:
    """Run ``detector`` on every scan named by ``inputs`` and write the outputs into ``output_dir``.

    Inputs are found with :func:`find_inputs` (files, flat or VALDO-style folders). For each scan ``NAME`` the
    mask ``NAME_cmb_mask.nii.gz`` (uint8, the input's shape and affine) and the table ``NAME_cmb_lesions.csv``
    are written through :class:`OutputWriter` (atomically), and with ``report`` the picture
    ``NAME_cmb_report.png``. A path or scan that cannot be used (:class:`InputError`, or a ``ValueError`` raised
    while processing it) or whose outputs cannot be written (:class:`OutputError`) is logged as one line naming
    the file and recorded as failed; the other inputs are still processed. ``cmb_summary.csv`` (one row per
    input, failures included) is always written at the end. Inputs are only read.

    With ``phase``, a phase image beside a scan (:func:`phase_beside`: ``sub-001_phase.nii.gz`` beside
    ``sub-001_T2S.nii.gz``) is given to the detector as ``phase=`` for the clean-up's phase-sign rule, which tells
    paramagnetic CMBs from diamagnetic calcifications; it must be on the scan's grid.

    Args:
        inputs: NIfTI files and/or folders.
        output_dir: output folder, created when missing.
        detector: a :class:`CMBDetector` (any callable ``detector(data, affine) -> DetectionResult``).
        report: also write a PNG per scan with the detections outlined.
        progress: show a progress bar.
        phase: use the phase image beside each scan when there is one.

    Returns:
        The :class:`InferenceRun`; its ``status`` is 1 when any input failed, else 0.

    Raises:
        OutputError: when ``output_dir`` cannot be created or written (before any scan is processed), or the
            summary cannot be written.
        ValueError: when ``inputs`` is empty.
    """
    writer = OutputWriter(output_dir)
    files, problems = find_inputs(inputs)
    outcomes = [InferenceOutcome.failed(problem.path, problem) for problem in problems]
    for problem in problems:
        logger.debug("%s", problem)
    for path in tqdm(files, desc="cmb-kd infer", unit="scan", disable=not progress):
        try:
            outcomes.append(_process(path, writer, detector, report, phase_beside(path) if phase else None))
        except (InputError, OutputError) as err:
            logger.debug("%s", err)
            outcomes.append(InferenceOutcome.failed(path, err))
        except ValueError as err:
            error = InputError(path, f"cannot be processed ({err})", "a T2*/SWI head scan")
            logger.debug("%s", error)
            outcomes.append(InferenceOutcome.failed(path, error))
    summary = writer.write_summary(outcomes)
    return InferenceRun(outcomes=outcomes, summary_path=summary)


def _process(
    path: Path, writer: OutputWriter, detector: Callable[..., DetectionResult], report: bool, phase: Path | None
) -> InferenceOutcome:
    data, affine, header = load_scan(path)
    if phase is None:
        result = detector(data, affine)
    else:
        phase_data, phase_affine, _ = load_scan(phase)
        if phase_data.shape != data.shape or not np.allclose(phase_affine, affine, atol=1e-3):
            raise InputError(
                phase,
                f"phase image of shape {phase_data.shape} is not on the grid of {path.name} (shape {data.shape})",
                "the phase on the scan's grid: same shape and affine",
            )
        logger.debug("%s: phase from %s", path.name, phase.name)
        result = detector(data, affine, phase=phase_data)
    writer.write_mask(path, result.mask, affine, header=header)
    writer.write_lesions(path, result.lesions)
    if report:
        name = writer.name_of(path)
        write_report_png(data, result.mask, affine, writer.report_path(path), title=f"{name}: {result.count} CMB(s)")
    logger.info("%s: %d CMB(s) in %.1f s", path.name, result.count, sum(result.timings.values()))
    return InferenceOutcome.succeeded(path, result.count)
