"""Slice profiles of a 2D multi-slice acquisition and the weights of the HR slices in each acquired slice.

A thick slice integrates the complex transverse magnetisation over its slice profile: the
excitation's sensitivity along the slice axis. Three profiles are modelled, each scaled so that
its full width at half maximum (FWHM) is the nominal slice thickness:

- ``"box"``: the ideal rectangle (what the native thick slices of the cohort use);
- ``"gaussian"``: a smooth bell;
- ``"rf"``: the small-tip profile of a Hamming-windowed sinc RF pulse of a given time-bandwidth
  product (the Fourier transform of the pulse envelope): a flat top, finite transition bands and
  small ripples with negative side lobes, as a real slice-selective excitation gives.
"""

from __future__ import annotations

import numpy as np
from monai.utils import look_up_option
from scipy.special import erf, sici

__all__ = ["SLICE_PROFILES", "slice_profile", "slice_centres", "slice_weights"]

SLICE_PROFILES: tuple[str, ...] = ("box", "gaussian", "rf")
"""Names of the slice profiles (see the module docstring)."""

#: Hamming window of the RF pulse: w(τ) = a + (1 - a)·cos(2πτ) on τ ∈ [-1/2, 1/2].
_HAMMING_A = 0.54
#: Support of the truncated profiles, in thicknesses either side of the slice centre.
_SUPPORT = {"box": 0.5, "gaussian": 1.5, "rf": 2.0}
_FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


def _sinc_integral(x: np.ndarray) -> np.ndarray:
    """∫₀ˣ sinc(u) du with sinc(u) = sin(πu)/(πu): Si(πx)/π."""
    return sici(np.pi * x)[0] / np.pi


def _sinc_integral2(x: np.ndarray) -> np.ndarray:
    """Antiderivative of :func:`_sinc_integral`: (πx·Si(πx) + cos(πx)) / π²."""
    return (np.pi * x * sici(np.pi * x)[0] + np.cos(np.pi * x)) / np.pi**2


def _window_terms(func, x: np.ndarray) -> np.ndarray:
    """Applies ``func`` to the three sinc terms of the Fourier transform of the Hamming window."""
    b = (1.0 - _HAMMING_A) / 2.0
    return _HAMMING_A * func(x) + b * (func(x - 1.0) + func(x + 1.0))


def _rf_raw(f: np.ndarray, tbw: float) -> np.ndarray:
    """Unnormalised rf profile at frequency ``f`` (passband edges at ±tbw/2): rect ⊛ FT(window)."""
    return _window_terms(_sinc_integral, f + tbw / 2.0) - _window_terms(_sinc_integral, f - tbw / 2.0)


def _rf_raw_integral(f: np.ndarray, tbw: float) -> np.ndarray:
    """Antiderivative of :func:`_rf_raw` in ``f``."""
    return _window_terms(_sinc_integral2, f + tbw / 2.0) - _window_terms(_sinc_integral2, f - tbw / 2.0)


def _rf_half_width(tbw: float) -> float:
    """Frequency at which the rf profile falls to half its peak (bisection; the FWHM is twice this)."""
    peak = float(_rf_raw(np.array(0.0), tbw))
    low, high = 0.0, tbw
    for _ in range(60):
        mid = 0.5 * (low + high)
        if _rf_raw(np.array(mid), tbw) > 0.5 * peak:
            low = mid
        else:
            high = mid
    return 0.5 * (low + high)


def _check_profile(profile: str, thickness: float, time_bandwidth: float) -> str:
    try:
        profile = look_up_option(profile, SLICE_PROFILES)
    except ValueError as err:
        raise ValueError(f"profile: {err}".rstrip()) from err
    if not thickness > 0:
        raise ValueError(f"thickness: expected a positive slice thickness in mm, got {thickness}")
    if not time_bandwidth > 0:
        raise ValueError(f"time_bandwidth: expected a positive time-bandwidth product, got {time_bandwidth}")
    return profile


def slice_profile(profile: str, z: np.ndarray, thickness: float, *, time_bandwidth: float = 4.0) -> np.ndarray:
    """The slice profile at offsets ``z`` (mm) from the slice centre, peak 1, FWHM ``thickness``.

    Args:
        profile: one of :data:`SLICE_PROFILES`.
        z: offsets from the slice centre in mm, any shape.
        thickness: nominal slice thickness in mm (the profile's FWHM).
        time_bandwidth: time-bandwidth product of the RF pulse (``"rf"`` only; larger is sharper).

    Returns:
        float64 array of the shape of ``z``; 0 outside the profile's support (±0.5, ±1.5 and ±2
        thicknesses for box, gaussian and rf).

    Raises:
        ValueError: for an unknown profile or a non-positive thickness or time-bandwidth product.
    """
    profile = _check_profile(profile, thickness, time_bandwidth)
    z = np.asarray(z, dtype=np.float64)
    inside = np.abs(z) <= _SUPPORT[profile] * thickness
    if profile == "box":
        values = np.where(np.abs(z) < thickness / 2.0, 1.0, np.where(np.abs(z) == thickness / 2.0, 0.5, 0.0))
    elif profile == "gaussian":
        values = np.exp(-0.5 * (z / (thickness * _FWHM_TO_SIGMA)) ** 2)
    else:
        scale = 2.0 * _rf_half_width(time_bandwidth) / thickness
        values = _rf_raw(z * scale, time_bandwidth) / _rf_raw(np.array(0.0), time_bandwidth)
    return np.where(inside, values, 0.0)


def _profile_integral(profile: str, z: np.ndarray, thickness: float, time_bandwidth: float) -> np.ndarray:
    """∫ of the (untruncated) profile from the centre to ``z`` (mm), an odd function of ``z``."""
    if profile == "box":
        return np.clip(z, -thickness / 2.0, thickness / 2.0)
    if profile == "gaussian":
        sigma = thickness * _FWHM_TO_SIGMA
        return sigma * np.sqrt(np.pi / 2.0) * erf(z / (sigma * np.sqrt(2.0)))
    scale = 2.0 * _rf_half_width(time_bandwidth) / thickness
    peak = float(_rf_raw(np.array(0.0), time_bandwidth))
    zero = _rf_raw_integral(np.zeros_like(z), time_bandwidth)
    return (_rf_raw_integral(z * scale, time_bandwidth) - zero) / (scale * peak)


def slice_centres(n_hr: int, hr_spacing: float, thickness: float, gap: float, offset: float = 0.5) -> np.ndarray:
    """Centres of the acquired slices along the slice axis of an HR field of view.

    The field of view spans the ``n_hr`` HR voxels, from -hr_spacing/2 to (n_hr - 1/2)·hr_spacing in
    mm from the centre of HR slice 0. Slices of ``thickness`` separated by ``gap`` (centre spacing
    thickness + gap) are stacked as many as fit; the part of the field of view they leave uncovered
    is split before and after the stack in the proportion ``offset`` : 1 - ``offset``.

    Args:
        n_hr: number of HR slices.
        hr_spacing: HR slice spacing in mm.
        thickness: slice thickness in mm.
        gap: gap between adjacent slices in mm (0: contiguous).
        offset: where the stack sits in the leftover field of view, in [0, 1] (0.5: centred).

    Returns:
        float64 array (n_slices,) of slice centres in mm from the centre of HR slice 0.

    Raises:
        ValueError: if a value is out of range or one slice is thicker than the field of view.
    """
    fov = n_hr * hr_spacing
    if not hr_spacing > 0 or n_hr < 1:
        raise ValueError(f"n_hr, hr_spacing: expected a positive count and spacing, got {n_hr}, {hr_spacing}")
    if not 0 < thickness <= fov:
        raise ValueError(f"thickness: expected a slice thickness in (0, {fov}] mm (the field of view), got {thickness}")
    if not gap >= 0:
        raise ValueError(f"gap: expected a non-negative slice gap in mm, got {gap}")
    if not 0 <= offset <= 1:
        raise ValueError(f"offset: expected a fraction in [0, 1], got {offset}")
    step = thickness + gap
    count = int(np.floor((fov - thickness) / step + 1e-9)) + 1
    leftover = fov - ((count - 1) * step + thickness)
    first = -hr_spacing / 2.0 + offset * leftover + thickness / 2.0
    return first + step * np.arange(count)


def slice_weights(
    profile: str,
    centres: np.ndarray,
    n_hr: int,
    hr_spacing: float,
    thickness: float,
    *,
    time_bandwidth: float = 4.0,
) -> np.ndarray:
    """Weight of each HR slice in each acquired slice: the profile integrated over the HR voxel.

    Row k holds ∫ over HR voxel j of p(z - c_k) dz divided by ∫ p over its support, so a slice whose
    profile lies inside the field of view sums to 1 (a homogeneous object keeps its intensity) and
    HR slices outside the grid count as empty. The box weights are the exact overlaps.

    Args:
        profile: one of :data:`SLICE_PROFILES`.
        centres: slice centres in mm from the centre of HR slice 0, (n_slices,).
        n_hr: number of HR slices.
        hr_spacing: HR slice spacing in mm.
        thickness: slice thickness (FWHM) in mm.
        time_bandwidth: time-bandwidth product of the RF pulse (``"rf"`` only).

    Returns:
        float32 array (n_slices, n_hr).

    Raises:
        ValueError: for an unknown profile or a non-positive thickness or time-bandwidth product.
    """
    profile = _check_profile(profile, thickness, time_bandwidth)
    half = _SUPPORT[profile] * thickness
    centres = np.asarray(centres, dtype=np.float64)[:, None]
    edges = (np.arange(n_hr + 1) - 0.5) * hr_spacing
    low = np.clip(edges[None, :-1] - centres, -half, half)
    high = np.clip(edges[None, 1:] - centres, -half, half)
    integral = _profile_integral(profile, np.stack([low, high]), thickness, time_bandwidth)
    total = 2.0 * float(_profile_integral(profile, np.array(half), thickness, time_bandwidth))
    return ((integral[1] - integral[0]) / total).astype(np.float32)
