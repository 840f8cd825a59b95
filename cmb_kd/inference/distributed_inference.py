"""Cohort inference by the processes of a ``torchrun`` launch: each rank runs its share of the scans into one output
folder and writes its own summary shard; rank 0 gathers the one ``cmb_summary.csv`` a one-process run writes."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import torch.distributed as dist

from cmb_kd.inference.batch_inference import batch_inputs, infer_scans
from cmb_kd.inference.batch_result import InferenceOutcome, InferenceRun
from cmb_kd.inference.detection_result import DetectionResult
from cmb_kd.inference.output_lock import OutputFolderLock
from cmb_kd.inference.output_writer import OutputWriter
from cmb_kd.inference.summary_shards import SummaryShardWriter, fold_shards, remove_shards, shard_rows

__all__ = ["gather_summary", "run_distributed_inference", "shard_of"]

T = TypeVar("T")


def shard_of(items: Sequence[T], rank: int, world_size: int) -> list[T]:
    """The share of ``rank`` among ``world_size`` processes: items ``rank, rank + world_size, ...`` (round robin).

    Round robin rather than contiguous blocks: the sorted input list often groups similar scans (one site, one
    protocol, one matrix size per name prefix), and interleaving gives each rank the same mix, so the ranks finish
    close together; the shares differ by at most one item.

    Raises:
        ValueError: for a world size below 1 or a rank outside ``[0, world_size)``.
    """
    if isinstance(world_size, bool) or not isinstance(world_size, int) or world_size < 1:
        raise ValueError(f"world_size: expected an integer >= 1, got {world_size!r}")
    if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < world_size:
        raise ValueError(f"rank: expected an integer in [0, {world_size}), got {rank!r}")
    return list(items[rank::world_size])


def gather_summary(
    writer: OutputWriter,
    files: Sequence[Path],
    problems: Sequence[InferenceOutcome],
    earlier: Sequence[dict[str, str]],
) -> list[InferenceOutcome]:
    """Write the summary of a finished distributed run from its shards, as a one-process run writes it.

    The rows of ``earlier`` for other names come first, then ``problems``, then one row per scan of ``files`` in
    their (sorted) order, each read from the shard of the rank that ran it; a scan without a row is listed as
    failed. The shards are removed afterwards (:func:`remove_shards`).

    Args:
        writer: the writer of the output folder (not a shard's).
        files, problems: the run's scans and the outcomes of its unusable paths (:func:`batch_inputs`).
        earlier: the summary's rows before the run (:func:`fold_shards`).

    Returns:
        The run's outcomes: ``problems``, then one per scan.

    Raises:
        OutputError: for a shard that is not a summary, or a summary or shard that cannot be written or removed.
    """
    rows = shard_rows(writer.output_dir)
    outcomes = list(problems)
    for path in files:
        row = rows.get(writer.name_of(path))
        missing = f"{path}: no row in the summary shards; expected every rank to finish (run again with --resume)"
        outcomes.append(InferenceOutcome.from_row(row) if row is not None else InferenceOutcome.failed(path, missing))
    writer.write_summary(outcomes, earlier=earlier)
    remove_shards(writer.output_dir)
    return outcomes


def _from_rank_zero(rank: int, make: Callable[[], Any]) -> Any:
    """What ``make()`` gives on rank 0, on every rank; an exception it raises is raised on every rank."""
    payload: list[Any] = [None]
    if rank == 0:
        try:
            payload[0] = (make(), None)
        except Exception as err:  # every rank must stop with rank 0's error, not wait for it
            payload[0] = (None, err)
    dist.broadcast_object_list(payload, src=0)
    value, error = payload[0]
    if error is not None:
        raise error
    return value


def _start(
    inputs: Any, output_dir: str | os.PathLike, lock: OutputFolderLock, brain_masks: Any
) -> tuple[list[Path], list[InferenceOutcome], list[dict[str, str]]]:
    """Rank 0's start of a run: lock the folder, fold leftover shards into the summary, find the inputs and, as a
    one-process run does, list the unusable ones in the summary at once (their old outputs are gone)."""
    writer = OutputWriter(output_dir)
    lock.acquire()
    try:
        earlier = fold_shards(writer)
        files, problems = batch_inputs(inputs, writer, brain_masks=brain_masks)
        if problems or not files:
            writer.write_summary(problems, earlier=earlier)
    except BaseException:
        lock.release()
        raise
    return files, problems, earlier


def run_distributed_inference(
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
    """:func:`run_inference` shared by the ranks of the default process group: call it on every rank.

    Rank 0 locks ``output_dir`` for the whole run (:class:`OutputFolderLock`), folds the shards of an unfinished
    earlier run into the summary (:func:`fold_shards`) and finds the inputs (:func:`batch_inputs`); a problem
    there (the folder locked by another run, no inputs, a bad ``brain_masks``) is raised on every rank. Each rank
    then runs its share of the sorted scans (:func:`shard_of`: rank ``r`` of ``N`` takes scans ``r, r + N, ...``)
    with ``detector`` (:func:`infer_scans`): a scan's outputs are the files a one-process run writes, a bad scan is
    a failed row and the rank goes on, and with ``resume`` a scan finished by an earlier run is skipped. Its rows
    go to its shard ``cmb_summary_shards/rank-R-of-N.csv`` after each scan. When every rank is done, rank 0
    writes ``cmb_summary.csv`` from the shards (:func:`gather_summary`: the rows and order of a one-process run)
    and removes them. Only rank 0 shows a progress bar (its own share).

    Args:
        inputs, output_dir, detector, report, progress, phase, brain_masks, resume, location: as for
            :func:`run_inference`; ``detector`` runs on this rank's device.

    Returns:
        The whole run's :class:`InferenceRun`, the same on every rank (its ``status`` 1 when any input failed).

    Raises:
        ValueError: when no process group is initialised, or for bad ``inputs`` / ``brain_masks`` (every rank).
        OutputError: when the folder cannot be locked or written (every rank).
    """
    if not (dist.is_available() and dist.is_initialized()):
        raise ValueError(
            "run_distributed_inference: expected an initialised torch.distributed process group "
            "(start_process_group, in a process started by torchrun), got none"
        )
    rank, world_size = dist.get_rank(), dist.get_world_size()
    lock = OutputFolderLock(output_dir)  # held by rank 0 for the whole run
    files, problems, earlier = _from_rank_zero(rank, lambda: _start(inputs, output_dir, lock, brain_masks))
    try:
        shard = SummaryShardWriter(output_dir, rank, world_size)
        mine = shard_of(files, rank, world_size)
        names = {shard.name_of(path) for path in mine}
        own = [row for row in earlier if row["name"] in names]
        options = {"report": report, "phase": phase, "brain_masks": brain_masks, "location": location}
        share = infer_scans(
            mine, shard, detector, earlier=own, resume=resume, progress=progress and not rank, **options
        )
        shard.write_summary(share)  # complete also when every scan was skipped (resume) or the share is empty
        dist.barrier()  # every share done before rank 0 reads the shards
        writer = OutputWriter(output_dir)
        outcomes = _from_rank_zero(rank, lambda: gather_summary(writer, files, problems, earlier))
    finally:
        lock.release()
    return InferenceRun(outcomes=outcomes, summary_path=writer.summary_path)
