"""3D residual candidate classifier (CMB vs mimic), optionally multi-task with a segmentation head."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
from monai.networks.blocks import Convolution, UnetResBlock

from cmb_kd.networks.validation import check_network_input, check_spatial_dims, positive_ints

__all__ = ["CandidateResNet3D"]


class CandidateResNet3D(nn.Module):
    """3D residual CNN that classifies a candidate-centred patch as CMB or mimic.

    From Lv, *Research on the precise recognition stage of cerebral microhemorrhage based on deep learning
    algorithm* (second stage: a 3D residual network on 21×21×21 patches of SWI magnitude + phase, He
    initialisation). With ``segmentation_channels > 0`` an auxiliary voxel-wise segmentation head is added, so
    the network can serve as the multi-task teacher of Sundaresan et al., *Automated detection of cerebral
    microbleeds on MR images using knowledge distillation framework* (Front. Neuroinform. 2023).

    Layout (defaults, 21³ input)::

        stem               3×3×3 conv + BN + ReLU            (B, c1, 21, 21, 21)
        stages.0           residual blocks, stride 1         (B, c1, 21, 21, 21)
        stages.1           residual blocks, first stride 2   (B, c2, 11, 11, 11)
        stages.2           residual blocks, first stride 2   (B, c3, 6, 6, 6)
        pool               global average pooling, flatten   (B, c3)                 tap ``features``
        dropout, fc        linear classifier                 (B, out_channels)       tap ``decision``
        segmentation_head  3×3×3 conv + BN + ReLU, 1×1×1 conv on stages.0
                                                             (B, seg, 21, 21, 21)    tap ``segmentation``

    The residual blocks are MONAI ``UnetResBlock`` (two 3×3×3 convolutions with a projected shortcut when the
    stride or width changes). All convolution and linear weights use He (Kaiming normal, fan-in) initialisation,
    biases are zero and normalisation layers start at identity.

    Args:
        spatial_dims: number of spatial dimensions; must be 3.
        in_channels: 1 (magnitude) or 2 (magnitude and phase).
        out_channels: number of class logits (2: non-CMB / CMB, or 1 for a single logit).
        channels: widths of the three stages.
        num_blocks: residual blocks per stage.
        segmentation_channels: channels of the auxiliary segmentation head; 0 builds no head.
        dropout: dropout ratio before the classifier.
        act: activation type and arguments (MONAI ``Act`` factory).
        norm: normalisation type and arguments (MONAI ``Norm`` factory).

    Raises:
        ValueError: ``spatial_dims`` not 3, ``in_channels`` not 1 or 2, non-positive sizes, or sequences not of
            length 3.
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        *,
        channels: Sequence[int] = (16, 32, 64),
        num_blocks: Sequence[int] = (2, 2, 2),
        segmentation_channels: int = 0,
        dropout: float = 0.0,
        act: str | tuple = ("relu", {"inplace": True}),
        norm: str | tuple = "batch",
    ) -> None:
        super().__init__()
        check_spatial_dims(spatial_dims, (3,), "CandidateResNet3D")
        if in_channels not in (1, 2):
            raise ValueError(f"in_channels: expected 1 (magnitude) or 2 (magnitude, phase), got {in_channels}")
        if out_channels < 1:
            raise ValueError(f"out_channels: expected >= 1, got {out_channels}")
        chs = positive_ints(channels, "channels", count=3, per="one per stage")
        blocks = positive_ints(num_blocks, "num_blocks", count=3, per="one per stage")
        if segmentation_channels < 0:
            raise ValueError(f"segmentation_channels: expected >= 0, got {segmentation_channels}")
        self.spatial_dims = spatial_dims
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.segmentation_channels = segmentation_channels

        self.stem = Convolution(3, in_channels, chs[0], kernel_size=3, act=act, norm=norm)
        stages = []
        cin = chs[0]
        for i, (c, b) in enumerate(zip(chs, blocks)):
            layers = []
            for j in range(b):
                stride = 2 if (i > 0 and j == 0) else 1
                layers.append(UnetResBlock(3, cin, c, kernel_size=3, stride=stride, norm_name=norm, act_name=act))
                cin = c
            stages.append(nn.Sequential(*layers))
        self.stages = nn.ModuleList(stages)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool3d(1), nn.Flatten(1))
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(chs[-1], out_channels)
        self.segmentation_head: nn.Module | None = None
        if segmentation_channels > 0:
            self.segmentation_head = nn.Sequential(
                Convolution(3, chs[0], chs[0], kernel_size=3, act=act, norm=norm),
                Convolution(3, chs[0], segmentation_channels, kernel_size=1, conv_only=True),
            )
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, (nn.Conv3d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm3d, nn.InstanceNorm3d, nn.GroupNorm)) and m.weight is not None:
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    @property
    def feature_taps(self) -> dict[str, str]:
        """Tap name -> module path: ``stage1``..``stage3``, ``features``, ``decision`` (+ ``segmentation``)."""
        taps = {"stage1": "stages.0", "stage2": "stages.1", "stage3": "stages.2", "features": "pool", "decision": "fc"}
        if self.segmentation_channels > 0:
            taps["segmentation"] = "segmentation_head"
        return taps

    __jit_unused_properties__ = ["feature_taps"]

    def _encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        check_network_input(x, 3, self.in_channels, [], "CandidateResNet3D")
        x = self.stem(x)
        full = x
        first = True
        for stage in self.stages:
            x = stage(x)
            if first:
                full = x
                first = False
        return full, self.fc(self.dropout(self.pool(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Classify candidate patches.

        Args:
            x: ``(B, in_channels, H, W, D)``, typically 21×21×21 (any size ≥ 3 works: global pooling).

        Returns:
            ``(B, out_channels)`` class logits.

        Raises:
            ValueError: wrong rank or channel count.
        """
        return self._encode(x)[1]

    @torch.jit.export
    def forward_multitask(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Classify and segment (the multi-task teacher's forward pass).

        Args:
            x: ``(B, in_channels, H, W, D)``.

        Returns:
            ``(logits, segmentation)``: ``(B, out_channels)`` class logits and
            ``(B, segmentation_channels, H, W, D)`` segmentation logits.

        Raises:
            ValueError: wrong rank or channel count, or the network was built without a segmentation head.
        """
        full, logits = self._encode(x)
        if self.segmentation_head is None:
            raise ValueError("CandidateResNet3D was built with segmentation_channels=0: no segmentation head.")
        return logits, self.segmentation_head(full)
