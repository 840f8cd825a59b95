"""The rank side of a distributed run: loggers and savers on rank 0 only, and an orderly end of the process group."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch.distributed as dist
from monai.handlers import CheckpointSaver, StatsHandler, TensorBoardStatsHandler

__all__ = ["RANK_ZERO_ONLY", "end_process_group", "handlers_for_rank"]

RANK_ZERO_ONLY: tuple[type, ...] = (StatsHandler, TensorBoardStatsHandler, CheckpointSaver)


def handlers_for_rank(
    handlers: Sequence[Any] | None,
    rank: int | None = None,
    *,
    rank_zero_only: Sequence[type] = RANK_ZERO_ONLY,
) -> list[Any] | None:
    """Return the handlers that process ``rank`` attaches to a MONAI workflow under DDP.

    Rank 0 keeps every handler. Other ranks drop the handlers of the ``rank_zero_only`` types (console and
    TensorBoard logging, checkpoint saving), so that one process writes the logs and the files, and keep the rest:
    ``ValidationHandler`` (the evaluator's metrics gather across processes, so every rank must validate),
    ``DistillationHandler`` and ``ProgressiveResolutionHandler`` (they change the loss and the data of every
    process; the latter saves its stage checkpoints on rank 0 itself), ``CheckpointLoader`` (every process resumes),
    LR schedulers.

    Args:
        handlers: the handlers of a workflow (``train#handlers``, ``validate#handlers``) or ``None``.
        rank: the process rank; ``None`` reads it from ``torch.distributed`` (0 when it is not initialised).
        rank_zero_only: handler types attached on rank 0 only.

    Returns:
        A new list (``None`` when ``handlers`` is ``None``).

    Raises:
        ValueError: a negative ``rank``.
        TypeError: ``handlers`` is not a sequence, or ``rank_zero_only`` holds something other than classes.
    """
    if handlers is None:
        return None
    if isinstance(handlers, (str, bytes)) or not isinstance(handlers, Sequence):
        raise TypeError(f"handlers: expected a sequence of handlers or None, got {type(handlers).__name__}")
    types = tuple(rank_zero_only)
    if not all(isinstance(t, type) for t in types):
        raise TypeError(f"rank_zero_only must hold handler classes, got {list(types)!r}.")
    if rank is None:
        rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
    if int(rank) != rank or rank < 0:
        raise ValueError(f"rank: expected an integer >= 0, got {rank!r}")
    if rank == 0:
        return list(handlers)
    return [h for h in handlers if not isinstance(h, types)]


def end_process_group() -> bool:
    """Wait for every rank, then destroy the default process group; a no-op outside a distributed run.

    Ranks leave training at different moments (rank 0 still writes the final model while the others are done). A
    rank that tears its Gloo connections down while a peer is still working can abort in the backend's threads, so
    every rank first meets the others at a barrier and only then destroys the group, while the interpreter is
    still fully alive. This is the ``finalize`` step of ``multi_gpu_train.json``.

    Returns:
        ``True`` when a process group was ended, ``False`` when none was initialised.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return False
    dist.barrier()
    dist.destroy_process_group()
    return True
