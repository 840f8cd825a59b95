"""The timed stages of the whole-volume detector and the clock that times them."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

__all__ = ["STAGES", "StageTimer"]

STAGES: tuple[str, ...] = (
    "load",
    "working_grid",
    "brain_mask",
    "standardise",
    "screening",
    "candidates",
    "segmentation",
    "input_grid",
    "cleanup",
)
"""Names of the timed stages of :class:`CMBDetector`, in order (keys of :attr:`DetectionResult.timings`)."""


class StageTimer:
    """Adds up the wall-clock seconds spent in each of :data:`STAGES`, announcing each stage as it starts.

    Args:
        on_stage: called with a stage's name each time the stage starts (e.g. to show progress), or None.

    Example:
        >>> timer = StageTimer()
        >>> with timer("load"):
        ...     pass
        >>> timer.seconds["load"] >= 0.0
        True
    """

    def __init__(self, on_stage: Callable[[str], None] | None = None) -> None:
        self.seconds: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        """Seconds per stage, every stage of :data:`STAGES` present, in pipeline order."""
        self.on_stage = on_stage

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        """Time the ``with`` block as ``stage`` (added to what the stage already took), even when it raises."""
        if self.on_stage is not None:
            self.on_stage(stage)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] += time.perf_counter() - start
