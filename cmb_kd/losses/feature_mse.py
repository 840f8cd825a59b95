"""Mean squared error feature transfer (KT-ViT eq. 6)."""

from __future__ import annotations

import torch

from cmb_kd.losses.transfer_loss import TransferLoss

__all__ = ["FeatureMSELoss"]


class FeatureMSELoss(TransferLoss):
    """MSE between teacher (H-net) and student (L-net) feature maps, normalised per voxel and channel.

    From Hua et al., KT-ViT (``001``), eq. 6: MSE = (1/N) Σ (F_H(i) − F_L(i))², here with N the number of
    elements of one sample's feature map ``C × H × W × D``, so the value does not grow with the patch size, the
    width or the batch. The maths runs in float32 with autocast disabled.

    Args:
        reduction: ``"mean"``/``"sum"`` over the batch or ``"none"`` (shape ``(B,)``).
        student_channels: student channels; with ``teacher_channels`` and different, a 1×1×1 adapter is added.
        teacher_channels: teacher channels.
        spatial_dims: spatial dimensions of the adapter.
    """

    def per_sample(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        """Mean squared difference per sample ``(B,)``."""
        return (student - teacher).square().flatten(1).mean(dim=1)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"
