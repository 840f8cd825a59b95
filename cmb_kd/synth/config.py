"""Parameters of the synthetic cohort: what is fixed, what is drawn per subject and from which range."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from cmb_kd.checks import as_probability, as_range

__all__ = ["SynthConfig", "CONTRAST_MODES", "RANDOMISED"]

LOCATIONS = ("lobar", "deep", "infratentorial")
#: Valid values of :attr:`SynthConfig.contrast_mode`.
CONTRAST_MODES = ("literature", "random")


def _check_range(name: str, value: tuple[float, float], low: float, high: float) -> None:
    as_range(f"SynthConfig.{name}", value, low, high)


def _check_count_range(name: str, value: tuple[int, int]) -> None:
    as_range(f"SynthConfig.{name}", value, 0, math.inf)
    if any(int(v) != v for v in value):
        raise ValueError(f"SynthConfig.{name}: expected integers 0 <= min <= max, got {value!r}")


def _check_probability(name: str, value: float) -> None:
    as_probability(f"SynthConfig.{name}", value)


@dataclass(frozen=True)
class SynthConfig:
    """Settings of the physics-based synthetic CMB cohort.

    Ranges are ``(min, max)`` and are drawn uniformly once per subject, so a cohort spans the
    scanners and heads that users' data come from (domain randomisation). Setting both ends equal
    fixes a parameter. Susceptibilities are in ppm (SI), lengths in mm, times in seconds.

    The fields after ``swi_power`` randomise the physics beyond what scanners show (random contrast,
    lesions at the limit of visibility, near the surface, in the posterior fossa and in clusters, and
    more mimics). Their defaults switch every one of them off, and then a subject is the same, bit for
    bit, as without them. Each feature draws from its own random stream of the subject seed, so turning
    one on changes neither the other draws nor the other features. :meth:`randomised` turns them all on.

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
        contrast_mode: ``"literature"`` (the tabulated tissue values with ``tissue_jitter``) or ``"random"``
            (each tissue's proton density and R2* and each brain tissue's susceptibility also multiplied by a
            factor drawn log-uniformly in the ranges below, contrasts no scanner makes included).
        pd_factor_range: range of the proton-density factors of ``"random"`` contrast (dimensionless).
        r2star_factor_range: range of the R2* factors of ``"random"`` contrast (dimensionless).
        susceptibility_factor_range: range of the brain-tissue susceptibility factors of ``"random"`` contrast.
        contrast_independent: draw the ``"random"`` factors independently per tissue (grey matter, white matter
            and CSF can swap order); false: one factor per quantity for all tissues (the order is kept).
        cmb_tiny_fraction: probability that a CMB is tiny, at the limit of visibility (sizes below).
        cmb_tiny_diameter_range: target visible diameter of tiny CMBs, mm (drawn log-uniformly).
        cmb_tiny_susceptibility_range: susceptibility of tiny CMBs relative to the tissue, ppm.
        cmb_juxtacortical_fraction: probability that a CMB is juxtacortical: centred in cortical grey matter
            at a depth in ``cmb_juxtacortical_depth_range`` under the brain surface.
        cmb_juxtacortical_depth_range: distance of juxtacortical CMB centres from the brain surface, mm.
        cmb_posterior_fossa_fraction: probability that a CMB lies in the posterior fossa (cerebellum, cortex
            included, and brainstem, midbrain included), at least 1.5 mm under the surface.
        cmb_cluster_probability: probability that a CMB seeds a cluster of further CMBs around it.
        cmb_cluster_members_range: number of further CMBs of a cluster (inclusive).
        cmb_cluster_radius: largest distance of a cluster's CMB centres from the seed CMB's centre, mm.
        cmb_cluster_diameter_range: target visible diameter of the further CMBs of a cluster, mm.
        cmb_cluster_gap: gap kept between the expected visible extents of lesions near a cluster, mm (the
            smaller separation of clusters; a CMB whose label would still merge with another's is removed).
        thin_vein_count_range: number of sub-voxel veins running along the slice axis (dots on thick slices).
        thin_vein_radius_range: radius of the sub-voxel veins, mm.
        thin_vein_length_range: length of the sub-voxel veins, mm.
        thin_vein_tilt_degrees: largest angle between a sub-voxel vein and the slice axis, degrees.
        flow_void_count_range: number of large-vessel segments (circle of Willis, basilar and vertebral
            arteries, transverse and sigmoid sinuses) with a flow void (no signal).
        flow_void_radius_range: radius of the flow-void tubes, mm.
        sulcal_cleft_count_range: number of thin sulcal CSF clefts cut into the cortex (partial volume).
        sulcal_cleft_width_range: thickness of the clefts, mm.
        sulcal_cleft_length_range: extent of the clefts along the surface normal and along the surface, mm.
        air_pocket_count_range: number of extra air pockets next to the paranasal sinuses and mastoid cells.
        air_pocket_diameter_range: diameter of the air pockets, mm.
        air_susceptibility_scale_range: factor on the air-tissue susceptibility difference of the air spaces
            inside the head (sinuses, mastoid cells, pockets), which scales their background field.
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
    contrast_mode: str = "literature"
    pd_factor_range: tuple[float, float] = (0.33, 3.0)
    r2star_factor_range: tuple[float, float] = (0.25, 4.0)
    susceptibility_factor_range: tuple[float, float] = (0.33, 3.0)
    contrast_independent: bool = True
    cmb_tiny_fraction: float = 0.0
    cmb_tiny_diameter_range: tuple[float, float] = (1.0, 2.0)
    cmb_tiny_susceptibility_range: tuple[float, float] = (0.05, 0.3)
    cmb_juxtacortical_fraction: float = 0.0
    cmb_juxtacortical_depth_range: tuple[float, float] = (1.0, 3.0)
    cmb_posterior_fossa_fraction: float = 0.0
    cmb_cluster_probability: float = 0.0
    cmb_cluster_members_range: tuple[int, int] = (1, 3)
    cmb_cluster_radius: float = 8.0
    cmb_cluster_diameter_range: tuple[float, float] = (1.5, 4.0)
    cmb_cluster_gap: float = 2.0
    thin_vein_count_range: tuple[int, int] = (0, 0)
    thin_vein_radius_range: tuple[float, float] = (0.2, 0.5)
    thin_vein_length_range: tuple[float, float] = (4.0, 16.0)
    thin_vein_tilt_degrees: float = 20.0
    flow_void_count_range: tuple[int, int] = (0, 0)
    flow_void_radius_range: tuple[float, float] = (0.8, 2.0)
    sulcal_cleft_count_range: tuple[int, int] = (0, 0)
    sulcal_cleft_width_range: tuple[float, float] = (0.3, 1.5)
    sulcal_cleft_length_range: tuple[float, float] = (4.0, 12.0)
    air_pocket_count_range: tuple[int, int] = (0, 0)
    air_pocket_diameter_range: tuple[float, float] = (5.0, 20.0)
    air_susceptibility_scale_range: tuple[float, float] = (1.0, 1.0)
    locations: tuple[str, ...] = field(default=LOCATIONS, init=False)

    @classmethod
    def randomised(cls, **overrides) -> SynthConfig:
        """The broad preset: every randomisation of the physics switched on with wide ranges (:data:`RANDOMISED`).

        Args:
            **overrides: fields to set differently from the preset.

        Returns:
            The configuration.

        Raises:
            TypeError: if an override is not a field of :class:`SynthConfig`.
            ValueError: if a value is invalid (the message names the field).
        """
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise TypeError(f"SynthConfig.randomised: unknown fields {unknown}; expected fields of SynthConfig")
        return cls(**{**RANDOMISED, **overrides})

    @property
    def physics_randomised(self) -> dict[str, bool]:
        """Which randomisations of the physics are switched on, by feature name."""
        return {
            "contrast": self.contrast_mode == "random",
            "tiny": self.cmb_tiny_fraction > 0,
            "location": self.cmb_juxtacortical_fraction > 0 or self.cmb_posterior_fossa_fraction > 0,
            "cluster": self.cmb_cluster_probability > 0,
            "thin_vein": self.thin_vein_count_range[1] > 0,
            "flow_void": self.flow_void_count_range[1] > 0,
            "sulcal_cleft": self.sulcal_cleft_count_range[1] > 0,
            "air": self.air_pocket_count_range[1] > 0 or tuple(self.air_susceptibility_scale_range) != (1.0, 1.0),
        }

    def __post_init__(self) -> None:
        if len(self.shape) != 3 or any(int(n) < 16 for n in self.shape):
            raise ValueError(f"SynthConfig.shape: expected three sizes >= 16, got {self.shape}")
        if not self.spacing > 0:
            raise ValueError(f"SynthConfig.spacing: expected a positive size (mm), got {self.spacing}")
        if not self.lr_factors or any(int(f) != f or f < 2 for f in self.lr_factors):
            raise ValueError(f"SynthConfig.lr_factors: expected integers >= 2, got {self.lr_factors}")
        for f in self.lr_factors:
            if self.shape[2] % f:
                raise ValueError(
                    f"LR factor {f} does not divide the {self.shape[2]} HR slices of the grid {self.shape}: a thick "
                    f"slice must cover whole HR slices; use factors dividing {self.shape[2]} or change the shape"
                )
        if not self.field_strengths or any(not 0.1 <= b <= 11.7 for b in self.field_strengths):
            raise ValueError(
                f"SynthConfig.field_strengths: expected B0 values in 0.1-11.7 T, got {self.field_strengths}"
            )
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
                "SynthConfig.calcification_susceptibility_range: expected negative values (diamagnetic), "
                f"got {(low, high)}"
            )
        for name in ("calcification_count_range", "cortical_vein_count_range", "medullary_vein_count_range"):
            low, high = getattr(self, name)
            if not 0 <= low <= high:
                raise ValueError(f"SynthConfig.{name}: expected 0 <= min <= max, got {(low, high)}")
        if not 0 <= self.cmb_p_zero <= 1:
            raise ValueError(f"SynthConfig.cmb_p_zero: expected a probability in [0, 1], got {self.cmb_p_zero}")
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
                f"SynthConfig.cmb_location_weights: expected three non-negative weights (lobar, deep, infratentorial) "
                f"with a positive sum, got {self.cmb_location_weights}"
            )
        if not 0 <= self.bias_amplitude < 1:
            raise ValueError(f"SynthConfig.bias_amplitude: expected a value in [0, 1), got {self.bias_amplitude}")
        if not 0 <= self.tissue_jitter < 0.5:
            raise ValueError(f"SynthConfig.tissue_jitter: expected a value in [0, 0.5), got {self.tissue_jitter}")
        if int(self.supersample) != self.supersample or self.supersample < 1:
            raise ValueError(f"SynthConfig.supersample: expected a positive integer, got {self.supersample}")
        if not 0 < self.label_threshold < 1:
            raise ValueError(f"SynthConfig.label_threshold: expected a value in (0, 1), got {self.label_threshold}")
        self._check_randomised_physics()

    def _check_randomised_physics(self) -> None:
        if self.contrast_mode not in CONTRAST_MODES:
            raise ValueError(f"SynthConfig.contrast_mode: expected one of {CONTRAST_MODES}, got {self.contrast_mode!r}")
        for name in ("pd_factor_range", "r2star_factor_range", "susceptibility_factor_range"):
            _check_range(name, getattr(self, name), 0.01, 100.0)
        if not isinstance(self.contrast_independent, bool):
            raise ValueError(
                f"SynthConfig.contrast_independent: expected True or False, got {self.contrast_independent}"
            )
        for name in (
            "cmb_tiny_fraction",
            "cmb_juxtacortical_fraction",
            "cmb_posterior_fossa_fraction",
            "cmb_cluster_probability",
        ):
            _check_probability(name, getattr(self, name))
        if self.cmb_juxtacortical_fraction + self.cmb_posterior_fossa_fraction > 1.0:
            raise ValueError(
                "SynthConfig.cmb_juxtacortical_fraction + cmb_posterior_fossa_fraction: expected at most 1, got "
                f"{self.cmb_juxtacortical_fraction} + {self.cmb_posterior_fossa_fraction}"
            )
        _check_range("cmb_tiny_diameter_range", self.cmb_tiny_diameter_range, 0.5, 4.0)
        _check_range("cmb_tiny_susceptibility_range", self.cmb_tiny_susceptibility_range, 0.01, 20.0)
        _check_range("cmb_juxtacortical_depth_range", self.cmb_juxtacortical_depth_range, 0.0, 6.0)
        _check_range("cmb_cluster_diameter_range", self.cmb_cluster_diameter_range, 0.5, 12.0)
        if not 0 < self.cmb_cluster_radius <= 30.0:
            raise ValueError(
                f"SynthConfig.cmb_cluster_radius: expected a value in (0, 30] mm, got {self.cmb_cluster_radius}"
            )
        if not 0 <= self.cmb_cluster_gap <= 10.0:
            raise ValueError(f"SynthConfig.cmb_cluster_gap: expected a value in [0, 10] mm, got {self.cmb_cluster_gap}")
        for name in (
            "cmb_cluster_members_range",
            "thin_vein_count_range",
            "flow_void_count_range",
            "sulcal_cleft_count_range",
            "air_pocket_count_range",
        ):
            _check_count_range(name, getattr(self, name))
        if self.cmb_cluster_members_range[0] < 1:
            raise ValueError(
                f"SynthConfig.cmb_cluster_members_range must start at 1 or more, got {self.cmb_cluster_members_range}"
            )
        _check_range("thin_vein_radius_range", self.thin_vein_radius_range, 0.05, 1.0)
        _check_range("thin_vein_length_range", self.thin_vein_length_range, 1.0, 60.0)
        if not 0 <= self.thin_vein_tilt_degrees <= 90:
            raise ValueError(
                "SynthConfig.thin_vein_tilt_degrees: expected a value in [0, 90] degrees, "
                f"got {self.thin_vein_tilt_degrees}"
            )
        _check_range("flow_void_radius_range", self.flow_void_radius_range, 0.3, 5.0)
        _check_range("sulcal_cleft_width_range", self.sulcal_cleft_width_range, 0.05, 4.0)
        _check_range("sulcal_cleft_length_range", self.sulcal_cleft_length_range, 1.0, 40.0)
        _check_range("air_pocket_diameter_range", self.air_pocket_diameter_range, 1.0, 40.0)
        _check_range("air_susceptibility_scale_range", self.air_susceptibility_scale_range, 0.1, 10.0)


#: Field values of :meth:`SynthConfig.randomised`, the broad training distribution (the rest keep their defaults).
RANDOMISED: dict[str, object] = {
    "echo_time_range": (0.010, 0.040),
    "snr_range": (10.0, 60.0),
    "field_strengths": (1.5, 3.0),
    "cmb_visible_diameter_range": (2.0, 10.0),
    "cmb_susceptibility_range": (0.2, 1.6),
    "contrast_mode": "random",
    "pd_factor_range": (0.33, 3.0),
    "r2star_factor_range": (0.25, 4.0),
    "susceptibility_factor_range": (0.33, 3.0),
    "contrast_independent": True,
    "cmb_tiny_fraction": 0.25,
    "cmb_juxtacortical_fraction": 0.2,
    "cmb_posterior_fossa_fraction": 0.1,
    "cmb_cluster_probability": 0.15,
    "thin_vein_count_range": (20, 60),
    "flow_void_count_range": (1, 6),
    "sulcal_cleft_count_range": (10, 40),
    "air_pocket_count_range": (0, 4),
    "air_susceptibility_scale_range": (1.0, 3.0),
}
