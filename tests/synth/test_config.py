import dataclasses

import pytest

from cmb_kd.synth import SynthConfig
from cmb_kd.synth.config import RANDOMISED


def test_defaults_are_valid():
    config = SynthConfig()
    assert config.shape[2] % 8 == 0 and config.lr_factors == (2, 4, 8)


def test_defaults_switch_every_physics_randomisation_off():
    assert not any(SynthConfig().physics_randomised.values())


def test_randomised_preset_switches_everything_on_and_takes_overrides():
    preset = SynthConfig.randomised()
    assert all(preset.physics_randomised.values())
    assert preset.echo_time_range == (0.010, 0.040) and preset.snr_range == (10.0, 60.0)
    assert preset.cmb_visible_diameter_range[1] == 10.0 and preset.cmb_tiny_diameter_range[0] == 1.0
    small = SynthConfig.randomised(shape=(96, 112, 88), spacing=2.0, thin_vein_count_range=(0, 0))
    assert small.shape == (96, 112, 88) and not small.physics_randomised["thin_vein"]
    assert small.contrast_mode == "random"
    for name, value in RANDOMISED.items():  # every preset value is a field, and a valid one
        assert getattr(preset, name) == value
    assert SynthConfig() == dataclasses.replace(preset, **{k: getattr(SynthConfig(), k) for k in RANDOMISED})


def test_randomised_rejects_unknown_override():
    with pytest.raises(TypeError, match="unknown fields \\['thin_veins'\\]"):
        SynthConfig.randomised(thin_veins=(1, 2))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"lr_factors": (3,)}, "LR factor 3 does not divide the 176 HR slices"),
        ({"lr_factors": (1,)}, "lr_factors: expected integers >= 2"),
        ({"lr_factors": ()}, "lr_factors: expected integers >= 2"),
        ({"shape": (10, 200, 200)}, "shape: expected three sizes >= 16"),
        ({"spacing": 0.0}, "spacing: expected a positive"),
        ({"field_strengths": (0.0,)}, "field_strengths: expected B0 values"),
        ({"echo_time_range": (0.03, 0.01)}, "echo_time_range: expected \\(min, max\\) with"),
        ({"cmb_p_zero": 1.5}, "cmb_p_zero: expected a probability"),
        ({"cmb_count_mean": 0.5}, "cmb_count_mean must lie in"),
        ({"cmb_location_weights": (0.0, 0.0, 0.0)}, "cmb_location_weights: expected three non-negative"),
        (
            {"calcification_susceptibility_range": (0.5, 1.0)},
            "calcification_susceptibility_range: expected negative values",
        ),
        ({"supersample": 0}, "supersample: expected a positive integer"),
        ({"label_threshold": 1.0}, "label_threshold: expected a value in"),
        ({"contrast_mode": "wild"}, "contrast_mode: expected one of \\('literature', 'random'\\), got 'wild'"),
        ({"pd_factor_range": (0.0, 2.0)}, "pd_factor_range: expected \\(min, max\\) with"),
        ({"r2star_factor_range": (3.0, 2.0)}, "r2star_factor_range: expected \\(min, max\\) with"),
        ({"susceptibility_factor_range": (0.5,)}, "susceptibility_factor_range: expected \\(min, max\\) with"),
        ({"contrast_independent": "yes"}, "contrast_independent: expected True or False"),
        ({"cmb_tiny_fraction": -0.1}, "cmb_tiny_fraction: expected a probability"),
        ({"cmb_tiny_diameter_range": (0.2, 2.0)}, "cmb_tiny_diameter_range: expected \\(min, max\\) with"),
        ({"cmb_tiny_susceptibility_range": (0.3, 0.1)}, "cmb_tiny_susceptibility_range: expected"),
        ({"cmb_juxtacortical_fraction": 2.0}, "cmb_juxtacortical_fraction: expected a probability"),
        ({"cmb_juxtacortical_depth_range": (1.0, 8.0)}, "cmb_juxtacortical_depth_range: expected"),
        ({"cmb_posterior_fossa_fraction": 1.5}, "cmb_posterior_fossa_fraction: expected a probability"),
        (
            {"cmb_juxtacortical_fraction": 0.6, "cmb_posterior_fossa_fraction": 0.6},
            "cmb_juxtacortical_fraction \\+ cmb_posterior_fossa_fraction: expected at most 1",
        ),
        ({"cmb_cluster_probability": 1.2}, "cmb_cluster_probability: expected a probability"),
        ({"cmb_cluster_members_range": (0, 2)}, "cmb_cluster_members_range must start at 1"),
        (
            {"cmb_cluster_members_range": (2, 1)},
            "cmb_cluster_members_range: expected \\(min, max\\) with 0 <= min <= max",
        ),
        ({"cmb_cluster_radius": 0.0}, "cmb_cluster_radius: expected a value in \\(0, 30\\] mm"),
        ({"cmb_cluster_diameter_range": (0.1, 3.0)}, "cmb_cluster_diameter_range: expected"),
        ({"cmb_cluster_gap": -1.0}, "cmb_cluster_gap: expected a value in \\[0, 10\\] mm"),
        ({"thin_vein_count_range": (5, 2)}, "thin_vein_count_range: expected \\(min, max\\) with 0 <= min"),
        ({"thin_vein_count_range": (1.5, 2)}, "thin_vein_count_range: expected integers"),
        ({"thin_vein_radius_range": (0.2, 2.0)}, "thin_vein_radius_range: expected"),
        ({"thin_vein_length_range": (0.5, 4.0)}, "thin_vein_length_range: expected"),
        ({"thin_vein_tilt_degrees": 120.0}, "thin_vein_tilt_degrees: expected a value in \\[0, 90\\] degrees"),
        ({"flow_void_count_range": (-1, 2)}, "flow_void_count_range: expected \\(min, max\\) with 0 <= min"),
        ({"flow_void_radius_range": (0.1, 2.0)}, "flow_void_radius_range: expected"),
        ({"sulcal_cleft_count_range": (3, 1)}, "sulcal_cleft_count_range: expected \\(min, max\\) with 0 <= min"),
        ({"sulcal_cleft_width_range": (0.0, 1.0)}, "sulcal_cleft_width_range: expected"),
        ({"sulcal_cleft_length_range": (4.0, 80.0)}, "sulcal_cleft_length_range: expected"),
        ({"air_pocket_count_range": (0, -1)}, "air_pocket_count_range: expected \\(min, max\\) with 0 <= min"),
        ({"air_pocket_diameter_range": (5.0, 60.0)}, "air_pocket_diameter_range: expected"),
        ({"air_susceptibility_scale_range": (0.0, 2.0)}, "air_susceptibility_scale_range: expected"),
    ],
)
def test_bad_values_name_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SynthConfig(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"echo_time_range": (0.010, 0.040)},
        {"snr_range": (10.0, 60.0)},
        {"field_strengths": (1.5, 3.0)},
        {"cmb_visible_diameter_range": (1.0, 10.0)},
    ],
)
def test_broad_acquisition_and_lesion_ranges_are_allowed(kwargs):
    SynthConfig(**kwargs)
