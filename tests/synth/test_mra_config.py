import dataclasses
import json

import pytest

from cmb_kd.synth.mra_config import MRA_GRIDS, MRA_RANDOMISED, MRA_VALUE_TYPES, MRAConfig


def test_defaults_are_the_tubetk_grid_and_the_small_grid_is_a_box_around_the_circle_of_willis():
    config = MRAConfig()
    assert (config.shape, config.spacing) == ((448, 448, 128), (0.5, 0.5, 0.8))
    small = MRAConfig.small()
    assert (small.shape, small.spacing, small.centre_mm) == MRA_GRIDS["small"]
    assert MRAConfig.small(samples=8).samples == 8
    json.dumps(dataclasses.asdict(config))  # recorded in cohort.json


def test_randomised_preset_widens_the_ranges_and_takes_overrides():
    config = MRAConfig.randomised(shape=(64, 64, 32))
    assert config.shape == (64, 64, 32)
    for name, value in MRA_RANDOMISED.items():
        assert getattr(config, name) == value
    assert config.snr_range[0] < MRAConfig().snr_range[0] and set(config.value_types) == set(MRA_VALUE_TYPES)
    with pytest.raises(TypeError, match=r"unknown fields \['snr'\]"):
        MRAConfig.randomised(snr=3)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("shape", (448, 448), "MRAConfig.shape: expected three integer sizes"),
        ("spacing", (0.5, 0.0, 0.8), "MRAConfig.spacing: expected three voxel sizes"),
        ("centre_mm", (0.0, 0.0), "MRAConfig.centre_mm"),
        ("snr_range", (30.0, 10.0), r"MRAConfig.snr_range: expected \(min, max\)"),
        ("murray_share_range", (0.1, 0.9), "MRAConfig.murray_share_range"),
        ("stop_radius_range", (0.5, 0.9), "expected at most max_branch_radius"),
        ("pcomm_absent_probability", 1.5, "MRAConfig.pcomm_absent_probability: expected a probability"),
        ("rotation_degrees", -1.0, r"MRAConfig.rotation_degrees: expected a value in \[0, 45.0\]"),
        ("max_order", 0, r"MRAConfig.max_order: expected an integer in \[1, 20\]"),
        ("samples", 2.5, "MRAConfig.samples"),
        ("label_fraction", 0.0, "MRAConfig.label_fraction"),
        ("label_centrelines", "yes", "MRAConfig.label_centrelines: expected True or False"),
        ("field_strengths", (), "MRAConfig.field_strengths"),
        ("value_types", ("int32",), "MRAConfig.value_types"),
        ("kspace_windows", ("haming",), "hamming"),
    ],
)
def test_bad_values_name_the_field(field, value, message):
    with pytest.raises(ValueError, match=message):
        MRAConfig(**{field: value})
