"""Input checks shared by the networks, written so that they compile with TorchScript."""

from __future__ import annotations

import torch

__all__ = ["check_network_input"]


def check_network_input(
    x: torch.Tensor, spatial_dims: int, in_channels: int, divisors: list[int], network: str
) -> None:
    """Check a network input's rank, channel count and spatial divisibility.

    The function is TorchScript-compatible, so a scripted network raises the same message (wrapped by
    ``torch.jit.Error``) as the eager one.

    Args:
        x: the input tensor, expected shape ``(B, in_channels, *spatial)`` with ``spatial_dims`` spatial axes
            (``(B, C, H, W, D)`` in 3D, slice axis last).
        spatial_dims: number of spatial axes the network was built for.
        in_channels: number of input channels the network was built for.
        divisors: per spatial axis, the number each spatial size must be divisible by (pooling factors); an
            empty list skips the check.
        network: the network's name, used in the message.

    Raises:
        ValueError: when the rank, the channel count or a spatial size does not match.
    """
    if x.dim() != spatial_dims + 2:
        raise ValueError(
            f"{network} expects an input of rank {spatial_dims + 2} (B, C and {spatial_dims} spatial axes), "
            f"got shape {list(x.shape)}."
        )
    if x.shape[1] != in_channels:
        raise ValueError(
            f"{network} expects {in_channels} input channel(s) on axis 1, got {x.shape[1]} (shape {list(x.shape)})."
        )
    if len(divisors) > 0:
        spatial = list(x.shape[2:])
        for axis in range(len(divisors)):
            if spatial[axis] % divisors[axis] != 0:
                raise ValueError(
                    f"{network} expects spatial sizes divisible by {divisors} (pooling factors per axis), "
                    f"got spatial shape {spatial}."
                )
