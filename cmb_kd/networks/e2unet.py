"""E²U-Net: the encoding-enhanced U-Net of PLKD (2D+3D hybrid encoder with a Feature Compensation Module)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
from monai.networks.blocks import Convolution
from monai.networks.layers.factories import Pool
from monai.utils import look_up_option

from cmb_kd.networks.validation import check_channel_counts, check_network_input, check_spatial_dims, positive_ints

__all__ = ["E2UNet"]

_KERNEL_2D = (3, 3, 1)
_KERNEL_3D = (3, 3, 3)
_POOL_2D = (2, 2, 1)
_POOL_3D = (2, 2, 2)


def _two_conv(
    cin: int, cout: int, kernel: Sequence[int], act: str | tuple, norm: str | tuple, bias: bool, dropout: float
) -> nn.Sequential:
    return nn.Sequential(
        Convolution(3, cin, cout, kernel_size=kernel, act=act, norm=norm, bias=bias, dropout=dropout),
        Convolution(3, cout, cout, kernel_size=kernel, act=act, norm=norm, bias=bias, dropout=dropout),
    )


def _up_sampling(
    cin: int, cout: int, window: Sequence[int], act: str | tuple, norm: str | tuple, bias: bool
) -> Convolution:
    """Transposed convolution with kernel = stride = ``window`` (the inverse of one pooling step)."""
    return Convolution(
        3,
        cin,
        cout,
        strides=window,
        kernel_size=window,
        padding=0,
        output_padding=0,
        is_transposed=True,
        act=act,
        norm=norm,
        bias=bias,
    )


class _EncoderLevel(nn.Module):
    """Max pooling (none at the first level), two convolutions and, with the FCM, a learned down-sampling branch.

    ``forward(x) = convs(pool(x)) + fcm_down(x)``: the FCM's supplementary down-sampling branch (a strided
    convolution of the previous level's output) restores what max pooling discards.
    """

    def __init__(self, convs: nn.Module, pool: nn.Module, fcm_down: nn.Module | None) -> None:
        super().__init__()
        self.pool = pool
        self.convs = convs
        self.fcm_down = fcm_down

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.convs(self.pool(x))
        if self.fcm_down is not None:
            y = y + self.fcm_down(x)
        return y


class _DecoderLevel(nn.Module):
    """Transposed-convolution up-sampling, concatenation with the skip, two convolutions.

    With the FCM, the skip is first compensated by the FCM's up-sampling branch from the next deeper encoder
    level: ``skip + fcm_up(deeper)``, which brings multi-scale information into the skip connection.
    """

    def __init__(self, up: nn.Module, convs: nn.Module, fcm_up: nn.Module | None) -> None:
        super().__init__()
        self.up = up
        self.fcm_up = fcm_up
        self.convs = convs

    def forward(self, x: torch.Tensor, skip: torch.Tensor, deeper: torch.Tensor) -> torch.Tensor:
        if self.fcm_up is not None:
            skip = skip + self.fcm_up(deeper)
        return self.convs(torch.cat([self.up(x), skip], dim=1))


class E2UNet(nn.Module):
    """Encoding-enhanced U-Net for small-lesion segmentation on anisotropic (thick-slice) patches.

    From Xia et al., *Progressive Learning based Knowledge Distillation for Low Resolution Cerebral Microbleed
    Segmentation* (PLKD), Sec. 2.1 and Fig. 4:

    - **2D+3D hybrid convolution**: the first ``num_2d_layers`` (paper: 2) encoder levels use 2D convolutions in
      the fine in-plane axes (kernel 3×3×1) and give the *geometric* features f_g; the later levels use 3D
      convolutions (3×3×3) and give the *semantic* features f_s. Decoder levels use the kernel of the encoder
      level they mirror.
    - **Feature Compensation Module (FCM)**: between each pair of adjacent encoder levels a supplementary
      down-sampling branch (strided convolution, kernel = stride = the pooling window) is added to the max-pooled
      path, and an up-sampling branch (transposed convolution) from the deeper level is added to each skip
      connection, giving multi-scale information.
    - **U-Net decoder**: transposed-convolution up-sampling, concatenation with the skip, two convolutions per
      level, then a 1×1×1 output convolution (logits).

    Pooling: the first ``num_2d_layers - 1`` poolings are in-plane only (window 2×2×1) and the others 2×2×2,
    in every mode except ``"2d"``, where all poolings are in-plane. A 48×48×24 patch (slice axis last) therefore
    becomes 24×24×24 after the first pooling and then 12³, 6³, 3³ with the default five levels; in ``"2d"``
    mode the slice axis keeps 24 voxels at every level. Each spatial size must be divisible by the product of
    the pooling windows along its axis (16, 16, 8 for the defaults).

    Ablation switches (paper Table 4): ``conv_mode="2d"`` (all kernels 3×3×1, no kernel with extent > 1 in
    the slice axis anywhere, FCM and up-sampling included), ``"3d"`` (all kernels 3×3×3, same pooling as the
    hybrid), ``"hybrid"`` (the paper's); ``fcm=False`` removes every ``fcm_down`` / ``fcm_up`` module.

    Width: the paper does not state its channel counts. ``channels="unet"`` is the classic 3D U-Net width
    ``(32, 64, 128, 256, 512)``; the default ``"compact"`` ``(8, 16, 32, 64, 128)`` is the measured width that
    trains at ≤ 0.15 s per 48×48×24 patch on a 2-core CPU (see ``docs/networks.md``).

    Distillation taps (``feature_taps``), for a ``(B, C, 48, 48, 24)`` input with the defaults:
    ``geometric`` = ``encoder.1`` (last 2D level) ``(B, c2, 24, 24, 24)``; ``semantic`` = ``encoder.4``
    (deepest level) ``(B, c5, 3, 3, 3)`` (``(B, c5, 3, 3, 24)`` in ``"2d"`` mode); ``decision`` = ``head``
    ``(B, out_channels, 48, 48, 24)``.

    Args:
        spatial_dims: number of spatial dimensions; must be 3 (the network is about the slice axis).
        in_channels: number of input channels.
        out_channels: number of output channels (logits).
        channels: channels per level (at least 3 levels), or a preset name from ``CHANNEL_PRESETS``
            (``"compact"``, ``"unet"``).
        conv_mode: ``"hybrid"`` (paper), ``"2d"`` or ``"3d"``.
        fcm: add the Feature Compensation Module.
        num_2d_layers: number of leading 2D encoder levels in ``"hybrid"`` mode (paper: 2); also sets the
            number of in-plane-only poolings (``num_2d_layers - 1``) and the ``geometric`` tap level.
        act: activation type and arguments (MONAI ``Act`` factory).
        norm: normalisation type and arguments (MONAI ``Norm`` factory).
        bias: convolution bias.
        dropout: dropout ratio in the convolution blocks.

    Raises:
        ValueError: ``spatial_dims`` not 3, an unknown preset or ``conv_mode``, fewer than 3 levels, a
            non-positive channel count, or ``num_2d_layers`` outside ``[1, len(channels) - 1]``.
    """

    CHANNEL_PRESETS: dict[str, tuple[int, ...]] = {
        "compact": (8, 16, 32, 64, 128),
        "unet": (32, 64, 128, 256, 512),
    }
    CONV_MODES: tuple[str, ...] = ("hybrid", "2d", "3d")

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        *,
        channels: Sequence[int] | str = "compact",
        conv_mode: str = "hybrid",
        fcm: bool = True,
        num_2d_layers: int = 2,
        act: str | tuple = ("relu", {"inplace": True}),
        norm: str | tuple = "batch",
        bias: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        check_spatial_dims(spatial_dims, (3,), "E2UNet")
        check_channel_counts(in_channels, out_channels)
        if isinstance(channels, str):
            channels = look_up_option(channels, self.CHANNEL_PRESETS)
        chs = positive_ints(channels, "channels", at_least=3, per="one per level")
        conv_mode = look_up_option(conv_mode, self.CONV_MODES)
        if not 1 <= num_2d_layers <= len(chs) - 1:
            raise ValueError(
                f"num_2d_layers: expected a value in [1, {len(chs) - 1}] for {len(chs)} levels, got {num_2d_layers}"
            )
        self.spatial_dims = spatial_dims
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.channels = chs
        self.conv_mode = conv_mode
        self.fcm = fcm
        self.num_2d_layers = num_2d_layers

        n = len(chs)
        kernels = [self._level_kernel(i) for i in range(n)]
        # pools[i]: pooling window from level i - 1 to level i (pools[0] unused)
        pools = [(1, 1, 1)] + [self._pool_window(i) for i in range(1, n)]
        divisors = [1, 1, 1]
        for p in pools:
            divisors = [d * w for d, w in zip(divisors, p)]
        self.divisors = divisors

        encoder = []
        for i in range(n):
            cin = in_channels if i == 0 else chs[i - 1]
            pool = nn.Identity() if i == 0 else Pool[Pool.MAX, 3](kernel_size=pools[i], stride=pools[i])
            down = None
            if fcm and i > 0:
                down = Convolution(
                    3,
                    chs[i - 1],
                    chs[i],
                    strides=pools[i],
                    kernel_size=pools[i],
                    padding=0,
                    act=act,
                    norm=norm,
                    bias=bias,
                )
            encoder.append(_EncoderLevel(_two_conv(cin, chs[i], kernels[i], act, norm, bias, dropout), pool, down))
        self.encoder = nn.ModuleList(encoder)

        decoder = []
        for i in range(n - 2, -1, -1):
            up = _up_sampling(chs[i + 1], chs[i], pools[i + 1], act, norm, bias)
            fcm_up = _up_sampling(chs[i + 1], chs[i], pools[i + 1], act, norm, bias) if fcm else None
            decoder.append(
                _DecoderLevel(up, _two_conv(2 * chs[i], chs[i], kernels[i], act, norm, bias, dropout), fcm_up)
            )
        self.decoder = nn.ModuleList(decoder)
        self.head = Convolution(3, chs[0], out_channels, kernel_size=1, conv_only=True)

    def _level_kernel(self, level: int) -> tuple[int, int, int]:
        if self.conv_mode == "2d" or (self.conv_mode == "hybrid" and level < self.num_2d_layers):
            return _KERNEL_2D
        return _KERNEL_3D

    def _pool_window(self, level: int) -> tuple[int, int, int]:
        if self.conv_mode == "2d" or level < self.num_2d_layers:
            return _POOL_2D
        return _POOL_3D

    @property
    def feature_taps(self) -> dict[str, str]:
        """Tap name -> module path: ``geometric`` (last 2D level), ``semantic`` (deepest level), ``decision``."""
        return {
            "geometric": f"encoder.{self.num_2d_layers - 1}",
            "semantic": f"encoder.{len(self.channels) - 1}",
            "decision": "head",
        }

    __jit_unused_properties__ = ["feature_taps"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Segment a patch.

        Args:
            x: ``(B, in_channels, H, W, D)``, slice axis last; H, W, D divisible by ``self.divisors``
                (16, 16, 8 with the defaults, e.g. 48×48×24).

        Returns:
            ``(B, out_channels, H, W, D)`` logits.

        Raises:
            ValueError: wrong rank, channel count, or a spatial size not divisible by the pooling factors.
        """
        check_network_input(x, 3, self.in_channels, self.divisors, "E2UNet")
        feats: list[torch.Tensor] = []
        for level in self.encoder:
            x = level(x)
            feats.append(x)
        idx = len(feats) - 2
        for level in self.decoder:
            x = level(x, feats[idx], feats[idx + 1])
            idx -= 1
        return self.head(x)
