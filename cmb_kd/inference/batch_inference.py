"""Batch inference over files and folders: every good input processed and written, every bad one reported."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from cmb_kd.inference.batch_result import InferenceOutcome, InferenceRun
from cmb_kd.inference.detection_result import DetectionResult
from cmb_kd.inference.input_discovery import brain_mask_of, brain_mask_source, find_inputs, phase_beside
from cmb_kd.inference.location_output import located_or_warning
from cmb_kd.inference.output_lock import OutputFolderLock
from cmb_kd.inference.output_writer import OutputWriter
from cmb_kd.inference.summary_shards import fold_shards
from cmb_kd.io import InputError, OutputError, load_scan, nifti_stem

__all__ = ["batch_inputs", "infer_scans", "run_inference"]

logger = logging.getLogger(__name__)

_GRID_TOLERANCE_MM = 1e-3
"""Largest difference (mm) between the affine entries of a scan and of its phase or brain mask on the same grid."""


def run_inference(
    inputs: str | os.PathLike | Iterable[str | os.PathLike],
    output_dir: str | os.PathLike,
    detector: Callable[..., DetectionResult],
    *,
    report: bool = False,
    progress: bool = False,
    phase: bool = True,
    brain_masks: str | os.PathLike | None = None,
    resume: bool = False,
    location: bool = False,
) -> InferenceRun:
    """Run ``detector`` on every scan named by ``inputs`` and write the outputs into ``output_dir``.

    Inputs are found with :func:`find_inputs` (files, flat or VALDO-style folders). For each scan ``NAME`` the mask
    ``NAME_cmb_mask.nii.gz`` (uint8, the input's shape and affine), the table ``NAME_cmb_lesions.csv``, with
    ``location`` ``NAME_cmb_location.json`` and with ``report`` the report ``NAME_cmb_report.png`` and ``.html`` are
    written as a unit (:meth:`OutputWriter.write_scan`: all or none). A path or scan that cannot be used
    (:class:`InputError`, or a ``ValueError`` raised while processing it), whose processing fails (a ``RuntimeError``,
    e.g. out of memory; traceback logged at DEBUG level) or whose outputs cannot be written (:class:`OutputError`) is
    logged as one line naming the file (WARNING) and recorded as failed, its outputs from an earlier run removed so
    that no file contradicts its row; the other inputs are still processed. Inputs are only read.

    ``cmb_summary.csv`` describes every output in the folder: it is rewritten atomically after each scan, with one
    row per input of this run (failures included) and the rows of earlier runs for the other names (an input processed
    again replaces its old row), so that runs into one folder accumulate and a killed run leaves a summary that
    matches the outputs; the rows a stopped distributed run left in its shards are folded in first
    (:func:`fold_shards`). The folder is locked (:class:`OutputFolderLock`): a second run into it fails at once.

    With ``phase``, a phase image beside a scan (:func:`phase_beside`, on its grid) is given to the detector as
    ``phase=`` for the phase-sign rule, which tells paramagnetic CMBs from diamagnetic calcifications.

    With ``brain_masks``, each scan's brain mask is given to the detector as ``brain_mask=`` (non-zero and not NaN
    is brain; on the scan's grid): one NIfTI file for a single scan; a folder of masks named like the scans; or
    ``"beside"`` (:data:`BRAIN_MASKS_BESIDE`; a folder of that name is written ``./beside``) for masks in each scan's
    own folder (:func:`find_brain_mask`). A scan without its mask, or with one that cannot be loaded or is off its
    grid, is a failed row naming the file. Without ``brain_masks`` the detector finds the brain.

    With ``resume``, a scan whose summary row is ``ok`` and whose outputs are all there (the report's when ``report``,
    the location JSON when ``location``) is skipped, its row and outputs kept: a stopped run goes on where it stopped.
    A scan is known by its name; one changed since the earlier run is processed again only without ``resume``.

    With ``location``, each scan is registered to MNI (:meth:`DetectionResult.locate`, ~8 s of CPU a scan): the JSON,
    the lesion table and the report give each lesion's MARS region, the summary row the burden. A failed registration
    keeps the detections, written without location, with a warning in the row.

    Args:
        inputs: NIfTI files and/or folders.
        output_dir: output folder, created when missing.
        detector: a :class:`CMBDetector` (any callable ``detector(data, affine, *, phase=None, brain_mask=None,
            name=None) -> DetectionResult``; ``name`` is the scan's path; ``phase``, ``brain_mask`` only if any).
        report: also write the report per scan: the picture and the HTML page holding it and the lesion table.
        progress, phase: show a progress bar; use the phase image beside each scan when there is one.
        brain_masks: None (the detector finds the brain), a mask file (one scan), a folder of masks, or ``"beside"``.
        resume, location: skip the scans an earlier run finished; give each lesion its MARS region (see above).

    Returns:
        The :class:`InferenceRun`; its ``status`` is 1 when any input failed, else 0.

    Raises:
        OutputError: before any scan is processed, when ``output_dir`` cannot be created or written, another run
            holds its lock, or its ``cmb_summary.csv`` is not this package's (never overwritten); later, when the
            summary cannot be written.
        ValueError: when ``inputs`` is empty; before any scan, when ``brain_masks`` is neither an existing NIfTI
            file or folder nor ``"beside"`` (an :class:`InputError` naming it), or is one file for several scans.
    """
    masks = brain_mask_source(brain_masks)
    writer = OutputWriter(output_dir)
    with OutputFolderLock(writer.output_dir):
        earlier = fold_shards(writer)
        files, outcomes = batch_inputs(inputs, writer, brain_masks=masks)
        if outcomes or not files:
            writer.write_summary(outcomes, earlier=earlier)
        options = {"report": report, "progress": progress, "phase": phase, "resume": resume, "location": location}
        outcomes += infer_scans(files, writer, detector, before=outcomes, earlier=earlier, brain_masks=masks, **options)
    return InferenceRun(outcomes=outcomes, summary_path=writer.summary_path)


def batch_inputs(
    inputs: str | os.PathLike | Iterable[str | os.PathLike],
    writer: OutputWriter,
    *,
    brain_masks: str | os.PathLike | None = None,
) -> tuple[list[Path], list[InferenceOutcome]]:
    """The scans of a batch run into ``writer``'s folder (:func:`find_inputs`: absolute, sorted, one per name) and
    the failed outcome of each path that cannot be used, in the order found, each logged (WARNING) with its outputs
    of an earlier run removed (those of a duplicate name are the kept scan's and stay).

    Raises:
        ValueError: when ``inputs`` is empty or ``brain_masks`` is bad or one file for several scans (see
            :func:`run_inference`).
    """
    masks = brain_mask_source(brain_masks)
    files, problems = find_inputs(inputs)
    _check_one_mask_file(masks, files)
    return files, _problem_outcomes(writer, files, problems)


def infer_scans(
    files: Sequence[Path],
    writer: OutputWriter,
    detector: Callable[..., DetectionResult],
    *,
    before: Sequence[InferenceOutcome] = (),
    earlier: Sequence[dict[str, str]] = (),
    report: bool = False,
    progress: bool = False,
    phase: bool = True,
    brain_masks: str | os.PathLike | None = None,
    resume: bool = False,
    location: bool = False,
) -> list[InferenceOutcome]:
    """Process ``files`` one after the other: the scan loop of :func:`run_inference`, without finding the inputs
    and without the folder's lock (the caller holds it).

    After each scan, ``writer.summary_path`` is rewritten with the rows of ``earlier`` for other names, the
    outcomes ``before`` and one row per scan so far. With ``resume`` the scans ``earlier`` records as finished (an
    ``ok`` row and all their outputs in the folder) are skipped, their outcomes taken from their rows.

    Args:
        files: the scans, e.g. from :func:`batch_inputs`.
        writer: writes the outputs and the summary.
        detector, report, progress, phase, brain_masks, resume, location: as for :func:`run_inference`.
        before: outcomes listed before the scans' in the summary (the unusable paths of :func:`batch_inputs`).
        earlier: rows of the summary of earlier runs (:meth:`OutputWriter.read_summary`).

    Returns:
        One outcome per scan of ``files``, in order.
    """
    masks = brain_mask_source(brain_masks)
    options = {"report": report, "phase": phase, "masks": masks, "location": location}
    done = _done_before(writer, list(files), earlier, report, location) if resume else {}
    outcomes = list(before)
    bar = tqdm(files, desc="cmb-kd infer", unit="scan", disable=not progress)
    for path in bar:
        outcomes.append(done.get(path) or _run_scan(path, writer, detector, outcomes, earlier, bar, options))
    return outcomes[len(before) :]


def _run_scan(
    path: Path,
    writer: OutputWriter,
    detector: Callable[..., DetectionResult],
    outcomes: list[InferenceOutcome],
    earlier: list[dict[str, str]],
    bar: Any,
    options: dict[str, Any],
) -> InferenceOutcome:
    """Process one scan of the run (an interruption recorded) and write the summary with its outcome."""
    with _interruption_recorded(writer, path, outcomes, earlier):
        outcome = _outcome_of(path, writer, detector, bar=bar, **options)
    writer.write_summary([*outcomes, outcome], earlier=earlier)
    return outcome


def _done_before(
    writer: OutputWriter, files: list[Path], earlier: list[dict[str, str]], report: bool, location: bool = False
) -> dict[Path, InferenceOutcome]:
    """The scans of ``files`` an earlier run finished, with the outcome their summary row records: the row is
    ``ok`` and every output the run would write is in the folder (the report's only when ``report``, the location
    JSON only when ``location``)."""
    rows = {row["name"]: row for row in earlier if row.get("status") == "ok"}
    done = {}
    for path in files:
        row = rows.get(writer.name_of(path))
        needed = [writer.mask_path(path), writer.lesions_path(path)]
        needed += [writer.location_path(path)] if location else []
        if report:
            needed += [writer.report_path(path), writer.report_html_path(path)]
        if row is not None and all(p.is_file() for p in needed):
            done[path] = InferenceOutcome.from_row(row)
    if done:
        logger.info(
            "%d of %d scan(s) done by an earlier run into %s: skipped", len(done), len(files), writer.output_dir
        )
    return done


def _check_one_mask_file(masks: Path | str | None, files: list[Path]) -> None:
    """Raise :class:`InputError` when one brain mask file is given for several scans."""
    if isinstance(masks, Path) and masks.is_file() and len(files) > 1:
        raise InputError(
            masks,
            f"one brain mask file given for {len(files)} scans",
            "a folder of brain masks named like the scans, or 'beside' for masks in the scans' own folders",
        )


def _problem_outcomes(writer: OutputWriter, files: list[Path], problems: list[InputError]) -> list[InferenceOutcome]:
    """The failed outcome of each unusable path; a problem named like a scan of this run (a duplicate name) leaves
    that scan's outputs alone."""
    scans = {writer.name_of(path) for path in files}
    return [
        _failed(writer, problem.path, problem, remove=nifti_stem(problem.path) not in scans) for problem in problems
    ]


def _outcome_of(
    path: Path,
    writer: OutputWriter,
    detector: Callable[..., DetectionResult],
    *,
    report: bool,
    phase: bool,
    masks: Path | str | None,
    bar: Any,
    location: bool = False,
) -> InferenceOutcome:
    """Process one scan (:func:`_process`) and return its outcome; an unusable scan, a failed processing (e.g. out
    of memory: the other scans still run) or unwritable outputs give a failed outcome."""
    try:
        mask = brain_mask_of(path, masks)
        with _stages_shown(detector, None if bar.disable else bar, path.name):
            return _process(path, writer, detector, report, phase_beside(path) if phase else None, mask, location)
    except (InputError, OutputError) as err:
        return _failed(writer, path, err)
    except ValueError as err:
        return _failed(writer, path, InputError(path, f"cannot be processed ({err})", "a T2*/SWI head scan"))
    except RuntimeError as err:
        logger.debug("%s: processing failed", path, exc_info=True)
        detail = " ".join(str(err).split())[:300]
        return _failed(writer, path, f"{path}: processing failed ({type(err).__name__}: {detail})")


@contextlib.contextmanager
def _interruption_recorded(
    writer: OutputWriter, path: Path, outcomes: list[InferenceOutcome], earlier: list[dict[str, str]]
) -> Iterator[None]:
    """Run the processing of ``path``; on any other exception (Ctrl-C, ``SystemExit``, a bug) record it with
    :func:`_record_interruption` before it propagates."""
    before = _file_states(writer, path)
    try:
        yield
    except BaseException:
        _record_interruption(writer, path, before, outcomes, earlier)
        raise


@contextlib.contextmanager
def _stages_shown(detector: object, bar: Any, name: str) -> Iterator[None]:
    """Shows ``NAME: stage`` beside the progress bar while a detector with an ``on_stage`` hook runs on a scan (a
    scan takes seconds to minutes; the bar alone would sit still meanwhile)."""
    if bar is None or not hasattr(detector, "on_stage"):
        yield
        return
    before = detector.on_stage
    detector.on_stage = lambda stage: bar.set_postfix_str(f"{name}: {stage}")
    try:
        yield
    finally:
        detector.on_stage = before


def _on_grid(
    file: Path,
    what: str,
    noun: str,
    data: np.ndarray,
    affine: np.ndarray,
    path: Path,
    scan: np.ndarray,
    scan_affine: np.ndarray,
) -> None:
    """Raise :class:`InputError` naming ``file`` when its image (a phase or a mask) is not on the scan's grid."""
    if data.shape != scan.shape:
        problem = f"{what} of shape {data.shape} is not on the grid of {path.name} (shape {scan.shape})"
    elif not np.allclose(affine, scan_affine, atol=_GRID_TOLERANCE_MM):
        problem = f"{what} of shape {data.shape} is not on the grid of {path.name}: another affine"
    else:
        return
    raise InputError(file, problem, f"the {noun} on the scan's grid: same shape and affine")


def _failed(writer: OutputWriter, path: Path, error: Exception | str, *, remove: bool = True) -> InferenceOutcome:
    """The failed outcome of an input, logged as one line, with its out-of-date outputs removed from the folder."""
    if remove:
        try:
            writer.remove_outputs(path)
        except OutputError as err:
            error = f"{error}; and its output from an earlier run is left: {err}"
    outcome = InferenceOutcome.failed(path, error)
    logger.warning("%s", outcome.message)
    return outcome


def _file_states(writer: OutputWriter, path: Path) -> tuple[tuple[int, int] | None, ...]:
    """Identity (inode, modification time) of each output of ``path`` in the folder, None when absent."""
    states = []
    for output in writer.outputs_of(path):
        try:
            stat = os.stat(output)
        except OSError:
            states.append(None)
        else:
            states.append((stat.st_ino, stat.st_mtime_ns))
    return tuple(states)


def _record_interruption(
    writer: OutputWriter,
    path: Path,
    before: tuple[tuple[int, int] | None, ...],
    outcomes: list[InferenceOutcome],
    earlier: list[dict[str, str]],
) -> None:
    """Keep the summary true when the run is interrupted (Ctrl-C, ``SystemExit``) while ``path`` is processed.

    Interrupted before its outputs were written, the folder still matches the summary. Interrupted while or just
    after they were written (their files changed since the scan began), the files no longer match its row: its
    outputs are removed and the scan is recorded as failed.
    """
    if _file_states(writer, path) == before:
        return
    try:
        error = OutputError(path, "interrupted while its outputs were written", "a finished run (process it again)")
        outcomes.append(_failed(writer, path, error))
        writer.write_summary(outcomes, earlier=earlier)
    except OutputError as err:  # the interruption is what the caller must see
        logger.warning("%s", err)


def _process(
    path: Path,
    writer: OutputWriter,
    detector: Callable[..., DetectionResult],
    report: bool,
    phase: Path | None,
    brain_mask: Path | None = None,
    location: bool = False,
) -> InferenceOutcome:
    data, affine, header = load_scan(path)
    extra: dict[str, np.ndarray] = {}
    if phase is not None:
        phase_data, phase_affine, _ = load_scan(phase)
        _on_grid(phase, "phase image", "phase", phase_data, phase_affine, path, data, affine)
        logger.debug("%s: phase from %s", path.name, phase.name)
        extra["phase"] = phase_data
    if brain_mask is not None:
        mask_data, mask_affine, _ = load_scan(brain_mask)
        _on_grid(brain_mask, "brain mask", "brain mask", mask_data, mask_affine, path, data, affine)
        logger.debug("%s: brain mask from %s", path.name, brain_mask)
        extra["brain_mask"] = np.isfinite(mask_data) & (mask_data != 0)  # a NaN background is no brain
    result = detector(data, affine, name=path, **extra)
    located, location_warnings = located_or_warning(result, data, path.name) if location else (result, ())
    if report and not np.isfinite(data).all():
        data = np.where(np.isfinite(data), data, np.float32(0))  # the picture shows a NaN background as 0
    writer.write_scan(
        path,
        result.mask,
        affine,
        result.lesions,
        header=header,
        report_image=data if report else None,
        report_title=result.report_title(writer.name_of(path)),
        report_phase="phase" in extra,
        location=located.location,
    )
    logger.info("%s: %d CMB(s) in %.1f s", path.name, result.count, sum(result.timings.values()))
    warnings = (*result.warnings, *location_warnings)
    return InferenceOutcome.succeeded(path, result.count, warnings=warnings, location=located.location)
