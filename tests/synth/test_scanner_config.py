import dataclasses

import pytest

from cmb_kd.synth.scanner_config import PRESENTATIONS, SCANNER_PRESETS, ScannerConfig


def test_defaults_are_the_broad_training_distribution():
    config = ScannerConfig()
    assert config.inplane_spacing_range == (0.4, 1.2)
    assert config.slice_thickness_range == (2.0, 6.0)
    assert config.slice_gap_range == (0.0, 1.0)
    assert set(config.slice_profiles) == {"box", "gaussian", "rf"}
    assert config.snr_range == (10.0, 60.0) and config.bias_amplitude_range == (0.0, 0.6)
    assert config.gamma_range == (0.6, 1.6) and config.strip_margin_range == (-3.0, 3.0)
    assert set(config.presentations) == set(PRESENTATIONS)
    assert len(config.axis_permutations) == 6
    assert config.intensity_scale_range == (0.1, 1000.0)


def test_presets_are_narrow_named_domains():
    assert {
        "default_like",
        "skull_stripped_zero",
        "valdo_nan",
        "thin_inplane_thick_gapped",
        "low_snr_strong_bias",
    } <= set(SCANNER_PRESETS)
    default = SCANNER_PRESETS["default_like"]
    assert default.inplane_spacing_range == (1.0, 1.0) and default.slice_profiles == ("box",)
    assert default.presentations == ("whole_head",) and default.slice_gap_range == (0.0, 0.0)
    assert SCANNER_PRESETS["skull_stripped_zero"].presentations == ("skull_stripped_zero",)
    valdo = SCANNER_PRESETS["valdo_nan"]
    assert valdo.presentations == ("skull_stripped_nan",) and valdo.dtypes == ("float32",)
    thin = SCANNER_PRESETS["thin_inplane_thick_gapped"]
    assert 0.8 <= thin.inplane_spacing_range[0] <= thin.inplane_spacing_range[1] <= 0.9
    assert 4.5 <= thin.slice_thickness_range[0] <= thin.slice_thickness_range[1] <= 5.0
    assert thin.slice_gap_range[0] > 0
    low = SCANNER_PRESETS["low_snr_strong_bias"]
    assert low.snr_range[1] <= 12.0 and low.bias_amplitude_range[0] >= 0.5
    for name, preset in SCANNER_PRESETS.items():  # each preset changes one thing from default_like
        changed = {
            f.name for f in dataclasses.fields(ScannerConfig) if getattr(preset, f.name) != getattr(default, f.name)
        }
        assert len(changed) <= 3, (name, changed)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"inplane_spacing_range": (1.2, 0.4)}, r"ScannerConfig.inplane_spacing_range: expected \(min, max\) with"),
        ({"inplane_spacing_range": (0.0, 1.0)}, "inplane_spacing_range: expected"),
        ({"slice_thickness_range": (2.0, 20.0)}, "slice_thickness_range: expected"),
        ({"slice_gap_range": (-1.0, 1.0)}, "slice_gap_range: expected"),
        ({"snr_range": (10.0,)}, "snr_range: expected"),
        ({"bias_amplitude_range": (0.0, 1.5)}, "bias_amplitude_range: expected"),
        ({"gamma_range": ("a", 1.0)}, "gamma_range: expected"),
        ({"partial_fourier_range": (0.3, 0.9)}, "partial_fourier_range: expected"),
        ({"strip_margin_range": (-20.0, 0.0)}, "strip_margin_range: expected"),
        ({"intensity_scale_range": (0.0, 10.0)}, "intensity_scale_range: expected"),
        ({"slice_profiles": ("box", "sinc")}, "ScannerConfig.slice_profiles: Unsupported option 'sinc'"),
        ({"slice_profiles": ()}, "slice_profiles: expected a non-empty tuple"),
        ({"kspace_windows": ("haming",)}, "ScannerConfig.kspace_windows: By 'haming', did you mean 'hamming'"),
        ({"intensity_warps": ("log",)}, "ScannerConfig.intensity_warps"),
        ({"presentations": ("skull_stripped",)}, "ScannerConfig.presentations"),
        ({"dtypes": ("int8",)}, "ScannerConfig.dtypes"),
        ({"partial_fourier_probability": 1.5}, "partial_fourier_probability: expected a probability"),
        ({"flip_probability": -0.1}, "flip_probability: expected a probability"),
        ({"warp_segments": 0}, "warp_segments: expected a positive integer"),
        ({"axis_permutations": ((0, 1, 1),)}, r"axis_permutations must hold permutations of \(0, 1, 2\)"),
        ({"axis_permutations": ()}, "axis_permutations: expected a non-empty tuple"),
        ({"presentations": ("skull_stripped_nan",), "dtypes": ("int16",)}, "dtypes must include a float type"),
    ],
)
def test_bad_values_name_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ScannerConfig(**kwargs)
