"""A 1x1x1 convolution mapping student feature channels onto the teacher's."""

from __future__ import annotations

import torch
import torch.nn as nn
from monai.networks.layers import Conv

__all__ = ["FeatureAdapter"]


class FeatureAdapter(nn.Module):
    """Learnable 1×1×1 projection of student features to the teacher's channel count.

    Feature transfer (PLKD eq. 1, KT-ViT eq. 6) compares tensors of equal shape. When the student is narrower or
    wider than the teacher at a tap, this adapter (a common device in feature distillation, e.g. FitNets'
    regressor) maps ``(B, in_channels, *spatial)`` to ``(B, out_channels, *spatial)``. Its parameters are trained
    with the student and saved with the distillation handler's state.

    Args:
        spatial_dims: number of spatial dimensions (1, 2 or 3).
        in_channels: student channels ``C_s``.
        out_channels: teacher channels ``C_t``.
        bias: add a bias.

    Raises:
        ValueError: ``spatial_dims`` not in 1..3 or a non-positive channel count.
    """

    def __init__(self, spatial_dims: int, in_channels: int, out_channels: int, *, bias: bool = True) -> None:
        super().__init__()
        if spatial_dims not in (1, 2, 3):
            raise ValueError(f"spatial_dims: expected 1, 2 or 3, got {spatial_dims}")
        if in_channels < 1 or out_channels < 1:
            raise ValueError(f"in_channels and out_channels: expected >= 1, got {in_channels} and {out_channels}")
        self.spatial_dims = spatial_dims
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.conv = Conv[Conv.CONV, spatial_dims](in_channels, out_channels, kernel_size=1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Project ``(B, in_channels, *spatial)`` to ``(B, out_channels, *spatial)``."""
        return self.conv(x)
