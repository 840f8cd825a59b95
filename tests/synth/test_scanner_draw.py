import dataclasses
import json

import numpy as np
import pytest

from cmb_kd.synth.scanner_config import FLOAT_DTYPES, SCANNER_PRESETS, ScannerConfig
from cmb_kd.synth.scanner_draw import ScannerDraw, draw_scanner

#: A valid draw whose fields the bad-value cases change one at a time.
BASE = dataclasses.replace(
    draw_scanner(ScannerConfig(), np.random.default_rng(0)), presentation="whole_head", dtype="float32"
)


def test_same_generator_state_gives_the_same_draw():
    first = draw_scanner(ScannerConfig(), np.random.default_rng(5))
    assert first == draw_scanner(ScannerConfig(), np.random.default_rng(5))
    assert first != draw_scanner(ScannerConfig(), np.random.default_rng(6))
    assert ScannerDraw(**{**vars(first)}) == first


def test_a_changed_choice_shifts_no_other_draw():
    """Every parameter is drawn whatever the earlier outcomes: other profiles leave the rest as drawn."""
    config = dataclasses.replace(ScannerConfig(), slice_profiles=("box", "gaussian", "rf"))
    reordered = dataclasses.replace(config, slice_profiles=("rf", "box", "gaussian"))
    renamed = {"box": "rf", "gaussian": "box", "rf": "gaussian"}
    for seed in range(10):
        a = draw_scanner(config, np.random.default_rng(seed))
        b = draw_scanner(reordered, np.random.default_rng(seed))
        assert dataclasses.replace(a, slice_profile=renamed[a.slice_profile]) == b


def test_nan_background_is_stored_as_a_float():
    config = dataclasses.replace(ScannerConfig(), presentations=("skull_stripped_nan",))
    assert all(draw_scanner(config, np.random.default_rng(i)).dtype in FLOAT_DTYPES for i in range(30))


def test_record_is_json_and_rounds_lengths():
    record = json.loads(json.dumps(BASE.record()))
    assert record["slice_thickness_mm"] == round(BASE.slice_thickness, 5)
    assert record["axis_permutation"] == list(BASE.axis_permutation) and len(record["flips"]) == 3


def test_bad_arguments_name_the_argument():
    with pytest.raises(TypeError, match="config: expected a ScannerConfig"):
        draw_scanner({"snr_range": (1, 2)}, np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng: expected a numpy.random.Generator, got int"):
        draw_scanner(None, 0)


def test_draws_follow_the_configured_distributions():
    config = ScannerConfig()
    draws = [draw_scanner(config, np.random.default_rng(i)) for i in range(300)]
    inplane = np.array([d.inplane_spacing for d in draws])
    assert inplane.min() >= 0.4 and inplane.max() <= 1.2
    assert all(2.0 <= d.slice_thickness <= 6.0 and 0.0 <= d.slice_gap <= 1.0 for d in draws)
    assert {d.slice_profile for d in draws} == {"box", "gaussian", "rf"}
    assert {d.presentation for d in draws} == {"whole_head", "skull_stripped_zero", "skull_stripped_nan"}
    assert all(d.dtype == "float32" for d in draws if d.presentation == "skull_stripped_nan")
    assert {d.dtype for d in draws} == {"float32", "int16", "uint8"}
    assert len({d.axis_permutation for d in draws}) == 6
    scales = np.log10([d.intensity_scale for d in draws])
    assert scales.min() >= -1 and scales.max() <= 3 and np.median(scales) == pytest.approx(1.0, abs=0.3)
    assert 0.15 < np.mean([d.partial_fourier < 1 for d in draws]) < 0.35
    for d in draws[:20]:
        json.dumps(d.record())
    fixed = draw_scanner(SCANNER_PRESETS["thin_inplane_thick_gapped"], np.random.default_rng(0))
    assert 0.8 <= fixed.inplane_spacing <= 0.9 and 4.5 <= fixed.slice_thickness <= 5.0 and fixed.slice_gap >= 0.5


@pytest.mark.parametrize(
    "change, match",
    [
        ({"inplane_spacing": 0.0}, r"ScannerDraw.inplane_spacing: expected a number in \[0.1, 5.0\]"),
        ({"slice_thickness": -1.0}, "ScannerDraw.slice_thickness"),
        ({"slice_offset": 1.5}, "ScannerDraw.slice_offset: expected a fraction"),
        ({"slice_profile": "sinc"}, "ScannerDraw.slice_profile: Unsupported option 'sinc'"),
        ({"kspace_window": "haming"}, "ScannerDraw.kspace_window: By 'haming', did you mean 'hamming'"),
        ({"partial_fourier": 0.2}, "ScannerDraw.partial_fourier"),
        ({"phase_axis": 2}, "ScannerDraw.phase_axis: expected 0 or 1"),
        ({"snr": 0.0}, "ScannerDraw.snr"),
        ({"warp_slopes": ()}, "ScannerDraw.warp_slopes: expected a non-empty tuple"),
        ({"axis_permutation": (0, 0, 1)}, "ScannerDraw.axis_permutation: expected a permutation"),
        ({"flips": (True, False)}, "ScannerDraw.flips: expected a tuple of three booleans"),
        ({"dtype": "int8"}, "ScannerDraw.dtype"),
        ({"presentation": "skull_stripped_nan", "dtype": "int16"}, "ScannerDraw.dtype: expected one of"),
    ],
)
def test_bad_draw_values_name_the_field(change, match):
    with pytest.raises(ValueError, match=match):
        dataclasses.replace(BASE, **change)
