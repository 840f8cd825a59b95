"""Separable 1D cubic convolution and slab averaging, shared by the degrade and working-grid transforms.

The kernel is Keys' cubic convolution with ``a = -0.75``, the kernel of PyTorch's 2D ``bicubic`` mode, applied
one axis at a time so that the same code gives bicubic (two axes) and tricubic (three axes) interpolation in pure
torch, on any device. Samples outside the input are read from the nearest edge sample (replicate border), so a
constant signal stays constant.
"""

from __future__ import annotations

import torch

__all__ = ["CUBIC_A", "cubic_kernel_weights", "cubic_resample_axis", "aligned_positions", "slab_average"]

CUBIC_A = -0.75
"""Free parameter of Keys' cubic convolution kernel (PyTorch's ``bicubic`` uses the same value)."""


def cubic_kernel_weights(frac: torch.Tensor, a: float = CUBIC_A) -> torch.Tensor:
    """Weights of the four taps at offsets -1, 0, 1, 2 around ``floor(position)``.

    Args:
        frac: fractional part of the sampling positions, values in [0, 1), any shape ``S``.
        a: Keys kernel parameter.

    Returns:
        Tensor of shape ``S + (4,)``; each row sums to 1.
    """
    t = frac.unsqueeze(-1) + torch.tensor([1.0, 0.0, -1.0, -2.0], dtype=frac.dtype, device=frac.device)
    s = t.abs()
    near = ((a + 2.0) * s - (a + 3.0)) * s * s + 1.0
    far = ((a * s - 5.0 * a) * s + 8.0 * a) * s - 4.0 * a
    return torch.where(s <= 1.0, near, torch.where(s < 2.0, far, torch.zeros_like(s)))


def aligned_positions(
    n_out: int, scale: float, offset: float, *, device: torch.device | None = None, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Source coordinates ``offset + scale * j`` of the output samples ``j = 0 .. n_out - 1``.

    Args:
        n_out: number of output samples.
        scale: input voxels per output voxel (``1 / factor`` when up-sampling by ``factor``).
        offset: input coordinate of output sample 0.
        device: device of the returned tensor.
        dtype: floating dtype of the returned tensor.

    Returns:
        Tensor of shape ``(n_out,)``.
    """
    return offset + scale * torch.arange(n_out, device=device, dtype=torch.float64).to(dtype)


def cubic_resample_axis(x: torch.Tensor, axis: int, positions: torch.Tensor) -> torch.Tensor:
    """Sample ``x`` along one axis at fractional ``positions`` with cubic convolution.

    Args:
        x: floating tensor of any shape; ``x.shape[axis]`` is the input length ``n_in``.
        axis: axis to resample (negative values count from the end).
        positions: 1D tensor of ``n_out`` source coordinates in input voxel units (0 is the centre of the first
            sample), on the device of ``x``.

    Returns:
        Tensor like ``x`` with ``shape[axis] == n_out``.
    """
    axis = axis % x.ndim
    n_in = x.shape[axis]
    pos = positions.to(device=x.device, dtype=x.dtype)
    base = torch.floor(pos)
    weights = cubic_kernel_weights(pos - base)
    taps = torch.arange(-1, 3, device=x.device, dtype=torch.long)
    index = (base.long().unsqueeze(-1) + taps).clamp_(0, n_in - 1)
    gathered = x.index_select(axis, index.reshape(-1)).unflatten(axis, (pos.numel(), 4))
    view = [1] * gathered.ndim
    view[axis], view[axis + 1] = pos.numel(), 4
    return (gathered * weights.reshape(view)).sum(dim=axis + 1)


def slab_average(x: torch.Tensor, axis: int, factor: int) -> torch.Tensor:
    """Average each group of ``factor`` consecutive samples along ``axis`` (a thick slice from thin ones).

    Slab ``k`` is the mean of samples ``k * factor .. k * factor + factor - 1``; its centre lies at input
    coordinate ``k * factor + (factor - 1) / 2``.

    Args:
        x: floating tensor; ``x.shape[axis]`` must be a multiple of ``factor`` (checked by the callers).
        axis: axis to average along.
        factor: slab thickness in samples.

    Returns:
        Tensor like ``x`` with ``shape[axis] == x.shape[axis] // factor``.
    """
    axis = axis % x.ndim
    if factor == 1:
        return x
    return x.unflatten(axis, (x.shape[axis] // factor, factor)).mean(dim=axis + 1)
