"""One scanner drawn from a :class:`~cmb_kd.synth.scanner_config.ScannerConfig`: the parameters of one scan.

Drawing is separate from applying (:func:`~cmb_kd.synth.scanner.render_scan`), as in TorchIO, so that one draw
can be recorded and replayed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from monai.utils import look_up_option

from cmb_kd.synth.kspace import KSPACE_WINDOWS
from cmb_kd.synth.scanner_config import (
    FLOAT_DTYPES,
    INTENSITY_WARPS,
    LIMITS,
    PRESENTATIONS,
    STORAGE_DTYPES,
    ScannerConfig,
)
from cmb_kd.synth.slice_profile import SLICE_PROFILES

__all__ = ["ScannerDraw", "draw_scanner"]


def _check_value(name: str, value: float, limit: str) -> float:
    low, high = LIMITS[limit]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(f"ScannerDraw.{name}: expected a number in [{low}, {high}], got {value!r}")
    return float(value)


def _check_choice(name: str, value: str, valid: tuple[str, ...]) -> None:
    try:
        look_up_option(value, valid)
    except ValueError as err:
        raise ValueError(f"ScannerDraw.{name}: {err}".rstrip()) from err


@dataclass(frozen=True)
class ScannerDraw:
    """The acquisition and presentation of one rendered scan (drawn by :func:`draw_scanner`).

    Args:
        inplane_spacing: wanted in-plane pixel size in mm (the true one keeps the HR field of view).
        slice_thickness: slice thickness in mm (FWHM of the slice profile).
        slice_gap: gap between slices in mm.
        slice_offset: where the slice stack sits in the field of view it leaves uncovered, in [0, 1].
        slice_profile: ``"box"``, ``"gaussian"`` or ``"rf"``.
        rf_time_bandwidth: time-bandwidth product of the RF pulse (used by ``"rf"``).
        kspace_window: ``"none"``, ``"hamming"`` or ``"fermi"``.
        partial_fourier: fraction of the phase-encoding lines acquired (1: full k-space).
        phase_axis: in-plane phase-encoding axis (0 or 1).
        partial_fourier_side: +1 skips the highest positive lines, -1 the most negative ones.
        snr: white-matter SNR of the rendered magnitude.
        bias_amplitude: relative amplitude of the receive bias field.
        intensity_warp: ``"none"``, ``"gamma"`` or ``"piecewise"``.
        gamma: exponent of the ``"gamma"`` warp.
        warp_slopes: relative slopes of the equal segments of the ``"piecewise"`` warp.
        presentation: ``"whole_head"``, ``"skull_stripped_zero"`` or ``"skull_stripped_nan"``.
        strip_margin: signed margin of the stripping mask in mm (negative erodes).
        axis_permutation: stored axis order of the rendered (in-plane, in-plane, slice) axes.
        flips: whether each stored axis is reversed.
        dtype: storage data type.
        intensity_scale: global intensity factor (integer types take less if needed to fit their range).

    Raises:
        ValueError: naming the field, for a value out of range or unknown.
    """

    inplane_spacing: float
    slice_thickness: float
    slice_gap: float
    slice_offset: float
    slice_profile: str
    rf_time_bandwidth: float
    kspace_window: str
    partial_fourier: float
    phase_axis: int
    partial_fourier_side: int
    snr: float
    bias_amplitude: float
    intensity_warp: str
    gamma: float
    warp_slopes: tuple[float, ...]
    presentation: str
    strip_margin: float
    axis_permutation: tuple[int, int, int]
    flips: tuple[bool, bool, bool]
    dtype: str
    intensity_scale: float

    def __post_init__(self) -> None:
        for name, limit in (
            ("inplane_spacing", "inplane_spacing"),
            ("slice_thickness", "slice_thickness"),
            ("slice_gap", "slice_gap"),
            ("rf_time_bandwidth", "rf_time_bandwidth"),
            ("partial_fourier", "partial_fourier"),
            ("snr", "snr"),
            ("bias_amplitude", "bias_amplitude"),
            ("gamma", "gamma"),
            ("strip_margin", "strip_margin"),
            ("intensity_scale", "intensity_scale"),
        ):
            _check_value(name, getattr(self, name), limit)
        if isinstance(self.slice_offset, bool) or not 0.0 <= self.slice_offset <= 1.0:
            raise ValueError(f"ScannerDraw.slice_offset: expected a fraction in [0, 1], got {self.slice_offset!r}")
        _check_choice("slice_profile", self.slice_profile, SLICE_PROFILES)
        _check_choice("kspace_window", self.kspace_window, KSPACE_WINDOWS)
        _check_choice("intensity_warp", self.intensity_warp, INTENSITY_WARPS)
        _check_choice("presentation", self.presentation, PRESENTATIONS)
        _check_choice("dtype", self.dtype, STORAGE_DTYPES)
        if self.phase_axis not in (0, 1) or isinstance(self.phase_axis, bool):
            raise ValueError(f"ScannerDraw.phase_axis: expected 0 or 1, got {self.phase_axis!r}")
        if self.partial_fourier_side not in (-1, 1) or isinstance(self.partial_fourier_side, bool):
            raise ValueError(f"ScannerDraw.partial_fourier_side: expected -1 or 1, got {self.partial_fourier_side!r}")
        if not isinstance(self.warp_slopes, tuple) or not self.warp_slopes:
            raise ValueError(f"ScannerDraw.warp_slopes: expected a non-empty tuple of slopes, got {self.warp_slopes!r}")
        for slope in self.warp_slopes:
            _check_value("warp_slopes", slope, "warp_slope")
        if not isinstance(self.axis_permutation, tuple) or sorted(self.axis_permutation) != [0, 1, 2]:
            raise ValueError(
                f"ScannerDraw.axis_permutation: expected a permutation of (0, 1, 2), got {self.axis_permutation!r}"
            )
        if (
            not isinstance(self.flips, tuple)
            or len(self.flips) != 3
            or not all(isinstance(f, (bool, np.bool_)) for f in self.flips)
        ):
            raise ValueError(f"ScannerDraw.flips: expected a tuple of three booleans, got {self.flips!r}")
        if self.presentation == "skull_stripped_nan" and self.dtype not in FLOAT_DTYPES:
            raise ValueError(
                f"ScannerDraw.dtype: expected one of {FLOAT_DTYPES} for the 'skull_stripped_nan' presentation "
                f"(an integer image cannot hold NaN), got {self.dtype!r}"
            )

    def record(self) -> dict:
        """JSON-serialisable description of the draw (lengths in mm)."""
        return {
            "inplane_spacing_mm": round(self.inplane_spacing, 5),
            "slice_thickness_mm": round(self.slice_thickness, 5),
            "slice_gap_mm": round(self.slice_gap, 5),
            "slice_offset": round(self.slice_offset, 5),
            "slice_profile": self.slice_profile,
            "rf_time_bandwidth": round(self.rf_time_bandwidth, 5),
            "kspace_window": self.kspace_window,
            "partial_fourier": round(self.partial_fourier, 5),
            "phase_axis": int(self.phase_axis),
            "partial_fourier_side": int(self.partial_fourier_side),
            "snr": round(self.snr, 5),
            "bias_amplitude": round(self.bias_amplitude, 5),
            "intensity_warp": self.intensity_warp,
            "gamma": round(self.gamma, 5),
            "warp_slopes": [round(float(s), 5) for s in self.warp_slopes],
            "presentation": self.presentation,
            "strip_margin_mm": round(self.strip_margin, 5),
            "axis_permutation": [int(a) for a in self.axis_permutation],
            "flips": [bool(f) for f in self.flips],
            "dtype": self.dtype,
            "intensity_scale": float(f"{self.intensity_scale:.6g}"),
        }


def draw_scanner(config: ScannerConfig | None, rng: np.random.Generator) -> ScannerDraw:
    """Draws the acquisition and presentation of one scan; the same generator state gives the same draw.

    Every parameter is drawn in a fixed order whatever the earlier outcomes, so a change of one
    choice does not shift the others. A NaN background is stored in one of the config's float types.

    Args:
        config: the distributions (default :class:`ScannerConfig()`).
        rng: random generator.

    Returns:
        The drawn parameters.

    Raises:
        TypeError: if ``config`` is not a :class:`ScannerConfig` or ``rng`` not a ``numpy.random.Generator``.
    """
    config = ScannerConfig() if config is None else config
    if not isinstance(config, ScannerConfig):
        raise TypeError(f"config: expected a ScannerConfig, got {type(config).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")

    def choose(options):
        return options[int(rng.integers(len(options)))]

    inplane = float(rng.uniform(*config.inplane_spacing_range))
    thickness = float(rng.uniform(*config.slice_thickness_range))
    gap = float(rng.uniform(*config.slice_gap_range))
    offset = float(rng.uniform(0.0, 1.0))
    profile = choose(config.slice_profiles)
    tbw = float(rng.uniform(*config.rf_time_bandwidth_range))
    window = choose(config.kspace_windows)
    use_pf = bool(rng.random() < config.partial_fourier_probability)
    pf_fraction = float(rng.uniform(*config.partial_fourier_range))
    phase_axis = int(rng.integers(2))
    pf_side = 1 if rng.random() < 0.5 else -1
    snr = float(rng.uniform(*config.snr_range))
    bias = float(rng.uniform(*config.bias_amplitude_range))
    warp = choose(config.intensity_warps)
    gamma = float(rng.uniform(*config.gamma_range))
    low, high = np.log(config.warp_slope_range)
    slopes = tuple(float(s) for s in np.exp(rng.uniform(low, high, config.warp_segments)))
    presentation = choose(config.presentations)
    margin = float(rng.uniform(*config.strip_margin_range))
    permutation = tuple(int(a) for a in choose(config.axis_permutations))
    flips = tuple(bool(f) for f in rng.random(3) < config.flip_probability)
    dtypes = config.dtypes
    if presentation == "skull_stripped_nan":
        dtypes = tuple(d for d in dtypes if d in FLOAT_DTYPES)
    dtype = choose(dtypes)
    low, high = np.log(config.intensity_scale_range)
    scale = float(np.exp(rng.uniform(low, high)))
    return ScannerDraw(
        inplane_spacing=inplane,
        slice_thickness=thickness,
        slice_gap=gap,
        slice_offset=offset,
        slice_profile=profile,
        rf_time_bandwidth=tbw,
        kspace_window=window,
        partial_fourier=pf_fraction if use_pf else 1.0,
        phase_axis=phase_axis,
        partial_fourier_side=pf_side,
        snr=snr,
        bias_amplitude=bias,
        intensity_warp=warp,
        gamma=gamma,
        warp_slopes=slopes,
        presentation=presentation,
        strip_margin=margin,
        axis_permutation=permutation,
        flips=flips,
        dtype=dtype,
        intensity_scale=scale,
    )
