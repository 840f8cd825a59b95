"""Acquisition effects: native thick slices, receive bias field and complex (Rician) noise."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["thick_slices", "thick_slice_affine", "bias_field", "add_complex_noise"]


def thick_slices(signal: np.ndarray, factor: int) -> np.ndarray:
    """Native thick-slice acquisition: the complex mean of each group of ``factor`` HR slices.

    A thick slice integrates the complex transverse magnetisation over its thickness, so its value
    is the complex average of the thin slices it covers (intravoxel dephasing along the slice
    included). Slab k covers HR slices k·f … k·f + f - 1.

    Args:
        signal: complex (or real) HR image (X, Y, Z), slice axis last.
        factor: slices per slab; must divide Z.

    Returns:
        array (X, Y, Z // factor).

    Raises:
        ValueError: if ``factor`` is not a positive integer dividing Z.
    """
    z = signal.shape[-1]
    if int(factor) != factor or factor < 1 or z % factor:
        raise ValueError(f"thick_slices: factor: expected a positive integer dividing the {z} slices, got {factor}")
    return signal.reshape(*signal.shape[:-1], z // factor, factor).mean(axis=-1)


def thick_slice_affine(affine: np.ndarray, factor: int) -> np.ndarray:
    """Voxel-to-world matrix of the thick-slice grid: slab k is centred on HR slice k·f + (f - 1)/2."""
    scale = np.eye(4)
    scale[2, 2] = factor
    scale[2, 3] = (factor - 1) / 2.0
    return affine @ scale


def bias_field(shape: tuple[int, int, int], rng: np.random.Generator, amplitude: float) -> np.ndarray:
    """Smooth multiplicative receive bias: exp of a random field with ~4 control points per axis.

    Args:
        shape: grid shape.
        rng: random generator.
        amplitude: the field spans about [1 - amplitude, 1 + amplitude].

    Returns:
        float32 array of ``shape`` with values around 1.
    """
    coarse = torch.from_numpy(rng.standard_normal((1, 1, 4, 4, 4)).astype(np.float32))
    smooth = F.interpolate(coarse, size=tuple(shape), mode="trilinear", align_corners=True)[0, 0].numpy()
    smooth /= max(float(np.abs(smooth).max()), 1e-6)
    return np.exp(np.log1p(amplitude) * smooth).astype(np.float32)


def add_complex_noise(signal: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Adds independent Gaussian noise of standard deviation ``sigma`` to the real and imaginary parts.

    The magnitude of the result is Rician distributed, as in a real single-coil magnitude image.
    """
    noise = rng.standard_normal((2, *signal.shape), dtype=np.float32)
    return (signal + sigma * (noise[0] + 1j * noise[1])).astype(np.complex64)
