"""Cosine-distance feature transfer (PLKD eq. 1)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cmb_kd.checks import as_option
from cmb_kd.losses.transfer_loss import TransferLoss

__all__ = ["CosineFeatureLoss"]


class CosineFeatureLoss(TransferLoss):
    """Cosine distance d = 1 − f_T·f_S / (‖f_T‖‖f_S‖) between teacher and student feature maps.

    From Xia et al., PLKD (``000``), eq. 1: the distance minimises the angle between the teacher's and the
    student's features at the geometric and semantic taps of E²U-Net.

    - ``mode="sample"`` (default, the paper's): each sample's feature map ``(C, *spatial)`` is flattened into one
      vector; one distance per sample.
    - ``mode="voxel"``: the cosine is taken over the channels at each voxel and the distance averaged over
      voxels (normalised per voxel).

    The distance lies in [0, 2]; a zero vector has cosine 0 (distance 1) thanks to ``eps``. The maths runs in
    float32 with autocast disabled.

    Args:
        mode: ``"sample"`` or ``"voxel"``.
        eps: lower bound of the norm product.
        reduction: ``"mean"``/``"sum"`` over the batch or ``"none"`` (shape ``(B,)``).
        student_channels: student channels; with ``teacher_channels`` and different, a 1×1×1 adapter is added.
        teacher_channels: teacher channels.
        spatial_dims: spatial dimensions of the adapter.

    Raises:
        ValueError: an unknown ``mode`` or ``reduction``, ``eps <= 0``.
    """

    MODES = ("sample", "voxel")

    def __init__(
        self,
        *,
        mode: str = "sample",
        eps: float = 1e-8,
        reduction: str = "mean",
        student_channels: int | None = None,
        teacher_channels: int | None = None,
        spatial_dims: int = 3,
    ) -> None:
        super().__init__(
            reduction=reduction,
            student_channels=student_channels,
            teacher_channels=teacher_channels,
            spatial_dims=spatial_dims,
        )
        self.mode = as_option("mode", mode, self.MODES)
        if eps <= 0:
            raise ValueError(f"eps: expected a number > 0, got {eps}")
        self.eps = float(eps)

    def per_sample(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        """Cosine distance per sample ``(B,)``."""
        if self.mode == "sample":
            cos = F.cosine_similarity(student.flatten(1), teacher.flatten(1), dim=1, eps=self.eps)
            return 1.0 - cos
        cos = F.cosine_similarity(student, teacher, dim=1, eps=self.eps)
        return (1.0 - cos).flatten(1).mean(dim=1)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, reduction={self.reduction!r}"
