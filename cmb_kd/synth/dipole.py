"""Magnetic field perturbation of a susceptibility distribution by the dipole kernel in k-space."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import fft

__all__ = ["dipole_kernel", "dipole_field"]


def dipole_kernel(shape: Sequence[int], spacing: Sequence[float]) -> np.ndarray:
    """Unit dipole kernel D(k) = 1/3 - k_z^2/|k|^2 on the half spectrum of ``scipy.fft.rfftn``.

    B0 points along the last array axis (the scanner z axis, slice axis). D(0) is set to 0, so the
    field has zero mean over the (padded) box (the Lorentz-sphere corrected convention of QSM).

    Args:
        shape: real-space array shape (X, Y, Z).
        spacing: voxel size along each axis in mm.

    Returns:
        float32 array of shape (X, Y, Z // 2 + 1).
    """
    kx = fft.fftfreq(shape[0], d=spacing[0])[:, None, None]
    ky = fft.fftfreq(shape[1], d=spacing[1])[None, :, None]
    kz = fft.rfftfreq(shape[2], d=spacing[2])[None, None, :]
    k2 = kx**2 + ky**2 + kz**2
    with np.errstate(invalid="ignore", divide="ignore"):
        kernel = 1.0 / 3.0 - kz**2 / k2
    kernel[0, 0, 0] = 0.0
    return kernel.astype(np.float32)


def dipole_field(
    susceptibility: np.ndarray,
    spacing: Sequence[float] | float,
    b0: float = 1.0,
    pad: int | Sequence[int] = 16,
    workers: int = -1,
) -> np.ndarray:
    """Field perturbation ΔB = B0 · F⁻¹{D(k) · F{χ}} of a susceptibility map (B0 along the last axis).

    Args:
        susceptibility: χ in ppm, shape (X, Y, Z).
        spacing: voxel size in mm (a number or one per axis).
        b0: field strength in tesla. With ``b0=1`` the result is the relative field in ppm.
        pad: zeros added on each side of each axis before the FFT to limit wrap-around.
        workers: threads of ``scipy.fft`` (-1: all cores).

    Returns:
        float32 array (X, Y, Z): ΔB in µT when ``b0`` is in tesla and χ in ppm (ppm × T = µT).

    Raises:
        ValueError: if ``susceptibility`` is not 3D or contains NaN/Inf.
    """
    chi = np.asarray(susceptibility, dtype=np.float32)
    if chi.ndim != 3:
        raise ValueError(f"dipole_field expects a 3D susceptibility map (X, Y, Z), got shape {chi.shape}")
    if not np.isfinite(chi).all():
        raise ValueError("dipole_field: the susceptibility map contains NaN or Inf")
    spacing = (float(spacing),) * 3 if np.isscalar(spacing) else tuple(float(s) for s in spacing)
    pads = (int(pad),) * 3 if np.isscalar(pad) else tuple(int(p) for p in pad)
    padded_shape = tuple(fft.next_fast_len(n + 2 * p, real=True) for n, p in zip(chi.shape, pads, strict=True))
    spectrum = fft.rfftn(chi, s=padded_shape, workers=workers)
    spectrum *= dipole_kernel(padded_shape, spacing)
    field = fft.irfftn(spectrum, s=padded_shape, workers=workers)
    return (b0 * field[: chi.shape[0], : chi.shape[1], : chi.shape[2]]).astype(np.float32)
