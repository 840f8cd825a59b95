"""Screening fully convolutional network of the first (candidate) stage of PLKD."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
from monai.networks.blocks import Convolution
from monai.networks.layers.factories import Pool

from cmb_kd.networks.validation import check_channel_counts, check_network_input, check_spatial_dims, positive_ints

__all__ = ["ScreeningFCN"]


class ScreeningFCN(nn.Module):
    """Six convolutional modules and one pooling layer producing a per-voxel CMB score map.

    Stage 1 of the two-stage framework of Xia et al., *Progressive Learning based Knowledge Distillation for
    Low Resolution Cerebral Microbleed Segmentation* (the screening FCN, after Dou et al., TMI 2016): trained on
    20×20×16 patches and applied to whole volumes of any size.

    Layout (``channels = (c1, ..., c5)``)::

        conv1  k=3            in -> c1      conv-norm-act
        conv2  k=3            c1 -> c2      conv-norm-act
        pool   max, k=3, stride 1, padding 1
        conv3  k=3, dilation 2 c2 -> c3     conv-norm-act
        conv4  k=3, dilation 2 c3 -> c4     conv-norm-act
        conv5  k=1            c4 -> c5      conv-norm-act   (the classic FCN's fully connected layer)
        conv6  k=1            c5 -> out     scores (logits)

    The pooling layer has stride 1 so that the output keeps the input's spatial size for any input size:
    there is no size constraint and no upsampling, the score map is aligned voxel by voxel with the input. The
    receptive field (15 voxels per axis with the default dilation) is grown by the dilated modules instead of by
    down-sampling, so it covers the 20×20×16 training patch.

    Args:
        spatial_dims: number of spatial dimensions, 2 or 3.
        in_channels: number of input channels (1 for T2*/SWI magnitude).
        out_channels: number of score channels (1: a CMB score per voxel).
        channels: output channels of conv1..conv5.
        dilation: dilation of conv3 and conv4.
        act: activation type and arguments (MONAI ``Act`` factory).
        norm: normalisation type and arguments (MONAI ``Norm`` factory).
        dropout: dropout ratio after conv5.

    Raises:
        ValueError: ``spatial_dims`` not 2 or 3, a non-positive channel count, ``channels`` not of length 5, or
            ``dilation`` < 1.

    Shapes:
        input ``(B, in_channels, H, W, D)`` (or ``(B, in_channels, H, W)`` in 2D), any size;
        output ``(B, out_channels, H, W, D)``, logits.
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        *,
        channels: Sequence[int] = (16, 16, 32, 32, 64),
        dilation: int = 2,
        act: str | tuple = ("relu", {"inplace": True}),
        norm: str | tuple = "batch",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        check_spatial_dims(spatial_dims, (2, 3), "ScreeningFCN")
        check_channel_counts(in_channels, out_channels)
        channels = positive_ints(channels, "channels", count=5, per="conv1..conv5")
        if dilation < 1:
            raise ValueError(f"dilation: expected >= 1, got {dilation}")
        self.spatial_dims = spatial_dims
        self.in_channels = in_channels
        self.out_channels = out_channels
        c1, c2, c3, c4, c5 = channels

        def block(cin: int, cout: int, kernel: int, dil: int = 1, drop: float = 0.0) -> Convolution:
            return Convolution(
                spatial_dims, cin, cout, kernel_size=kernel, dilation=dil, act=act, norm=norm, dropout=drop
            )

        self.conv1 = block(in_channels, c1, 3)
        self.conv2 = block(c1, c2, 3)
        self.pool = Pool[Pool.MAX, spatial_dims](kernel_size=3, stride=1, padding=1)
        self.conv3 = block(c2, c3, 3, dilation)
        self.conv4 = block(c3, c4, 3, dilation)
        self.conv5 = block(c4, c5, 1, drop=dropout)
        self.conv6 = Convolution(spatial_dims, c5, out_channels, kernel_size=1, conv_only=True)

    @property
    def feature_taps(self) -> dict[str, str]:
        """Tap name -> module path: ``features`` (conv5, ``(B, c5, H, W, D)``) and ``decision`` (the scores)."""
        return {"features": "conv5", "decision": "conv6"}

    __jit_unused_properties__ = ["feature_taps"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Score every voxel.

        Args:
            x: ``(B, in_channels, H, W, D)`` (or ``(B, in_channels, H, W)``), any spatial size.

        Returns:
            ``(B, out_channels, H, W, D)`` logits, same spatial size as ``x``.

        Raises:
            ValueError: wrong rank or channel count.
        """
        check_network_input(x, self.spatial_dims, self.in_channels, [], "ScreeningFCN")
        x = self.conv2(self.conv1(x))
        x = self.pool(x)
        x = self.conv4(self.conv3(x))
        return self.conv6(self.conv5(x))
