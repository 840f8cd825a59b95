"""Parameters of the synthetic cohort: what is fixed, what is drawn per subject and from which range."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SynthConfig"]

LOCATIONS = ("lobar", "deep", "infratentorial")


def _check_range(name: str, value: tuple[float, float], low: float, high: float) -> None:
    if len(value) != 2 or not (low <= value[0] <= value[1] <= high):
        raise ValueError(
            f"SynthConfig.{name} must be a (min, max) pair with {low} <= min <= max <= {high}, got {value}"
        )


@dataclass(frozen=True)
class SynthConfig:
    """Settings of the physics-based synthetic CMB cohort.

    Ranges are ``(min, max)`` and are drawn uniformly once per subject, so a cohort spans the
    scanners and heads that users' data come from (domain randomisation). Setting both ends equal
    fixes a parameter. Susceptibilities are in ppm (SI), lengths in mm, times in seconds.

    Args:
        shape: HR grid shape (X, Y, Z), RAS, slice axis last. Z must be divisible by every LR factor.
        spacing: isotropic HR voxel size in mm.
        lr_factors: slice-thickness factors of the native thick-slice acquisitions.
        field_strengths: B0 values in tesla; one is chosen per subject.
        echo_time_range: GRE echo time range in seconds.
        snr_range: white-matter SNR of the HR magnitude (signal mean over noise standard deviation).
        bias_amplitude: maximum relative amplitude of the smooth receive bias field.
        cmb_p_zero: probability that a subject has no CMB.
        cmb_count_mean: mean CMB count of subjects that have at least one (1 + Poisson(mean - 1)).
        cmb_count_max: upper bound of the count (extra draws are dropped).
        cmb_location_weights: relative frequency of lobar, deep and infratentorial CMBs.
        cmb_visible_diameter_range: target visible diameter in mm, from which the source size is solved.
        cmb_susceptibility_range: CMB susceptibility relative to the surrounding tissue, ppm.
        cmb_aspect_range: ratio of the longest to the shortest ellipsoid axis.
        cmb_min_separation: minimum distance between CMB centres in mm (keeps labels one per CMB).
        calcification_count_range: number of calcifications per subject (inclusive).
        calcification_susceptibility_range: diamagnetic susceptibility of calcifications, ppm.
        calcification_diameter_range: source diameter of calcifications, mm.
        cortical_vein_count_range: number of sulcal (cortical) veins.
        medullary_vein_count_range: number of medullary veins.
        rotation_degrees: maximum head rotation about each axis.
        scale_range: isotropic head-size scaling.
        elastic_mm: standard deviation of the smooth elastic displacement in mm.
        tissue_jitter: relative per-subject jitter of tissue R2*, susceptibility and proton density.
        supersample: sub-voxels per axis used to integrate the complex signal around lesions.
        label_threshold: a voxel belongs to a lesion's visible extent when the lesion leaves at most
            this fraction of the lesion-free magnitude (0.5: half-contrast boundary).
        phase_filter_sigma: in-plane Gaussian width (mm) of the homodyne high-pass phase filter.
        swi_power: number of phase-mask multiplications of SWI.
    """

    shape: tuple[int, int, int] = (192, 224, 176)
    spacing: float = 1.0
    lr_factors: tuple[int, ...] = (2, 4, 8)
    field_strengths: tuple[float, ...] = (1.5, 3.0)
    echo_time_range: tuple[float, float] = (0.015, 0.030)
    snr_range: tuple[float, float] = (15.0, 40.0)
    bias_amplitude: float = 0.25
    cmb_p_zero: float = 0.15
    cmb_count_mean: float = 4.0
    cmb_count_max: int = 15
    cmb_location_weights: tuple[float, float, float] = (0.6, 0.25, 0.15)
    cmb_visible_diameter_range: tuple[float, float] = (3.0, 9.0)
    cmb_susceptibility_range: tuple[float, float] = (0.4, 1.6)
    cmb_aspect_range: tuple[float, float] = (1.0, 1.5)
    cmb_min_separation: float = 16.0
    calcification_count_range: tuple[int, int] = (0, 3)
    calcification_susceptibility_range: tuple[float, float] = (-1.6, -0.6)
    calcification_diameter_range: tuple[float, float] = (1.5, 4.0)
    cortical_vein_count_range: tuple[int, int] = (10, 18)
    medullary_vein_count_range: tuple[int, int] = (12, 24)
    rotation_degrees: float = 8.0
    scale_range: tuple[float, float] = (0.92, 1.06)
    elastic_mm: float = 2.0
    tissue_jitter: float = 0.1
    supersample: int = 4
    label_threshold: float = 0.5
    phase_filter_sigma: float = 4.0
    swi_power: int = 4
    locations: tuple[str, ...] = field(default=LOCATIONS, init=False)

    def __post_init__(self) -> None:
        if len(self.shape) != 3 or any(int(n) < 16 for n in self.shape):
            raise ValueError(f"SynthConfig.shape must be three sizes >= 16, got {self.shape}")
        if not self.spacing > 0:
            raise ValueError(f"SynthConfig.spacing must be positive (mm), got {self.spacing}")
        if not self.lr_factors or any(int(f) != f or f < 2 for f in self.lr_factors):
            raise ValueError(f"SynthConfig.lr_factors must be integers >= 2, got {self.lr_factors}")
        for f in self.lr_factors:
            if self.shape[2] % f:
                raise ValueError(
                    f"LR factor {f} does not divide the {self.shape[2]} HR slices of the grid {self.shape}: a thick "
                    f"slice must cover whole HR slices; use factors dividing {self.shape[2]} or change the shape"
                )
        if not self.field_strengths or any(not 0.1 <= b <= 11.7 for b in self.field_strengths):
            raise ValueError(f"SynthConfig.field_strengths must be B0 values in 0.1-11.7 T, got {self.field_strengths}")
        _check_range("echo_time_range", self.echo_time_range, 1e-3, 0.1)
        _check_range("snr_range", self.snr_range, 1.0, 1e4)
        _check_range("cmb_visible_diameter_range", self.cmb_visible_diameter_range, 1.0, 12.0)
        _check_range("cmb_susceptibility_range", self.cmb_susceptibility_range, 0.01, 20.0)
        _check_range("cmb_aspect_range", self.cmb_aspect_range, 1.0, 4.0)
        _check_range("calcification_diameter_range", self.calcification_diameter_range, 0.5, 12.0)
        _check_range("scale_range", self.scale_range, 0.5, 1.5)
        low, high = self.calcification_susceptibility_range
        if not -20.0 <= low <= high < 0:
            raise ValueError(
                f"SynthConfig.calcification_susceptibility_range must be negative (diamagnetic), got {(low, high)}"
            )
        for name in ("calcification_count_range", "cortical_vein_count_range", "medullary_vein_count_range"):
            low, high = getattr(self, name)
            if not 0 <= low <= high:
                raise ValueError(f"SynthConfig.{name} must be 0 <= min <= max, got {(low, high)}")
        if not 0 <= self.cmb_p_zero <= 1:
            raise ValueError(f"SynthConfig.cmb_p_zero must be a probability, got {self.cmb_p_zero}")
        if not 1 <= self.cmb_count_mean <= self.cmb_count_max:
            raise ValueError(
                f"SynthConfig.cmb_count_mean must lie in [1, cmb_count_max={self.cmb_count_max}], "
                f"got {self.cmb_count_mean}"
            )
        if (
            len(self.cmb_location_weights) != 3
            or min(self.cmb_location_weights) < 0
            or sum(self.cmb_location_weights) <= 0
        ):
            raise ValueError(
                f"SynthConfig.cmb_location_weights must be three non-negative weights (lobar, deep, infratentorial) "
                f"with a positive sum, got {self.cmb_location_weights}"
            )
        if not 0 <= self.bias_amplitude < 1:
            raise ValueError(f"SynthConfig.bias_amplitude must be in [0, 1), got {self.bias_amplitude}")
        if not 0 <= self.tissue_jitter < 0.5:
            raise ValueError(f"SynthConfig.tissue_jitter must be in [0, 0.5), got {self.tissue_jitter}")
        if int(self.supersample) != self.supersample or self.supersample < 1:
            raise ValueError(f"SynthConfig.supersample must be a positive integer, got {self.supersample}")
        if not 0 < self.label_threshold < 1:
            raise ValueError(f"SynthConfig.label_threshold must be in (0, 1), got {self.label_threshold}")
