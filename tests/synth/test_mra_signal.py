import dataclasses

import numpy as np
import pytest

from cmb_kd.synth.mra_anatomy import MRAAnatomy
from cmb_kd.synth.mra_config import MRAConfig
from cmb_kd.synth.mra_signal import (
    acquire_tof,
    background_signal,
    blood_signal,
    draw_tof_physics,
    inflow_signals,
    tissue_signals,
)
from cmb_kd.synth.vessel_tree import VesselSegment, VesselTree


def _physics(seed=0, **overrides):
    physics = draw_tof_physics(np.random.default_rng(seed), MRAConfig())
    return dataclasses.replace(physics, **overrides)


def _anatomy(shape=(32, 32, 16)) -> MRAAnatomy:
    """White matter in the left half, grey matter in the right, a 2 mm step of distance outside along z."""
    wm = np.zeros(shape, np.float32)
    wm[: shape[0] // 2] = 1.0
    gm = 1.0 - wm
    outside = np.zeros(shape, np.float32)
    return MRAAnatomy(np.eye(4), gm, wm, np.zeros(shape, np.float32), np.ones(shape, np.float32), outside)


@pytest.mark.parametrize("seed", range(5))
def test_static_tissue_is_suppressed_and_fat_is_the_brightest_tissue(seed):
    physics = _physics(seed)
    level = tissue_signals(physics)
    assert max(level["gm"], level["wm"], level["csf"]) < 0.45  # fresh blood is 1
    assert level["fat"] > max(level["gm"], level["wm"], level["csf"], level["skin"])
    assert level["csf"] < level["gm"] < level["wm"]  # the longer T1, the more saturated
    no_transfer = tissue_signals(dataclasses.replace(physics, mt_factor=1.0))
    assert no_transfer["gm"] > level["gm"] and no_transfer["fat"] == level["fat"]


def test_blood_signal_fades_from_fresh_inflow_to_the_steady_state():
    physics = _physics(repetition_time_s=0.025, flip_angle_degrees=20.0)
    signal = blood_signal(np.array([0.0, 0.1, 0.5, 2.0, 100.0]), physics)
    assert signal[0] == pytest.approx(1.0) and np.all(np.diff(signal) < 0)
    e1 = np.exp(-0.025 / physics.t1_s["blood"])
    steady = (1 - e1) / (1 - np.cos(np.radians(20.0)) * e1)
    assert signal[-1] == pytest.approx(steady, rel=1e-6)


def test_inflow_decreases_with_path_length_and_faster_in_thin_vessels():
    tree = VesselTree()
    z = np.arange(0.0, 20.01, 0.5)
    tree.add(VesselSegment("root", np.stack([0 * z, 0 * z, z], 1), np.full(len(z), 2.0)))
    for radius in (1.0, 0.2):
        tree.add(VesselSegment("branch", np.stack([z, 0 * z, 0 * z + 10.0], 1), np.full(len(z), radius), 0, 20))
    times, signals = inflow_signals(tree, _physics(velocity_2mm=400.0, velocity_exponent=0.5))
    assert times[0][0] == 0.0 and times[0][-1] == pytest.approx(20.0 / 400.0)
    for i in (1, 2):
        assert times[i][0] == times[0][20] and signals[i][0] == signals[0][20]
        assert np.all(np.diff(times[i]) > 0) and np.all(np.diff(signals[i]) < 0)
    assert times[2][-1] - times[2][0] == pytest.approx(np.sqrt(5.0) * (times[1][-1] - times[1][0]))  # v ∝ √r


def test_background_wraps_the_brain_in_a_dark_rim_and_skull_and_a_bright_scalp():
    shape = (8, 8, 40)
    anatomy = _anatomy(shape)
    anatomy.brain[:] = 0.0
    anatomy.gm[:] = anatomy.wm[:] = 0.0
    anatomy.brain[:, :, :5] = anatomy.wm[:, :, :5] = 1.0
    anatomy.outside_distance[:] = np.maximum(np.arange(40) - 4.5, 0.0)[None, None, :]
    physics = _physics(csf_mm=2.0, skull_mm=5.0, scalp_mm=5.0, scalp_fat=1.0)
    level = tissue_signals(physics)
    profile = background_signal(anatomy, physics, 1.0)[0, 0]
    assert profile[0] == pytest.approx(level["wm"]) and profile[6] == pytest.approx(level["csf"])
    assert profile[11] == pytest.approx(0.0) and profile[16] == pytest.approx(level["fat"])  # skull, scalp
    assert profile[25] == 0.0  # air


@pytest.mark.parametrize("value_type", ["float32", "int16", "uint8"])
def test_acquisition_sets_the_noise_from_the_snr_and_stores_the_value_type(value_type):
    clean = np.full((64, 64, 16), 0.2, np.float32)
    physics = _physics(snr=20.0, bias_amplitude=0.0, kspace_fraction=1.0, kspace_window="none", value_type=value_type)
    image, record = acquire_tof(clean, _anatomy((64, 64, 16)), physics, np.random.default_rng(0))
    assert image.dtype == np.float32 and image.shape == clean.shape
    assert record["noise_sigma"] == pytest.approx(0.2 / 20.0)
    scale = record["intensity_scale_applied"]
    assert float(image.std() / scale) == pytest.approx(0.01, rel=0.1) and float(image.mean() / scale) == pytest.approx(
        0.2, rel=0.02
    )
    if value_type != "float32":
        np.testing.assert_array_equal(image, np.round(image))
        assert image.max() == pytest.approx(physics.integer_fill * {"int16": 32767, "uint8": 255}[value_type], abs=0.5)


def test_kspace_truncation_rings_at_an_edge():
    clean = np.zeros((64, 64, 4), np.float32)
    clean[20:44, 20:44] = 1.0
    physics = _physics(snr=1e4, bias_amplitude=0.0, kspace_fraction=0.5, kspace_window="none", value_type="float32")
    image, record = acquire_tof(clean, _anatomy((64, 64, 4)), physics, np.random.default_rng(1))
    image = image / record["intensity_scale_applied"]
    assert image[32, 32, 0] == pytest.approx(1.0, abs=0.15) and image.max() > 1.05  # Gibbs overshoot
    assert image[2, 2, 0] < 0.05 and image[20:44, 20:44].mean() == pytest.approx(1.0, abs=0.05)


def test_drawn_physics_stay_in_their_ranges_and_repeat_with_the_seed():
    config = MRAConfig()
    for seed in range(10):
        physics = _physics(seed)
        assert physics.field_strength_t in config.field_strengths and physics.value_type in config.value_types
        assert config.snr_range[0] <= physics.snr <= config.snr_range[1]
        assert config.intensity_scale_range[0] <= physics.intensity_scale <= config.intensity_scale_range[1]
        assert config.integer_fill_range[0] <= physics.integer_fill <= config.integer_fill_range[1]
        assert physics.kspace_fraction == 1.0 or config.kspace_fraction_range[0] <= physics.kspace_fraction
    assert _physics(3) == _physics(3) and _physics(3) != _physics(4)
    assert set(_physics(0).record()) >= {"repetition_time_s", "flip_angle_degrees", "t1_s", "value_type"}
