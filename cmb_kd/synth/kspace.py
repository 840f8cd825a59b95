"""In-plane resolution as a scanner makes it: truncation (or zero-filling) of the centred 2D k-space.

A scanner samples a rectangle of k-space around its centre; the field of view stays, the matrix
sets the pixel size. Cropping the 2D FFT of each HR slice to the target matrix is that sampling:
it band-limits the image and gives the Gibbs ringing of real scans; a matrix larger than the HR
one zero-fills (sinc interpolation, as scanners' "interpolated" reconstructions do). The
reconstruction may apply a k-space window (Hamming, Fermi) that trades ringing for blur, and a
zero-filled partial-Fourier acquisition that skips a fraction of the phase-encoding lines on one
side. All of it works on the complex signal; take the magnitude afterwards.

Sample i of the resampled grid lies at HR voxel coordinate i·N/M along an axis of N HR and M
resampled samples (the origin is kept), so its spacing is N·spacing/M mm.
"""

from __future__ import annotations

import numpy as np
from monai.utils import look_up_option
from scipy import fft

__all__ = ["KSPACE_WINDOWS", "kspace_matrix", "kspace_filter", "kspace_resample", "apply_kspace_filter"]

KSPACE_WINDOWS: tuple[str, ...] = ("none", "hamming", "fermi")
"""``none``: a sharp cut (most ringing); ``hamming``: 0.54 + 0.46·cos(π·k/k_max) per axis; ``fermi``: the radial
roll-off 1 / (1 + exp((|k|/k_max - 0.9) / 0.025)) that scanners' raw-data filters use."""

#: Radius (fraction of k_max) and width of the Fermi window's roll-off.
_FERMI_RADIUS, _FERMI_WIDTH = 0.9, 0.025


def kspace_matrix(size: int, spacing: float, target_spacing: float) -> int:
    """Matrix size along one axis that keeps the field of view ``size·spacing`` at ``target_spacing``.

    Args:
        size: HR samples along the axis.
        spacing: HR spacing in mm.
        target_spacing: wanted spacing in mm; the true one is ``size·spacing / matrix``.

    Returns:
        ``max(1, round(size·spacing / target_spacing))``.

    Raises:
        ValueError: if a spacing is not positive.
    """
    if not spacing > 0 or not target_spacing > 0:
        raise ValueError(f"spacing, target_spacing: expected positive spacings in mm, got {spacing}, {target_spacing}")
    return max(1, int(round(size * spacing / target_spacing)))


def _normalised_k(n: int) -> np.ndarray:
    """k/k_max of the n samples of a centred (fftshifted) axis, in [-1, 1)."""
    return (np.arange(n) - n // 2) / max(n / 2.0, 1.0)


def kspace_filter(
    matrix: tuple[int, int],
    window: str = "none",
    *,
    partial_fourier: float = 1.0,
    phase_axis: int = 1,
    partial_fourier_side: int = 1,
) -> np.ndarray:
    """Reconstruction filter on a centred (fftshifted) k-space of ``matrix`` samples.

    Args:
        matrix: k-space size (Mx, My).
        window: one of :data:`KSPACE_WINDOWS`.
        partial_fourier: fraction of the phase-encoding lines acquired, in [0.5, 1]; the others are
            zero-filled.
        phase_axis: the phase-encoding axis (0 or 1).
        partial_fourier_side: +1 skips the highest positive lines, -1 the most negative ones.

    Returns:
        float32 array (Mx, My) in fftshifted order, 1 at k = 0.

    Raises:
        ValueError: for an unknown window or an out-of-range partial-Fourier setting.
    """
    try:
        window = look_up_option(window, KSPACE_WINDOWS)
    except ValueError as err:
        raise ValueError(f"window: {err}".rstrip()) from err
    if not 0.5 <= partial_fourier <= 1.0:
        raise ValueError(f"partial_fourier: expected a fraction of lines in [0.5, 1], got {partial_fourier}")
    if phase_axis not in (0, 1):
        raise ValueError(f"phase_axis: expected 0 or 1, got {phase_axis}")
    if partial_fourier_side not in (-1, 1):
        raise ValueError(f"partial_fourier_side: expected -1 or 1, got {partial_fourier_side}")
    kx, ky = (_normalised_k(int(n)) for n in matrix)
    if window == "hamming":
        weights = np.outer(0.54 + 0.46 * np.cos(np.pi * kx), 0.54 + 0.46 * np.cos(np.pi * ky))
    elif window == "fermi":
        radius = np.sqrt(kx[:, None] ** 2 + ky[None, :] ** 2)
        weights = 1.0 / (1.0 + np.exp((radius - _FERMI_RADIUS) / _FERMI_WIDTH))
        weights /= weights[matrix[0] // 2, matrix[1] // 2]
    else:
        weights = np.ones(tuple(int(n) for n in matrix))
    if partial_fourier < 1.0:
        n = int(matrix[phase_axis])
        keep = np.zeros(n)
        kept = max(n // 2 + 1, int(round(partial_fourier * n)))
        if partial_fourier_side > 0:
            keep[:kept] = 1.0
        else:
            keep[n - kept :] = 1.0
        weights = weights * (keep[:, None] if phase_axis == 0 else keep[None, :])
    return weights.astype(np.float32)


def _crop_or_pad(spectrum: np.ndarray, matrix: tuple[int, int]) -> np.ndarray:
    """Centred crop / zero-pad of the first two axes of a spectrum in FFT order (k = 0 first).

    An axis of n samples holds k = -(n // 2) ... n - 1 - n // 2; the frequencies both sizes hold are
    copied as two blocks (k >= 0 and k < 0) per axis, the others are zero.
    """
    out = np.zeros((*matrix, *spectrum.shape[2:]), dtype=spectrum.dtype)
    blocks = []
    for n, m in zip(spectrum.shape[:2], matrix, strict=True):
        positive, negative = min(m - m // 2, n - n // 2), min(m // 2, n // 2)
        blocks.append([(slice(0, positive), slice(0, positive)), (slice(n - negative, n), slice(m - negative, m))])
    for src_x, dst_x in blocks[0]:
        for src_y, dst_y in blocks[1]:
            out[dst_x, dst_y] = spectrum[src_x, src_y]
    return out


def _as_complex(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim < 2:
        raise ValueError(f"image: expected an array (X, Y, ...) with two in-plane axes first, got shape {image.shape}")
    return image.astype(np.complex64, copy=False)


def kspace_resample(
    image: np.ndarray, matrix: tuple[int, int], *, k_filter: np.ndarray | None = None, workers: int = -1
) -> np.ndarray:
    """Resamples the two in-plane axes through their centred k-space: crop or zero-fill to ``matrix``.

    The intensity of a homogeneous region is kept (the k = 0 sample is the image mean); at the HR
    matrix with no filter this is the identity up to rounding.

    Args:
        image: complex (or real) array (X, Y, ...), the in-plane axes first.
        matrix: target in-plane matrix (Mx, My).
        k_filter: optional reconstruction filter (Mx, My) from :func:`kspace_filter`.
        workers: threads of ``scipy.fft`` (-1: all cores).

    Returns:
        complex64 array (Mx, My, ...).

    Raises:
        ValueError: if ``image`` has fewer than two axes, ``matrix`` is not two positive sizes, or the
            filter does not have the matrix's shape.
    """
    image = _as_complex(image)
    matrix = tuple(int(m) for m in matrix)
    if len(matrix) != 2 or min(matrix) < 1:
        raise ValueError(f"matrix: expected two positive in-plane sizes, got {matrix}")
    if k_filter is not None and tuple(k_filter.shape) != matrix:
        raise ValueError(f"k_filter: expected the shape of the matrix {matrix}, got {tuple(k_filter.shape)}")
    spectrum = fft.fft2(image, axes=(0, 1), norm="forward", workers=workers)
    if spectrum.shape[:2] != matrix:
        spectrum = _crop_or_pad(spectrum, matrix)
    if k_filter is not None:
        spectrum *= fft.ifftshift(k_filter).reshape(*matrix, *([1] * (image.ndim - 2)))
    return fft.ifft2(spectrum, axes=(0, 1), norm="forward", overwrite_x=True, workers=workers).astype(
        np.complex64, copy=False
    )


def apply_kspace_filter(image: np.ndarray, k_filter: np.ndarray, *, workers: int = -1) -> np.ndarray:
    """Applies a reconstruction filter to an image already on its matrix: F⁻¹{H · F{image}}.

    Args:
        image: complex array (Mx, My, ...).
        k_filter: filter (Mx, My) from :func:`kspace_filter`.
        workers: threads of ``scipy.fft``.

    Returns:
        complex64 array of the shape of ``image``.
    """
    image = _as_complex(image)
    return kspace_resample(image, image.shape[:2], k_filter=k_filter, workers=workers)
