"""The cumulative metric that buffers one row of counts per subject and pools them into named figures: what the
lesion detection and the vessel segmentation metrics share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import torch
from monai.metrics import CumulativeIterationMetric
from monai.utils import look_up_option

__all__ = ["PooledCountsMetric"]


class PooledCountsMetric(CumulativeIterationMetric):
    """Buffers one row of counts per subject (``_compute_tensor`` of a subclass) and pools them on
    :meth:`aggregate` into the figures named by ``metric_name``.

    A subclass sets ``counts_type`` (a counts record with ``from_sequence``) and ``summary_keys``, and implements
    ``_pool`` (counts -> every pooled figure by name) and ``_compute_tensor``.

    Args:
        metric_name: one key of ``summary_keys`` (aggregate gives a tensor) or several (a list of tensors).

    Raises:
        ValueError: an empty or unknown ``metric_name``.
    """

    counts_type: ClassVar[Any]
    summary_keys: ClassVar[tuple[str, ...]]
    _pool: ClassVar[Callable[[list[Any]], dict[str, float]]]

    def __init__(self, metric_name: str | Sequence[str]) -> None:
        super().__init__()
        names = (metric_name,) if isinstance(metric_name, str) else tuple(metric_name)
        if not names:
            raise ValueError(f"metric_name must name at least one of {self.summary_keys}, got an empty sequence.")
        try:
            self.metric_name = tuple(look_up_option(name, self.summary_keys) for name in names)
        except ValueError as err:
            raise ValueError(f"metric_name {metric_name!r} is not valid: {err}") from None
        self._single = isinstance(metric_name, str)

    def subject_counts(self) -> list[Any]:
        """Returns the buffered counts, one record of ``counts_type`` per subject seen since the last reset."""
        buffer = self.get_buffer()
        if buffer is None:
            return []
        return [self.counts_type.from_sequence(row.tolist()) for row in buffer]

    def summary(self) -> dict[str, float]:
        """Returns every pooled figure (the keys of ``summary_keys``).

        Raises:
            ValueError: when no batch was seen since the last reset.
        """
        counts = self.subject_counts()
        if not counts:
            raise ValueError("no subject to aggregate: call the metric on at least one batch before aggregating.")
        return self._pool(counts)

    def aggregate(self) -> torch.Tensor | list[torch.Tensor]:  # type: ignore[override]
        """Pools the buffered subjects.

        Returns:
            A 0-dim float64 tensor when ``metric_name`` is one name, else a list of them in its order.

        Raises:
            ValueError: when no batch was seen since the last reset.
        """
        summary = self.summary()
        values = [torch.tensor(summary[name], dtype=torch.float64) for name in self.metric_name]
        return values[0] if self._single else values
