"""GRE signal with intravoxel dephasing, homodyne high-pass phase and SWI."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["GAMMA_BAR", "gre_signal", "block_mean", "highpass_phase", "swi"]

#: Proton gyromagnetic ratio over 2π in Hz per µT.
GAMMA_BAR = 42.577478


def gre_signal(proton_density: np.ndarray, r2star: np.ndarray, field: np.ndarray, echo_time: float) -> np.ndarray:
    """Complex GRE signal of each voxel, integrating a field that is linear within the voxel.

    S = ρ · exp(-R2*·TE) · exp(-i·φ) · Π_axes sinc(Δφ_axis / 2), with φ = 2π·γ̄·ΔB·TE and
    Δφ_axis the change of φ across the voxel along each axis (the right-handed convention:
    paramagnetic sources give negative phase). The sinc factor is the exact complex average of
    a linearly varying phase over the voxel, i.e. the limit of infinite supersampling of a
    locally linear field; curved fields (around lesions) are integrated by explicit
    supersampling with :func:`block_mean` on top of this.

    Args:
        proton_density: ρ, shape (X, Y, Z).
        r2star: R2* in 1/s, shape (X, Y, Z).
        field: ΔB in µT, shape (X, Y, Z).
        echo_time: TE in seconds.

    Returns:
        complex64 array (X, Y, Z).
    """
    phase = (2.0 * np.pi * GAMMA_BAR * echo_time) * field.astype(np.float32)
    attenuation = np.exp(-r2star.astype(np.float32) * np.float32(echo_time)) * proton_density
    for axis in range(phase.ndim):
        # sin(x/2)/(x/2) = np.sinc(x / 2π)
        attenuation *= np.sinc(np.gradient(phase, axis=axis) / (2.0 * np.pi)).astype(np.float32)
    return (attenuation * np.exp(-1j * phase)).astype(np.complex64)


def block_mean(signal: np.ndarray, factors: tuple[int, int, int]) -> np.ndarray:
    """Averages non-overlapping blocks of ``factors`` sub-voxels (complex averaging of sub-voxel signals).

    Args:
        signal: array (X·fx, Y·fy, Z·fz).
        factors: block size along each axis.

    Returns:
        array (X, Y, Z) of block means.

    Raises:
        ValueError: if a factor does not divide the corresponding size.
    """
    fx, fy, fz = factors
    sx, sy, sz = signal.shape
    if sx % fx or sy % fy or sz % fz:
        raise ValueError(f"block_mean: factors {factors} must divide the shape {signal.shape}")
    return signal.reshape(sx // fx, fx, sy // fy, fy, sz // fz, fz).mean(axis=(1, 3, 5))


def highpass_phase(signal: np.ndarray, sigma_voxels: tuple[float, float]) -> np.ndarray:
    """Homodyne high-pass filtered phase: angle(S · conj(LP(S))) with an in-plane Gaussian low-pass.

    The filter works slice by slice in the (X, Y) plane, as SWI reconstruction does, so it removes
    the slowly varying background field and keeps the local phase of veins and lesions.

    Args:
        signal: complex image (X, Y, Z).
        sigma_voxels: Gaussian standard deviation along X and Y in voxels.

    Returns:
        float32 phase in radians, in (-π, π].
    """
    sigma = (sigma_voxels[0], sigma_voxels[1], 0.0)
    low = ndimage.gaussian_filter(signal.real, sigma) + 1j * ndimage.gaussian_filter(signal.imag, sigma)
    return np.angle(signal * np.conj(low)).astype(np.float32)


def swi(magnitude: np.ndarray, phase: np.ndarray, power: int = 4) -> np.ndarray:
    """Susceptibility-weighted image: magnitude × phase-mask^power (Haacke et al. 2004).

    The mask is (φ + π)/π for negative phase and 1 otherwise, suppressing paramagnetic sources
    (veins, CMBs), which have negative phase in this right-handed convention.

    Args:
        magnitude: magnitude image.
        phase: high-pass filtered phase in radians, same shape.
        power: number of multiplications by the mask.

    Returns:
        float32 SWI image.
    """
    mask = np.where(phase < 0, (phase + np.pi) / np.pi, 1.0).astype(np.float32)
    return (magnitude * mask**power).astype(np.float32)
