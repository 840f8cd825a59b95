"""Shared base of the knowledge-transfer losses: optional adapter, batch reduction, float32 maths."""

from __future__ import annotations

import torch
import torch.nn as nn

from cmb_kd.checks import as_option
from cmb_kd.losses.feature_adapter import FeatureAdapter
from cmb_kd.losses.feature_pair import float32_region, prepare_pair

__all__ = ["TransferLoss"]

REDUCTIONS = ("mean", "sum", "none")


class TransferLoss(nn.Module):
    """Base of a student-vs-teacher loss; subclasses implement :meth:`per_sample` on float32 tensors.

    Args:
        reduction: ``"mean"`` or ``"sum"`` over the batch, or ``"none"`` for one value per sample ``(B,)``.
        student_channels: student channel count; with ``teacher_channels`` and different, a
            :class:`FeatureAdapter` maps the student to the teacher's channels.
        teacher_channels: teacher channel count.
        spatial_dims: spatial dimensions of the adapter.

    Raises:
        ValueError: an unknown reduction, or only one of the two channel counts given.
    """

    def __init__(
        self,
        *,
        reduction: str = "mean",
        student_channels: int | None = None,
        teacher_channels: int | None = None,
        spatial_dims: int = 3,
    ) -> None:
        super().__init__()
        self.reduction = as_option("reduction", reduction, REDUCTIONS)
        if (student_channels is None) != (teacher_channels is None):
            raise ValueError(
                "give both student_channels and teacher_channels (for an adapter) or neither, got "
                f"student_channels={student_channels}, teacher_channels={teacher_channels}."
            )
        self.adapter: FeatureAdapter | None = None
        if student_channels is not None and student_channels != teacher_channels:
            self.adapter = FeatureAdapter(spatial_dims, int(student_channels), int(teacher_channels))

    def per_sample(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        """Loss per sample ``(B,)`` of float32 tensors of equal shape ``(B, C, *spatial)``."""
        raise NotImplementedError

    def forward(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        """Compare student and teacher tensors.

        Args:
            student: ``(B, C_s, *spatial)``.
            teacher: ``(B, C_t, *spatial)``; ``C_t == C_s`` unless an adapter was configured.

        Returns:
            A float32 scalar (``"mean"``/``"sum"``) or ``(B,)`` (``"none"``).

        Raises:
            TypeError: an input is not a tensor.
            ValueError: the shapes differ (both shapes are named in the message).
        """
        with float32_region(student.device if isinstance(student, torch.Tensor) else torch.device("cpu")):
            s, t = prepare_pair(student, teacher, self.adapter, type(self).__name__)
            values = self.per_sample(s, t)
        if self.reduction == "mean":
            return values.mean()
        if self.reduction == "sum":
            return values.sum()
        return values
