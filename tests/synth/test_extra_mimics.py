import dataclasses

import numpy as np
import pytest
from scipy import ndimage

from cmb_kd.synth.config import SynthConfig
from cmb_kd.synth.extra_mimics import ExtraMimics, draw_extra_mimics, mix_thin_veins, thin_vein_maps
from cmb_kd.synth.head import head_layers
from cmb_kd.synth.signal import GAMMA_BAR
from cmb_kd.synth.tissue import Tissue, tissue_properties
from cmb_kd.synth.vessels import Vein

CONFIG = SynthConfig(shape=(32, 32, 32), spacing=2.0)


def _draw(anatomy, config, seed=3):
    layers = head_layers(anatomy.brain, 2.0, np.random.default_rng(0))
    inside = ndimage.distance_transform_edt(anatomy.brain >= 0.5, sampling=2.0).astype(np.float32)
    tissues = tissue_properties(3.0)
    return draw_extra_mimics(config, seed, anatomy, layers, inside, {}, [], tissues, 3.0, 0.02)  # no flow voids


@pytest.mark.parametrize("tilt", [0.0, 30.0])
def test_thin_vein_phase_is_the_field_inside_a_tilted_cylinder(tilt):
    angle = np.deg2rad(tilt)
    direction = np.array([np.sin(angle), 0.0, np.cos(angle)])
    points = np.array([10.0, 10.0, 10.0]) + np.linspace(-6.0, 6.0, 49)[:, None] * direction
    fraction, phase, records = thin_vein_maps([Vein("thin", points, 0.3)], (20, 20, 20), 1.0, 0.4, 3.0, 0.02)
    expected = 2.0 * np.pi * GAMMA_BAR * 0.02 * 0.4 * 3.0 * (3.0 * np.cos(angle) ** 2 - 1.0) / 6.0
    assert np.unique(phase[fraction > 0]) == pytest.approx([expected], rel=1e-6)
    assert not phase[fraction == 0].any()
    assert fraction.sum() == pytest.approx(np.pi * 0.3**2 * 12.0, rel=0.15)  # π r² L, rounded ends aside
    assert records[0]["tilt_degrees"] == pytest.approx(tilt, abs=0.01) and records[0]["length_mm"] == 12.0


def test_mixing_blood_into_a_voxel_follows_the_two_compartment_signal():
    shape = (4, 4, 4)
    pd, r2s = np.full(shape, 0.7, np.float32), np.full(shape, 20.0, np.float32)
    background = np.full(shape, 5.0 + 0j, np.complex64)
    thin_fraction, thin_phase = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    thin_fraction[1, 2, 3], thin_phase[1, 2, 3] = 0.25, 1.0
    blood = Tissue("vein", 0.85, 60.0, 60.0, 0.45)
    mix_thin_veins(background, pd, r2s, ExtraMimics(thin_fraction=thin_fraction, thin_phase=thin_phase), blood, 0.02)
    relative = 0.85 * np.exp(-60.0 * 0.02) / (0.7 * np.exp(-20.0 * 0.02))
    assert background[1, 2, 3] == pytest.approx(5.0 * (0.75 + 0.25 * relative * np.exp(-1j)), rel=1e-5)
    background[1, 2, 3] = 5.0
    np.testing.assert_array_equal(background, 5.0)  # no other voxel changes


def test_mixing_needs_the_thin_vein_maps():
    with pytest.raises(ValueError, match="extra: expected the maps of sub-voxel veins"):
        mix_thin_veins(np.zeros(2, np.complex64), np.ones(2), np.ones(2), ExtraMimics(), Tissue("v", 1, 1, 1, 0), 0.02)


def test_default_physics_draws_no_extra_mimic(toy_anatomy):
    assert _draw(toy_anatomy, CONFIG) == ExtraMimics()


def test_each_feature_draws_from_its_own_stream(toy_anatomy):
    veins = dataclasses.replace(CONFIG, thin_vein_count_range=(4, 4))
    both = dataclasses.replace(veins, sulcal_cleft_count_range=(2, 2))
    alone, together = _draw(toy_anatomy, veins), _draw(toy_anatomy, both)
    np.testing.assert_array_equal(alone.thin_fraction, together.thin_fraction)  # the clefts shift no vein
    assert alone.cleft is None and together.cleft is not None and together.cleft.max() > 0
    assert [r["type"] for r in together.records].count("thin_vein") == len(alone.records) > 0
    for record in alone.records:  # centred in brain tissue
        x, y, z = np.round(record["centre_voxel"]).astype(int)
        assert toy_anatomy.gm[x, y, z] + toy_anatomy.wm[x, y, z] > 0.5
    assert alone.thin_fraction.dtype == np.float32 and 0.0 <= alone.thin_fraction.min() < alone.thin_fraction.max() <= 1
    again = _draw(toy_anatomy, veins)
    np.testing.assert_array_equal(again.thin_phase, alone.thin_phase)
    other = _draw(toy_anatomy, veins, seed=4)
    assert not np.array_equal(other.thin_fraction, alone.thin_fraction)
