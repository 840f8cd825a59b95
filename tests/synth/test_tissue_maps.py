import numpy as np
import pytest

from cmb_kd.synth.extra_mimics import ExtraMimics
from cmb_kd.synth.head import head_layers
from cmb_kd.synth.tissue import FLOW_VOID, TISSUES, tissue_properties
from cmb_kd.synth.tissue_maps import property_maps, tissue_fractions


@pytest.fixture(scope="module")
def layers(toy_anatomy):
    return head_layers(toy_anatomy.brain, 2.0, np.random.default_rng(0))


def test_brain_voxels_split_into_brain_tissues_and_veins(toy_anatomy, layers):
    vein = np.zeros(toy_anatomy.brain.shape, np.float32)
    vein[16, 16, 22:26] = 0.4
    fractions, sinus = tissue_fractions(toy_anatomy, layers, vein, ExtraMimics())
    assert set(fractions) == {"csf", "gm", "deep_gm", "wm", "skull", "scalp", "vein"}
    inside = toy_anatomy.brain == 1
    total = sum(fractions.values())
    np.testing.assert_allclose(total[inside], 1.0, atol=1e-6)
    np.testing.assert_allclose(fractions["wm"][16, 16, 22:24], 0.6, atol=1e-6)  # the vein takes its share
    assert fractions["deep_gm"][toy_anatomy.deep_region == 0].max() == 0.0
    np.testing.assert_array_equal(sinus, toy_anatomy.air * (layers.outside_distance > 2.0))


def test_clefts_turn_brain_into_csf_and_flow_voids_take_their_share(toy_anatomy, layers):
    shape = toy_anatomy.brain.shape
    vein = np.zeros(shape, np.float32)
    cleft, flow = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    cleft[16, 16, 25:28] = 0.5  # grey matter
    flow[16, 16, 14] = 0.25  # the CSF core
    plain, _ = tissue_fractions(toy_anatomy, layers, vein, ExtraMimics())
    fractions, _ = tissue_fractions(toy_anatomy, layers, vein, ExtraMimics(cleft=cleft, flow_void=flow))
    np.testing.assert_allclose(fractions["gm"][16, 16, 25:27], 0.5 * plain["gm"][16, 16, 25:27], atol=1e-6)
    np.testing.assert_allclose(fractions["csf"][16, 16, 25:27], 0.5, atol=1e-6)
    assert fractions["csf"][16, 16, 14] == pytest.approx(0.75)
    assert fractions["flow_void"][16, 16, 14] == pytest.approx(0.25)
    np.testing.assert_allclose(sum(fractions.values())[toy_anatomy.brain == 1], 1.0, atol=1e-6)
    assert plain["vein"] is vein and fractions["vein"] is not vein  # the caller's vein map stays as it was


def test_property_maps_weight_each_tissue_by_its_fraction(toy_anatomy):
    shape = toy_anatomy.brain.shape
    rng = np.random.default_rng(1)
    names = ("csf", "wm", "skull", "flow_void")
    fractions = {name: rng.random(shape).astype(np.float32) / 4 for name in names}
    sinus = np.zeros(shape, np.float32)
    tissues = tissue_properties(3.0)
    pd, r2s, chi = property_maps(toy_anatomy, fractions, sinus, tissues)
    table = {name: FLOW_VOID if name == "flow_void" else tissues[name] for name in names}
    expected_pd = sum(np.float64(fractions[n]) * table[n].proton_density for n in names)
    expected_chi = sum(
        np.float64(fractions[n]) * (table[n].susceptibility - TISSUES["air"].susceptibility) for n in names
    )
    expected_r2s = sum(np.float64(fractions[n]) * table[n].r2star_30 for n in names)
    np.testing.assert_allclose(pd, expected_pd, rtol=1e-5)
    np.testing.assert_allclose(chi, expected_chi, rtol=1e-5)
    outside = toy_anatomy.brain == 0  # the T1 texture of R2* stays inside the brain
    np.testing.assert_allclose(r2s[outside], expected_r2s[outside], rtol=1e-5)
    assert not np.allclose(r2s[~outside], expected_r2s[~outside], rtol=1e-3)
    assert pd.dtype == r2s.dtype == chi.dtype == np.float32


def test_air_scale_scales_the_air_tissue_contrast_of_the_sinuses(toy_anatomy):
    shape = toy_anatomy.brain.shape
    sinus = np.zeros(shape, np.float32)
    sinus[2, 2, 2] = 1.0
    tissues = tissue_properties(3.0)
    _, _, plain = property_maps(toy_anatomy, {}, sinus, tissues)
    _, _, scaled = property_maps(toy_anatomy, {}, sinus, tissues, air_scale=1.5)
    contrast = TISSUES["air"].susceptibility - TISSUES["csf"].susceptibility
    assert scaled[2, 2, 2] - plain[2, 2, 2] == pytest.approx(0.5 * contrast, rel=1e-6)
    assert np.count_nonzero(scaled - plain) == 1
