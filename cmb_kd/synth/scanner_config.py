"""Distributions of scanner acquisition and presentation that a simulated subject is rendered with.

:class:`ScannerConfig` holds the ranges and choices; its defaults are the broad training
distribution (domain randomisation, far wider than real scanners show). :data:`SCANNER_PRESETS`
names narrow, fixed domains used as held-out benchmark domains.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from cmb_kd.checks import as_option, as_probability, as_range
from cmb_kd.synth.kspace import KSPACE_WINDOWS
from cmb_kd.synth.slice_profile import SLICE_PROFILES

__all__ = [
    "PRESENTATIONS",
    "INTENSITY_WARPS",
    "STORAGE_DTYPES",
    "ScannerConfig",
    "SCANNER_PRESETS",
]

PRESENTATIONS: tuple[str, ...] = ("whole_head", "skull_stripped_zero", "skull_stripped_nan")
"""``whole_head``: the scan as acquired (skull, scalp, noisy air); ``skull_stripped_zero``: 0 outside the stripping
mask; ``skull_stripped_nan``: NaN outside it (as VALDO ships its scans)."""

INTENSITY_WARPS: tuple[str, ...] = ("none", "gamma", "piecewise")
"""Monotonic intensity curves applied to the magnitude: identity, a power law, a random piecewise-linear curve."""

STORAGE_DTYPES: tuple[str, ...] = ("float32", "float64", "int16", "uint16", "uint8")
"""Data types a rendered scan can be stored in; the integer ones are rescaled so as not to clip."""

#: Float storage types (the only ones that can hold a NaN background).
FLOAT_DTYPES = ("float32", "float64")

#: Physical bounds (inclusive) of every drawn scanner parameter, shared by the config and the draw.
LIMITS: dict[str, tuple[float, float]] = {
    "inplane_spacing": (0.1, 5.0),
    "slice_thickness": (0.2, 12.0),
    "slice_gap": (0.0, 10.0),
    "rf_time_bandwidth": (1.0, 16.0),
    "partial_fourier": (0.5, 1.0),
    "snr": (1.0, 1e4),
    "bias_amplitude": (0.0, 0.95),
    "gamma": (0.1, 10.0),
    "warp_slope": (0.05, 20.0),
    "strip_margin": (-10.0, 10.0),
    "intensity_scale": (1e-6, 1e6),
}

_ALL_PERMUTATIONS = tuple(itertools.permutations(range(3)))


def check_range(owner: str, name: str, value: tuple[float, float], limit: str) -> None:
    """Raises ValueError unless ``value`` is a ``(min, max)`` pair inside ``LIMITS[limit]``."""
    low, high = LIMITS[limit]
    if (
        not isinstance(value, (tuple, list))
        or len(value) != 2
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    ):
        raise ValueError(f"{owner}.{name}: expected (min, max) with {low} <= min <= max <= {high}, got {value!r}")
    as_range(f"{owner}.{name}", value, low, high)


def check_choices(owner: str, name: str, values: tuple[str, ...], valid: tuple[str, ...]) -> None:
    """Raises ValueError unless ``values`` is a non-empty tuple of names from ``valid`` (suggesting the closest)."""
    if not isinstance(values, (tuple, list)) or not values:
        raise ValueError(f"{owner}.{name}: expected a non-empty tuple of names from {valid}, got {values!r}")
    for value in values:
        as_option(f"{owner}.{name}", value, valid)


def check_probability(owner: str, name: str, value: float) -> None:
    """Raises ValueError unless ``value`` is a number in [0, 1]."""
    if not isinstance(value, (int, float)):
        raise ValueError(f"{owner}.{name}: expected a probability in [0, 1], got {value!r}")
    as_probability(f"{owner}.{name}", value)


@dataclass(frozen=True)
class ScannerConfig:
    """Distributions of the acquisition and presentation of a rendered scan.

    Ranges are ``(min, max)`` and drawn uniformly once per scan (the intensity scale log-uniformly);
    equal ends fix a parameter. Choices are tuples drawn uniformly; repeat a name to draw it more
    often. Lengths are in mm. The slice axis is the last HR axis (the scanner z axis).

    Args:
        inplane_spacing_range: in-plane pixel size in mm, the same along both in-plane axes; the
            matrix is the HR field of view over it (k-space truncation or zero-filling).
        slice_thickness_range: slice thickness in mm, the FWHM of the slice profile.
        slice_gap_range: gap between adjacent slices in mm (slice spacing = thickness + gap).
        slice_profiles: profiles from :data:`~cmb_kd.synth.slice_profile.SLICE_PROFILES`.
        rf_time_bandwidth_range: time-bandwidth product of the windowed-sinc RF pulse of the
            ``"rf"`` profile (dimensionless; larger is a sharper slice edge).
        kspace_windows: reconstruction windows from :data:`~cmb_kd.synth.kspace.KSPACE_WINDOWS`.
        partial_fourier_probability: probability that the phase-encoding direction is acquired with
            zero-filled partial Fourier.
        partial_fourier_range: fraction of the phase-encoding lines acquired when it is.
        snr_range: white-matter SNR of the rendered magnitude: white-matter mean over the standard
            deviation of the noise in the reconstructed image, on the rendered grid.
        bias_amplitude_range: relative amplitude of the smooth receive bias field drawn per scan
            (the field spans about [1/(1+a), 1+a]); it multiplies whatever bias the subject carries.
        intensity_warps: monotonic intensity curves from :data:`INTENSITY_WARPS`.
        gamma_range: exponent of the ``"gamma"`` curve (dimensionless).
        warp_segments: number of equal segments of the ``"piecewise"`` curve on [0, reference].
        warp_slope_range: relative slope of each ``"piecewise"`` segment, drawn log-uniformly.
        presentations: presentations from :data:`PRESENTATIONS`.
        strip_margin_range: signed margin in mm of the stripping mask around the true brain:
            negative erodes (stripping too tight), positive dilates (too loose).
        axis_permutations: orders in which the rendered (in-plane, in-plane, slice) axes are stored;
            the slice axis is the stored axis with the largest voxel size (recorded as ``slice_axis``).
        flip_probability: probability that each stored axis is reversed.
        dtypes: storage data types from :data:`STORAGE_DTYPES`; a NaN background is stored in one of
            the float types listed.
        intensity_scale_range: global factor applied to the stored intensities (log-uniform).

    Raises:
        ValueError: naming the field, for any value out of range or unknown.
    """

    inplane_spacing_range: tuple[float, float] = (0.4, 1.2)
    slice_thickness_range: tuple[float, float] = (2.0, 6.0)
    slice_gap_range: tuple[float, float] = (0.0, 1.0)
    slice_profiles: tuple[str, ...] = SLICE_PROFILES
    rf_time_bandwidth_range: tuple[float, float] = (2.0, 6.0)
    kspace_windows: tuple[str, ...] = KSPACE_WINDOWS
    partial_fourier_probability: float = 0.25
    partial_fourier_range: tuple[float, float] = (0.625, 0.875)
    snr_range: tuple[float, float] = (10.0, 60.0)
    bias_amplitude_range: tuple[float, float] = (0.0, 0.6)
    intensity_warps: tuple[str, ...] = INTENSITY_WARPS
    gamma_range: tuple[float, float] = (0.6, 1.6)
    warp_segments: int = 4
    warp_slope_range: tuple[float, float] = (0.5, 2.0)
    presentations: tuple[str, ...] = PRESENTATIONS
    strip_margin_range: tuple[float, float] = (-3.0, 3.0)
    axis_permutations: tuple[tuple[int, int, int], ...] = _ALL_PERMUTATIONS
    flip_probability: float = 0.5
    dtypes: tuple[str, ...] = ("float32", "int16", "uint8")
    intensity_scale_range: tuple[float, float] = (0.1, 1000.0)

    def __post_init__(self) -> None:
        owner = "ScannerConfig"
        for name, limit in (
            ("inplane_spacing_range", "inplane_spacing"),
            ("slice_thickness_range", "slice_thickness"),
            ("slice_gap_range", "slice_gap"),
            ("rf_time_bandwidth_range", "rf_time_bandwidth"),
            ("partial_fourier_range", "partial_fourier"),
            ("snr_range", "snr"),
            ("bias_amplitude_range", "bias_amplitude"),
            ("gamma_range", "gamma"),
            ("warp_slope_range", "warp_slope"),
            ("strip_margin_range", "strip_margin"),
            ("intensity_scale_range", "intensity_scale"),
        ):
            check_range(owner, name, getattr(self, name), limit)
        check_choices(owner, "slice_profiles", self.slice_profiles, SLICE_PROFILES)
        check_choices(owner, "kspace_windows", self.kspace_windows, KSPACE_WINDOWS)
        check_choices(owner, "intensity_warps", self.intensity_warps, INTENSITY_WARPS)
        check_choices(owner, "presentations", self.presentations, PRESENTATIONS)
        check_choices(owner, "dtypes", self.dtypes, STORAGE_DTYPES)
        check_probability(owner, "partial_fourier_probability", self.partial_fourier_probability)
        check_probability(owner, "flip_probability", self.flip_probability)
        if isinstance(self.warp_segments, bool) or not isinstance(self.warp_segments, int) or self.warp_segments < 1:
            raise ValueError(f"{owner}.warp_segments: expected a positive integer, got {self.warp_segments!r}")
        if not isinstance(self.axis_permutations, (tuple, list)) or not self.axis_permutations:
            raise ValueError(f"{owner}.axis_permutations: expected a non-empty tuple, got {self.axis_permutations!r}")
        for perm in self.axis_permutations:
            if not isinstance(perm, (tuple, list)) or sorted(perm) != [0, 1, 2]:
                raise ValueError(
                    f"{owner}.axis_permutations must hold permutations of (0, 1, 2), got {perm!r} "
                    f"in {self.axis_permutations!r}"
                )
        if "skull_stripped_nan" in self.presentations and not set(self.dtypes) & set(FLOAT_DTYPES):
            raise ValueError(
                f"{owner}.dtypes must include a float type {FLOAT_DTYPES} when presentations include "
                f"'skull_stripped_nan' (an integer image cannot hold NaN), got {self.dtypes}"
            )


#: The look of the current cohort: 1 mm in-plane, box slices 2-8 mm without gap, whole head, int16,
#: no extra bias (the subject carries its own), SNR of its thick slices (HR 15-40 times sqrt(factor)).
_DEFAULT_LIKE = {
    "inplane_spacing_range": (1.0, 1.0),
    "slice_thickness_range": (2.0, 8.0),
    "slice_gap_range": (0.0, 0.0),
    "slice_profiles": ("box",),
    "kspace_windows": ("none",),
    "partial_fourier_probability": 0.0,
    "snr_range": (20.0, 110.0),
    "bias_amplitude_range": (0.0, 0.0),
    "intensity_warps": ("none",),
    "presentations": ("whole_head",),
    "strip_margin_range": (0.0, 0.0),
    "axis_permutations": ((0, 1, 2),),
    "flip_probability": 0.0,
    "dtypes": ("int16",),
    "intensity_scale_range": (1.0, 1.0),
}

SCANNER_PRESETS: dict[str, ScannerConfig] = {
    "default_like": ScannerConfig(**_DEFAULT_LIKE),
    "skull_stripped_zero": ScannerConfig(**{**_DEFAULT_LIKE, "presentations": ("skull_stripped_zero",)}),
    "valdo_nan": ScannerConfig(**{**_DEFAULT_LIKE, "presentations": ("skull_stripped_nan",), "dtypes": ("float32",)}),
    "thin_inplane_thick_gapped": ScannerConfig(
        **{
            **_DEFAULT_LIKE,
            "inplane_spacing_range": (0.8, 0.9),
            "slice_thickness_range": (4.5, 5.0),
            "slice_gap_range": (0.5, 1.0),
        }
    ),
    "low_snr_strong_bias": ScannerConfig(
        **{**_DEFAULT_LIKE, "snr_range": (10.0, 12.0), "bias_amplitude_range": (0.55, 0.6)}
    ),
}
"""Held-out benchmark domains: ``default_like`` (the cohort's look) and, changing one thing from it each,
``skull_stripped_zero``, ``valdo_nan`` (float32 with a NaN background), ``thin_inplane_thick_gapped``
(0.8-0.9 mm in-plane, 4.5-5 mm slices, 0.5-1 mm gaps) and ``low_snr_strong_bias`` (SNR 10-12, bias 0.55-0.6)."""
