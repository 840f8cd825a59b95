import pytest

from cmb_kd.synth import SynthConfig


def test_defaults_are_valid():
    config = SynthConfig()
    assert config.shape[2] % 8 == 0 and config.lr_factors == (2, 4, 8)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"lr_factors": (3,)}, "LR factor 3 does not divide the 176 HR slices"),
        ({"lr_factors": (1,)}, "lr_factors must be integers >= 2"),
        ({"lr_factors": ()}, "lr_factors must be integers >= 2"),
        ({"shape": (10, 200, 200)}, "shape must be three sizes >= 16"),
        ({"spacing": 0.0}, "spacing must be positive"),
        ({"field_strengths": (0.0,)}, "field_strengths must be B0 values"),
        ({"echo_time_range": (0.03, 0.01)}, "echo_time_range must be a \\(min, max\\) pair"),
        ({"cmb_p_zero": 1.5}, "cmb_p_zero must be a probability"),
        ({"cmb_count_mean": 0.5}, "cmb_count_mean must lie in"),
        ({"cmb_location_weights": (0.0, 0.0, 0.0)}, "cmb_location_weights must be three non-negative"),
        ({"calcification_susceptibility_range": (0.5, 1.0)}, "must be negative"),
        ({"supersample": 0}, "supersample must be a positive integer"),
        ({"label_threshold": 1.0}, "label_threshold must be in"),
    ],
)
def test_bad_values_name_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SynthConfig(**kwargs)
