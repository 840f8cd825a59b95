"""One process of a ``torchrun`` launch: its rank read from the environment, its device, its process group."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import os
from collections.abc import Iterator, Mapping

import torch
import torch.distributed as dist

from cmb_kd.handlers import end_process_group

__all__ = ["PROCESS_GROUP_TIMEOUT", "TORCHRUN_VARIABLES", "TorchrunRank", "process_group", "start_process_group"]

TORCHRUN_VARIABLES: tuple[str, ...] = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
"""The environment variables ``torchrun`` (``python -m torch.distributed.run``) sets for each process it starts."""

PROCESS_GROUP_TIMEOUT = datetime.timedelta(hours=6)
"""How long a rank waits for the others in a collective. A rank that has finished its share of a cohort waits at
the end for the slowest; NCCL's default (10 minutes) would end a run whose ranks finish further apart."""

_LAUNCH = (
    "python -m torch.distributed.run --nproc_per_node=N -m cmb_kd infer --distributed INPUT ... --output DIR (or "
    "python -m torch.distributed.run --nproc_per_node=N -m monai.bundle run with configs/multi_gpu_inference.json)"
)


@dataclasses.dataclass(frozen=True)
class TorchrunRank:
    """Where one process of a ``torchrun`` launch stands: its global rank among ``world_size`` processes, and its
    rank on its own machine, which picks its GPU.

    Attributes:
        rank: the process's rank, ``0 <= rank < world_size``.
        world_size: the number of processes of the launch.
        local_rank: the process's rank on its machine (``cuda:local_rank`` is its GPU).

    Raises:
        ValueError: for a world size below 1, a rank outside ``[0, world_size)`` or a negative local rank.
    """

    rank: int
    world_size: int
    local_rank: int

    def __post_init__(self) -> None:
        values = {"rank": self.rank, "world_size": self.world_size, "local_rank": self.local_rank}
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values.values()):
            raise ValueError(f"rank, world_size, local_rank: expected integers, got {values}")
        if self.world_size < 1 or not 0 <= self.rank < self.world_size or self.local_rank < 0:
            raise ValueError(
                f"rank, world_size, local_rank: expected world_size >= 1, 0 <= rank < world_size and local_rank >= 0, "
                f"got {values}"
            )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> TorchrunRank:
        """The rank of this process, from the variables :data:`TORCHRUN_VARIABLES` that ``torchrun`` sets.

        Args:
            environ: the environment to read (default ``os.environ``).

        Raises:
            ValueError: naming every missing variable and how to launch, or a variable that is not an integer.
        """
        environ = os.environ if environ is None else environ
        missing = [name for name in TORCHRUN_VARIABLES if not environ.get(name, "").strip()]
        if missing:
            raise ValueError(
                f"{', '.join(missing)}: not set; a distributed run expects the environment torchrun gives each "
                f"process it starts ({', '.join(TORCHRUN_VARIABLES)}): launch it with torchrun, e.g. {_LAUNCH}"
            )
        values = {}
        for name in TORCHRUN_VARIABLES:
            try:
                values[name.lower()] = int(environ[name])
            except ValueError:
                raise ValueError(f"{name}: expected an integer (as torchrun sets it), got {environ[name]!r}") from None
        return cls(**values)

    def device(self, requested: str | None = None) -> torch.device:
        """The device this rank runs on: its GPU ``cuda:LOCAL_RANK``, or the CPU.

        Args:
            requested: ``"cuda"`` (the rank's GPU), ``"cpu"``, or None: the rank's GPU when CUDA is available, else
                the CPU.

        Raises:
            ValueError: for another value, ``"cuda"`` without CUDA, or a local rank with no GPU of its own.
        """
        if requested not in (None, "cpu", "cuda"):
            raise ValueError(f"requested: expected None, 'cpu' or 'cuda', got {requested!r}")
        if requested == "cpu" or (requested is None and not torch.cuda.is_available()):
            return torch.device("cpu")
        if not torch.cuda.is_available():
            raise ValueError("device: 'cuda' requested but no CUDA device is available; use 'cpu'")
        count = torch.cuda.device_count()
        if self.local_rank >= count:
            raise ValueError(
                f"LOCAL_RANK: {self.local_rank}, but this machine has {count} CUDA device(s); expected at most one "
                f"process per GPU (--nproc_per_node={count} or fewer)"
            )
        return torch.device("cuda", self.local_rank)


def start_process_group(device: str | torch.device, *, timeout: datetime.timedelta = PROCESS_GROUP_TIMEOUT) -> bool:
    """Join the default process group of a ``torchrun`` launch: NCCL on a CUDA device, Gloo on the CPU.

    On CUDA, ``device`` first becomes the current device (NCCL's collectives of Python objects run there).

    Args:
        device: this rank's device (:meth:`TorchrunRank.device`).
        timeout: how long a collective waits for the other ranks.

    Returns:
        True when the group was started here, False when one was already initialised (left as it is).
    """
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if dist.is_initialized():
        return False
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo", timeout=timeout)
    return True


@contextlib.contextmanager
def process_group(device: str | torch.device, *, timeout: datetime.timedelta = PROCESS_GROUP_TIMEOUT) -> Iterator[None]:
    """The default process group for the length of a ``with`` block (:func:`start_process_group`).

    A block that ends normally ends the group with :func:`~cmb_kd.handlers.end_process_group` (every rank meets
    the others, then destroys it). One that raises destroys it at once without waiting: the other ranks may be
    anywhere, and ``torchrun`` stops them when this process exits with an error. A group that was already
    initialised is left as it is.
    """
    started = start_process_group(device, timeout=timeout)
    try:
        yield
    except BaseException:
        if started and dist.is_initialized():
            dist.destroy_process_group()
        raise
    if started:
        end_process_group()
