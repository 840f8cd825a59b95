"""Checks shared by the networks: of their constructor arguments, and of an input (TorchScript-compatible)."""

from __future__ import annotations

from collections.abc import Iterable

import torch

__all__ = ["check_channel_counts", "check_network_input", "check_spatial_dims", "positive_ints"]


def check_spatial_dims(spatial_dims: int, allowed: tuple[int, ...], network: str) -> None:
    """Raise ValueError naming ``network`` unless ``spatial_dims`` is one of ``allowed``."""
    if spatial_dims not in allowed:
        dims = " or ".join(str(d) for d in allowed)
        raise ValueError(f"spatial_dims: expected {dims} ({network} is built for {dims}D), got {spatial_dims}")


def check_channel_counts(in_channels: int, out_channels: int) -> None:
    """Raise ValueError unless both channel counts are at least 1."""
    if in_channels < 1 or out_channels < 1:
        raise ValueError(f"in_channels and out_channels: expected >= 1, got {in_channels} and {out_channels}")


def positive_ints(
    values: Iterable[int], name: str, *, count: int | None = None, at_least: int = 1, per: str = ""
) -> tuple[int, ...]:
    """``values`` as a tuple of ints, all >= 1: exactly ``count`` of them when given, else at least ``at_least``.

    Args:
        values: the sizes (channels per level, blocks per stage, ...).
        name: the argument's name, for the message.
        count: the exact number expected (``None``: any number from ``at_least`` on).
        at_least: the smallest number expected when ``count`` is ``None``.
        per: what one value stands for, for the message (e.g. ``"one per stage"``).

    Raises:
        ValueError: ``name: expected 3 positive integers (one per stage), got (4, 0, 8)`` and the like.
    """
    out = tuple(int(v) for v in values)
    wrong_number = len(out) != count if count is not None else len(out) < at_least
    if wrong_number or (out and min(out) < 1):
        number = str(count) if count is not None else f"at least {at_least}"
        detail = f" ({per})" if per else ""
        raise ValueError(f"{name}: expected {number} positive integers{detail}, got {out}")
    return out


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
