import dataclasses

import numpy as np
import pytest

from cmb_kd.synth.config import SynthConfig
from cmb_kd.synth.extra_mimics import ExtraMimics
from cmb_kd.synth.head import head_layers
from cmb_kd.synth.lesions import Lesion
from cmb_kd.synth.subject_signal import INTENSITY_SCALE, NoiseFreeSignals, noise_free_signals
from cmb_kd.synth.tissue import tissue_properties

CONFIG = SynthConfig(shape=(32, 32, 32), spacing=2.0, supersample=2)


def _cmb(centre):
    return Lesion("cmb", "deep", 1.0, (1.2, 1.0, 0.9), np.eye(3), centre=np.asarray(centre, float))


def _signals(anatomy, placed, config=CONFIG, seed=0):
    layers = head_layers(anatomy.brain, 2.0, np.random.default_rng(0))
    vein = np.zeros(anatomy.brain.shape, np.float32)
    tissues = tissue_properties(3.0)
    rng = np.random.default_rng(seed)
    return noise_free_signals(rng, config, anatomy, layers, vein, ExtraMimics(), placed, tissues, 3.0, 0.02)


@pytest.fixture(scope="module")
def plain(toy_anatomy):
    return _signals(toy_anatomy, [])


def test_without_lesions_both_signals_are_the_same(plain):
    assert plain.clean.dtype == plain.background.dtype == np.complex64
    np.testing.assert_array_equal(plain.clean, plain.background)
    assert plain.boxes == [] and plain.deltas == []


def test_the_field_only_dephases_the_decayed_signal(plain, toy_anatomy):
    """|signal| <= ρ·e^(−R2*·TE) · bias · scale, with equality far from any field gradient."""
    expected = plain.decay_only * plain.bias * np.float32(INTENSITY_SCALE)
    assert np.all(np.abs(plain.background) <= expected * (1 + 1e-4) + 1e-3)
    assert 0.7 < plain.bias.min() <= plain.bias.max() < 1.3
    wm = toy_anatomy.wm > 0.9
    ratio = np.abs(plain.background[wm]) / expected[wm]
    assert np.median(ratio) > 0.9


def test_same_generator_gives_the_same_bias(plain, toy_anatomy):
    np.testing.assert_array_equal(_signals(toy_anatomy, []).bias, plain.bias)
    assert not np.array_equal(_signals(toy_anatomy, [], seed=1).bias, plain.bias)


def test_a_lesion_darkens_its_box_and_can_be_taken_out(toy_anatomy, plain):
    config = dataclasses.replace(CONFIG, cmb_cluster_probability=0.5)  # clusters keep the lesion differences
    signals = _signals(toy_anatomy, [_cmb((13.0, 16.0, 16.0)), _cmb((19.0, 16.0, 16.0))], config)
    assert len(signals.boxes) == len(signals.deltas) == 2
    changed = signals.clean != signals.background
    inside = np.zeros(changed.shape, bool)
    for box in signals.boxes:
        inside[box] = True
    assert changed.any() and not (changed & ~inside).any()
    assert abs(signals.clean[13, 16, 16]) < 0.5 * abs(signals.background[13, 16, 16])
    np.testing.assert_array_equal(signals.background, plain.background)
    signals.take_out({0})
    assert len(signals.boxes) == len(signals.deltas) == 1
    assert abs(signals.clean[13, 16, 16] - signals.background[13, 16, 16]) < 1e-3 * abs(signals.background[13, 16, 16])
    assert abs(signals.clean[19, 16, 16]) < 0.5 * abs(signals.background[19, 16, 16])


def test_take_out_needs_the_kept_differences(plain):
    signals = dataclasses.replace(plain, clean=plain.clean.copy(), boxes=[(slice(0, 1),) * 3])
    with pytest.raises(ValueError, match="deltas: 0 lesion differences kept for 1 lesions"):
        signals.take_out({0})
    full = NoiseFreeSignals(plain.clean.copy(), plain.background, plain.decay_only, plain.bias, [], [])
    with pytest.raises(ValueError, match=r"drop: expected lesion indices in \[0, 0\), got \[3\]"):
        full.take_out({3})
