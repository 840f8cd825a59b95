"""KT-ViT: the U-shaped multi-scale vision transformer with convolutional embeddings (H-net / L-net)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
from monai.networks.blocks import Convolution
from monai.networks.layers.factories import Pool
from monai.utils import ensure_tuple_rep, look_up_option

from cmb_kd.networks.validation import check_channel_counts, check_network_input, check_spatial_dims, positive_ints

__all__ = ["KTViT"]


class _TransformerStage(nn.Module):
    """ViT transformer encoder(s) on the voxels of a feature map: tokenise, encode, de-tokenise.

    Input and output ``(B, C, *spatial)``; every voxel is one token of width C (pre-norm encoder layers with
    multi-head self-attention and a GELU MLP, then a final layer norm).
    """

    def __init__(self, hidden_size: int, num_heads: int, depth: int, mlp_ratio: float, dropout: float) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            [
                nn.TransformerEncoderLayer(
                    hidden_size,
                    num_heads,
                    int(hidden_size * mlp_ratio),
                    dropout,
                    activation="gelu",
                    batch_first=True,
                    norm_first=True,
                )
                for _ in range(depth)
            ]
        )
        self.norm = nn.LayerNorm(hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        tokens = x.flatten(2).transpose(1, 2)
        for layer in self.layers:
            tokens = layer(tokens)
        return self.norm(tokens).transpose(1, 2).reshape(shape)


class _LightDecoderLevel(nn.Module):
    """Interpolation up-sampling, concatenation with the skip, one 3×3×3 convolution + BN + ReLU."""

    def __init__(self, up: nn.Module, conv: nn.Module) -> None:
        super().__init__()
        self.up = up
        self.conv = conv

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([self.up(x), skip], dim=1))


class KTViT(nn.Module):
    """Multi-scale vision transformer with convolutional embeddings, the H-net / L-net of KT-ViT.

    From Hua, Wu, Zhong, *Multi-scale Knowledge Transfer Vision Transformer for 3D vessel shape segmentation*,
    Sec. 3.1, Figs. 1, 2 and 4. Layout (3D shown; ``P`` = ``patch_size``, sizes relative to the input H×W×D)::

        conv_embedding       3D U-Net encoder blocks, no resolution change     (B, e, H, W, D)       feature1
        tokenizer            linear projection of P³ patches (conv k=P, s=P)  (B, h1, H/P, ...)
        stages.0             transformer encoder(s) on the H/P tokens          T1
        joint_embeddings.0   3×3×3 conv + BN + ReLU on the de-tokenised T1     (B, h2, H/P, ...)     feature2
        pools.0              2×2×2 max pooling                                 H/2P
        stages.1             transformer encoder(s)                            T2
        joint_embeddings.1   3×3×3 conv + BN + ReLU                            (B, h3, H/2P, ...)    feature3
        pools.1              2×2×2 max pooling                                 H/4P
        stages.2             transformer encoder(s)                            T3
        decoder.0            up ×2, concat T2, 3×3×3 conv + BN + ReLU          (B, h2, H/2P, ...)
        decoder.1            up ×2, concat T1, 3×3×3 conv + BN + ReLU          (B, h1, H/P, ...)
        decoder.2            up ×P, concat the conv embedding, conv + BN + ReLU (B, e, H, W, D)      feature4
        head                 1×1×1 convolution                                 (B, out, H, W, D)     decision

    There is no explicit position embedding: as in the paper, the convolutional embeddings carry the positional
    information, so any input whose sizes are divisible by ``4·P`` per axis is accepted. The four feature taps
    are the places of the paper's Fig. 4 where the H-net transfers features to the L-net (the three
    convolutional embeddings and the decoder), used with MSE; ``decision`` (logits) is used with KL.

    ``spatial_dims=2`` builds the 2D variant (P² tokens, 3×3 kernels, 2×2 pooling), as in the paper.

    Width: the paper does not give its channel widths (it reports 25.5 M parameters). Two named widths
    (``WIDTH_PRESETS``) set ``embed_channels``, ``hidden_sizes`` and ``num_heads``:

    - ``"paper"``: ``(32, 64)``, ``(128, 256, 512)``, ``(4, 8, 16)``, 16.1 M parameters (``depths=(2, 2, 2)``
      gives 20.3 M), the closest reading of the paper; about 117 GFLOPs per 64×64×32 patch, meant for a GPU;
    - ``"compact"`` (the default): ``(8, 16)``, ``(32, 64, 128)``, ``(2, 4, 8)``, 1.0 M parameters, the measured
      width that trains on a CPU (``benchmarks/bench_ktvit_training.py``, ``docs/networks.md``).

    An explicit ``embed_channels``, ``hidden_sizes`` or ``num_heads`` replaces the preset's value.

    Args:
        spatial_dims: number of spatial dimensions, 2 or 3.
        in_channels: number of input channels.
        out_channels: number of output channels (logits).
        width: a preset name from ``WIDTH_PRESETS`` (``"compact"``, ``"paper"``) giving the three widths below.
        embed_channels: output channels of the conv embedding's blocks (no resolution change); default: the
            preset's.
        patch_size: token patch size P, an int or one per axis (e.g. ``(4, 4, 2)`` for 48×48×24 patches).
        hidden_sizes: token width of the three transformer stages; default: the preset's.
        num_heads: attention heads of each stage (each must divide its hidden size); default: the preset's.
        depths: transformer encoder layers per stage.
        mlp_ratio: MLP width relative to the hidden size.
        dropout: dropout ratio in the transformer layers.
        act: activation of the convolution blocks (MONAI ``Act`` factory).
        norm: normalisation of the convolution blocks (MONAI ``Norm`` factory).

    Raises:
        ValueError: ``spatial_dims`` not 2 or 3, an unknown width, a non-positive size, sequences of the wrong
            length, or a head count that does not divide its hidden size.
    """

    WIDTH_PRESETS: dict[str, dict[str, tuple[int, ...]]] = {
        "compact": {"embed_channels": (8, 16), "hidden_sizes": (32, 64, 128), "num_heads": (2, 4, 8)},
        "paper": {"embed_channels": (32, 64), "hidden_sizes": (128, 256, 512), "num_heads": (4, 8, 16)},
    }

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        *,
        width: str = "compact",
        embed_channels: Sequence[int] | None = None,
        patch_size: Sequence[int] | int = 4,
        hidden_sizes: Sequence[int] | None = None,
        num_heads: Sequence[int] | None = None,
        depths: Sequence[int] = (1, 1, 1),
        mlp_ratio: float = 4.0,
        dropout: float = 0.0,
        act: str | tuple = ("relu", {"inplace": True}),
        norm: str | tuple = "batch",
    ) -> None:
        super().__init__()
        check_spatial_dims(spatial_dims, (2, 3), "KTViT")
        check_channel_counts(in_channels, out_channels)
        preset = look_up_option(width, self.WIDTH_PRESETS)
        embed_channels = preset["embed_channels"] if embed_channels is None else embed_channels
        hidden_sizes = preset["hidden_sizes"] if hidden_sizes is None else hidden_sizes
        num_heads = preset["num_heads"] if num_heads is None else num_heads
        embed = positive_ints(embed_channels, "embed_channels", per="one per convolutional stage")
        patch = tuple(int(p) for p in ensure_tuple_rep(patch_size, spatial_dims))
        if min(patch) < 1:
            raise ValueError(f"patch_size: expected positive sizes, got {patch}")
        for name, value in (("hidden_sizes", hidden_sizes), ("num_heads", num_heads), ("depths", depths)):
            if len(value) != 3 or min(value) < 1:
                raise ValueError(
                    f"{name}: expected 3 positive integers (one per transformer stage), got {tuple(value)}"
                )
        for h, m in zip(hidden_sizes, num_heads):
            if h % m != 0:
                raise ValueError(
                    f"each of num_heads {tuple(num_heads)} must divide its hidden size {tuple(hidden_sizes)}."
                )
        if mlp_ratio <= 0:
            raise ValueError(f"mlp_ratio: expected a number > 0, got {mlp_ratio}")
        self.spatial_dims = spatial_dims
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.patch_size = patch
        self.divisors = [4 * p for p in patch]
        h1, h2, h3 = (int(h) for h in hidden_sizes)

        def conv(cin: int, cout: int) -> Convolution:
            return Convolution(spatial_dims, cin, cout, kernel_size=3, act=act, norm=norm)

        chain = (in_channels, *embed)
        self.conv_embedding = nn.Sequential(*[conv(a, b) for a, b in zip(chain[:-1], chain[1:])])
        e = embed[-1]
        self.tokenizer = Convolution(spatial_dims, e, h1, kernel_size=patch, strides=patch, padding=0, conv_only=True)
        self.stages = nn.ModuleList(
            [
                _TransformerStage(int(h), int(m), int(d), mlp_ratio, dropout)
                for h, m, d in zip(hidden_sizes, num_heads, depths)
            ]
        )
        self.joint_embeddings = nn.ModuleList([conv(h1, h2), conv(h2, h3)])
        self.pools = nn.ModuleList([Pool[Pool.MAX, spatial_dims](kernel_size=2, stride=2) for _ in range(2)])
        mode = "trilinear" if spatial_dims == 3 else "bilinear"

        def up(factor: Sequence[int]) -> nn.Upsample:
            return nn.Upsample(scale_factor=tuple(float(f) for f in factor), mode=mode, align_corners=False)

        two = (2,) * spatial_dims
        self.decoder = nn.ModuleList(
            [
                _LightDecoderLevel(up(two), conv(h3 + h2, h2)),
                _LightDecoderLevel(up(two), conv(h2 + h1, h1)),
                _LightDecoderLevel(up(patch), conv(h1 + e, e)),
            ]
        )
        self.head = Convolution(spatial_dims, e, out_channels, kernel_size=1, conv_only=True)

    @property
    def feature_taps(self) -> dict[str, str]:
        """Tap name -> module path: ``feature1`` .. ``feature4`` (MSE transfer) and ``decision`` (KL transfer)."""
        return {
            "feature1": "conv_embedding",
            "feature2": "joint_embeddings.0",
            "feature3": "joint_embeddings.1",
            "feature4": "decoder.2",
            "decision": "head",
        }

    __jit_unused_properties__ = ["feature_taps"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Segment a patch.

        Args:
            x: ``(B, in_channels, H, W, D)`` (or ``(B, in_channels, H, W)``), sizes divisible by ``4·P``.

        Returns:
            ``(B, out_channels, H, W, D)`` logits.

        Raises:
            ValueError: wrong rank, channel count, or a spatial size not divisible by ``4·P``.
        """
        check_network_input(x, self.spatial_dims, self.in_channels, self.divisors, "KTViT")
        embedded = self.conv_embedding(x)
        t = self.tokenizer(embedded)
        skips: list[torch.Tensor] = [embedded]
        # stages.0 and stages.1 are followed by a joint conv embedding and pooling; stages.2 is the bottleneck
        for stage, joint, pool in zip(self.stages, self.joint_embeddings, self.pools):
            t = stage(t)
            skips.append(t)
            t = pool(joint(t))
        t = self.stages[2](t)
        idx = 2
        for level in self.decoder:
            t = level(t, skips[idx])
            idx -= 1
        return self.head(t)
