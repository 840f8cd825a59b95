"""Parameters of the synthetic time-of-flight (TOF) MRA cohort: the grid, the vessel tree and the physics.

:class:`MRAConfig` holds what is fixed and the ranges drawn once per subject (uniformly unless a field says
otherwise); equal ends fix a parameter. :data:`MRA_GRIDS` names the fields of view; :meth:`MRAConfig.randomised`
is the broad training preset (:data:`MRA_RANDOMISED`), as :meth:`~cmb_kd.synth.config.SynthConfig.randomised` is
for the CMB cohort.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from cmb_kd.checks import as_option, as_probability, as_range
from cmb_kd.synth.kspace import KSPACE_WINDOWS

__all__ = ["MRAConfig", "MRA_GRIDS", "MRA_RANDOMISED", "MRA_VALUE_TYPES"]

#: Fields of view by name: ``(shape, spacing in mm, centre in subject mm)``. ``tubetk`` is the TubeTK grid
#: (448×448×128 at 0.5×0.5×0.8 mm: the whole head in-plane, a 102 mm slab from below the circle of Willis to the
#: upper cerebrum); ``small`` is a 64×64×51 mm box around the circle of Willis for tests and quick looks.
MRA_GRIDS: dict[str, tuple[tuple[int, int, int], tuple[float, float, float], tuple[float, float, float]]] = {
    "tubetk": ((448, 448, 128), (0.5, 0.5, 0.8), (0.0, -18.0, 10.0)),
    "small": ((128, 128, 64), (0.5, 0.5, 0.8), (0.0, -8.0, -14.0)),
}

#: What the stored intensities look like: a float image (scaled by the drawn intensity scale), or the integers a
#: scanner of that type writes (the maximum at a drawn fraction of the type's range, rounded); the NIfTI file itself
#: is always float32.
MRA_VALUE_TYPES: tuple[str, ...] = ("float32", "int16", "uint16", "uint8")

#: ``(low, high)`` bounds of every range field, checked by :meth:`MRAConfig.__post_init__`.
_RANGE_LIMITS: dict[str, tuple[float, float]] = {
    "scale_range": (0.5, 1.5),
    "radius_scale_range": (0.3, 3.0),
    "tortuosity_mm_range": (0.0, 10.0),
    "branch_density_range": (0.0, 1.0),
    "murray_share_range": (1e-4, 0.5),
    "branch_angle_range": (0.0, 150.0),
    "branch_length_range": (1.0, 300.0),
    "taper_range": (0.1, 1.0),
    "branch_tortuosity_range": (0.0, 2.0),
    "stop_radius_range": (0.05, 1.0),
    "repetition_time_range": (0.005, 0.1),
    "flip_angle_range": (1.0, 90.0),
    "mt_factor_range": (0.1, 1.0),
    "velocity_range": (10.0, 2000.0),
    "velocity_exponent_range": (0.0, 2.0),
    "snr_range": (1.0, 1e4),
    "bias_amplitude_range": (0.0, 0.95),
    "kspace_fraction_range": (0.3, 1.0),
    "scalp_fat_range": (0.0, 1.0),
    "intensity_scale_range": (1e-6, 1e6),
    "integer_fill_range": (0.01, 1.0),
}
#: Upper bounds of the fields that take one value in [0, bound].
_UPPER_LIMITS = {
    "rotation_degrees": 45.0,
    "translation_mm": 50.0,
    "artery_jitter_mm": 10.0,
    "t1_jitter": 0.5,
    "max_branch_radius": 5.0,
}
#: The fields that are probabilities.
_PROBABILITIES = (
    "pcomm_absent_probability",
    "acomm_absent_probability",
    "fetal_pca_probability",
    "ringing_probability",
)


@dataclass(frozen=True)
class MRAConfig:
    """Settings of the synthetic TOF MRA cohort (synthetic data, not clinical).

    Lengths are in mm, times in seconds, angles in degrees. Ranges are ``(min, max)`` drawn uniformly once per
    subject (the intensity scale log-uniformly); choices are tuples drawn uniformly.

    Args:
        shape: grid shape (X, Y, Z), RAS, slab axis last.
        spacing: voxel size (X, Y, Z) in mm.
        centre_mm: centre of the field of view in subject (MNI-like) mm; the head moves under it.
        rotation_degrees: largest head rotation about each axis.
        scale_range: isotropic head-size scaling (each axis also gets ±3 % anisotropy).
        translation_mm: largest head shift along each axis.
        artery_jitter_mm: standard deviation of the jitter of the named arteries' control points.
        radius_scale_range: factor on every named artery's radius (one per subject, ±10 % more per artery).
        tortuosity_mm_range: amplitude of the smooth sideways wander of the named arteries.
        pcomm_absent_probability: probability that a posterior communicating artery is missing (each side).
        acomm_absent_probability: probability that the anterior communicating artery is missing.
        fetal_pca_probability: probability of a fetal posterior cerebral artery (each side): a thin P1 and a
            posterior communicating artery as wide as P2.
        branch_density_range: branches grown per mm of a parent vessel (Poisson mean) of at most 1 mm mean radius;
            a thicker parent of mean radius r gets (1 mm / r)² times fewer.
        murray_share_range: share α of the parent's r³ a branch takes (Murray's law: r_branch = α^(1/3)·r_parent),
            drawn log-uniformly; a branch thinner than the stop radius is not grown.
        max_branch_radius: largest radius of a grown branch.
        branch_angle_range: angle between a branch and its parent.
        branch_length_range: length of a grown branch of 1 mm starting radius; one of radius r is √(r / 1 mm) times as
            long.
        taper_range: end radius over start radius of a grown branch (no branch gets thinner than its stop radius).
        branch_tortuosity_range: standard deviation of a grown branch's curvature, radians per mm (the curvature
            is a random process correlated over about 4 mm).
        stop_radius_range: no branch is thinner than this (drawn once per subject; sub-voxel).
        max_order: deepest branching order grown from the named arteries.
        field_strengths: B0 values in tesla (they set the T1 of blood and tissue); one is chosen per subject.
        repetition_time_range: TR of the spoiled gradient echo.
        flip_angle_range: flip angle.
        t1_jitter: relative per-subject jitter of every T1.
        mt_factor_range: magnetisation-transfer suppression of grey and white matter (1: none).
        velocity_range: mean blood velocity in an artery of 2 mm radius, mm/s.
        velocity_exponent_range: k of v = v_2mm·(r / 2 mm)^k (slower flow in thinner vessels).
        snr_range: white-matter SNR: the white-matter mean over the noise standard deviation.
        bias_amplitude_range: relative amplitude of the smooth receive bias field.
        ringing_probability: probability that the in-plane k-space is truncated (Gibbs ringing).
        kspace_fraction_range: fraction of the in-plane k-space kept when it is.
        kspace_windows: reconstruction windows (blur) from :data:`~cmb_kd.synth.kspace.KSPACE_WINDOWS`.
        scalp_fat_range: fat fraction of the scalp (fat is bright on TOF); 0: a dark scalp.
        intensity_scale_range: factor on the stored intensities of a float image (fresh blood is 1 before it),
            log-uniform.
        integer_fill_range: fraction of an integer value type's range that the image's maximum takes.
        value_types: stored value types from :data:`MRA_VALUE_TYPES`.
        label_fraction: a voxel is vessel when the vessels cover at least this fraction of it.
        label_centrelines: also label every voxel a vessel's centreline passes through (keeps sub-voxel
            vessels, which never cover half a voxel, in the label and connected).
        samples: sample points per voxel of the partial-volume rasteriser.
    """

    shape: tuple[int, int, int] = MRA_GRIDS["tubetk"][0]
    spacing: tuple[float, float, float] = MRA_GRIDS["tubetk"][1]
    centre_mm: tuple[float, float, float] = MRA_GRIDS["tubetk"][2]
    rotation_degrees: float = 6.0
    scale_range: tuple[float, float] = (0.92, 1.06)
    translation_mm: float = 4.0
    artery_jitter_mm: float = 1.5
    radius_scale_range: tuple[float, float] = (0.85, 1.15)
    tortuosity_mm_range: tuple[float, float] = (0.5, 2.0)
    pcomm_absent_probability: float = 0.2
    acomm_absent_probability: float = 0.05
    fetal_pca_probability: float = 0.1
    branch_density_range: tuple[float, float] = (0.05, 0.1)
    murray_share_range: tuple[float, float] = (0.005, 0.35)
    max_branch_radius: float = 0.8
    branch_angle_range: tuple[float, float] = (35.0, 85.0)
    branch_length_range: tuple[float, float] = (25.0, 60.0)
    taper_range: tuple[float, float] = (0.5, 0.85)
    branch_tortuosity_range: tuple[float, float] = (0.05, 0.2)
    stop_radius_range: tuple[float, float] = (0.15, 0.2)
    max_order: int = 6
    field_strengths: tuple[float, ...] = (1.5, 3.0)
    repetition_time_range: tuple[float, float] = (0.020, 0.035)
    flip_angle_range: tuple[float, float] = (15.0, 25.0)
    t1_jitter: float = 0.1
    mt_factor_range: tuple[float, float] = (0.7, 0.95)
    velocity_range: tuple[float, float] = (300.0, 600.0)
    velocity_exponent_range: tuple[float, float] = (0.3, 0.7)
    snr_range: tuple[float, float] = (10.0, 30.0)
    bias_amplitude_range: tuple[float, float] = (0.1, 0.3)
    ringing_probability: float = 0.3
    kspace_fraction_range: tuple[float, float] = (0.75, 0.95)
    kspace_windows: tuple[str, ...] = ("none", "none", "hamming", "fermi")
    scalp_fat_range: tuple[float, float] = (0.5, 0.9)
    intensity_scale_range: tuple[float, float] = (300.0, 3000.0)
    integer_fill_range: tuple[float, float] = (0.25, 1.0)
    value_types: tuple[str, ...] = ("float32", "int16", "uint16")
    label_fraction: float = 0.5
    label_centrelines: bool = True
    samples: int = 32

    @classmethod
    def small(cls, **overrides) -> MRAConfig:
        """The ``small`` grid of :data:`MRA_GRIDS` (a box around the circle of Willis): a subject in seconds."""
        shape, spacing, centre = MRA_GRIDS["small"]
        return cls(**{"shape": shape, "spacing": spacing, "centre_mm": centre, **overrides})

    @classmethod
    def randomised(cls, **overrides) -> MRAConfig:
        """The broad preset (:data:`MRA_RANDOMISED`): wider ranges of anatomy, tree, physics and storage.

        Args:
            **overrides: fields to set differently from the preset.

        Raises:
            TypeError: if an override is not a field of :class:`MRAConfig`.
            ValueError: if a value is invalid (the message names the field).
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise TypeError(f"MRAConfig.randomised: unknown fields {unknown}; expected fields of MRAConfig")
        return cls(**{**MRA_RANDOMISED, **overrides})

    def __post_init__(self) -> None:
        if len(self.shape) != 3 or any(int(n) != n or n < 8 for n in self.shape):
            raise ValueError(f"MRAConfig.shape: expected three integer sizes >= 8, got {self.shape}")
        if len(self.spacing) != 3 or not all(isinstance(s, (int, float)) and 0 < s <= 5 for s in self.spacing):
            raise ValueError(f"MRAConfig.spacing: expected three voxel sizes in (0, 5] mm, got {self.spacing}")
        if len(self.centre_mm) != 3 or not all(isinstance(c, (int, float)) and abs(c) <= 200 for c in self.centre_mm):
            raise ValueError(f"MRAConfig.centre_mm: expected three coordinates within ±200 mm, got {self.centre_mm}")
        for name, (low, high) in _RANGE_LIMITS.items():
            as_range(f"MRAConfig.{name}", getattr(self, name), low, high)
        for name, high in _UPPER_LIMITS.items():
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 <= value <= high:
                raise ValueError(f"MRAConfig.{name}: expected a value in [0, {high}], got {value!r}")
        for name in _PROBABILITIES:
            as_probability(f"MRAConfig.{name}", getattr(self, name))
        if not 0 < self.label_fraction <= 1:
            raise ValueError(f"MRAConfig.label_fraction: expected a value in (0, 1], got {self.label_fraction}")
        if not isinstance(self.label_centrelines, bool):
            raise ValueError(f"MRAConfig.label_centrelines: expected True or False, got {self.label_centrelines!r}")
        for name, high in (("max_order", 20), ("samples", 4096)):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or not 1 <= value <= high:
                raise ValueError(f"MRAConfig.{name}: expected an integer in [1, {high}], got {value!r}")
        if not self.field_strengths or any(not 0.1 <= b <= 11.7 for b in self.field_strengths):
            raise ValueError(f"MRAConfig.field_strengths: expected B0 values in 0.1-11.7 T, got {self.field_strengths}")
        self._check_choices("kspace_windows", KSPACE_WINDOWS)
        self._check_choices("value_types", MRA_VALUE_TYPES)
        if self.stop_radius_range[1] > self.max_branch_radius:
            raise ValueError(
                f"MRAConfig.stop_radius_range: expected at most max_branch_radius={self.max_branch_radius}, "
                f"got {self.stop_radius_range}"
            )

    def _check_choices(self, name: str, valid: tuple[str, ...]) -> None:
        values = getattr(self, name)
        if not isinstance(values, (tuple, list)) or not values:
            raise ValueError(f"MRAConfig.{name}: expected a non-empty tuple of names from {valid}, got {values!r}")
        for value in values:
            as_option(f"MRAConfig.{name}", value, valid)


#: Field values of :meth:`MRAConfig.randomised`, the broad training distribution (the rest keep their defaults).
MRA_RANDOMISED: dict[str, object] = {
    "rotation_degrees": 12.0,
    "scale_range": (0.85, 1.12),
    "translation_mm": 8.0,
    "artery_jitter_mm": 3.0,
    "radius_scale_range": (0.7, 1.3),
    "tortuosity_mm_range": (0.0, 4.0),
    "pcomm_absent_probability": 0.3,
    "acomm_absent_probability": 0.1,
    "fetal_pca_probability": 0.2,
    "branch_density_range": (0.03, 0.16),
    "branch_tortuosity_range": (0.02, 0.3),
    "stop_radius_range": (0.12, 0.25),
    "repetition_time_range": (0.015, 0.045),
    "flip_angle_range": (10.0, 35.0),
    "t1_jitter": 0.2,
    "mt_factor_range": (0.5, 1.0),
    "velocity_range": (200.0, 800.0),
    "velocity_exponent_range": (0.2, 1.0),
    "snr_range": (4.0, 50.0),
    "bias_amplitude_range": (0.0, 0.5),
    "ringing_probability": 0.5,
    "kspace_fraction_range": (0.6, 0.95),
    "scalp_fat_range": (0.0, 1.0),
    "intensity_scale_range": (0.01, 5000.0),
    "integer_fill_range": (0.3, 1.0),
    "value_types": ("float32", "int16", "uint16", "uint8"),
}
