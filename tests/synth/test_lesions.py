import numpy as np
import pytest

from cmb_kd.synth import SynthConfig, thick_slices
from cmb_kd.synth.labels import visible_extent
from cmb_kd.synth.lesions import (
    Lesion,
    draw_calcifications,
    draw_cmb,
    draw_cmb_count,
    draw_cmbs,
    lesion_signal_patch,
    source_radius,
)
from cmb_kd.synth.signal import gre_signal, highpass_phase

N = 40


def _simulate(susceptibility, b0, te, radius=0.8, pd=0.4, r2s=300.0, kind="cmb"):
    """One lesion in uniform white matter; returns (HR signal with lesion, darkening ratio, lesion)."""
    bg_pd = np.full((N, N, N), 0.69, np.float32)
    bg_r2s = np.full((N, N, N), 19.0, np.float32)
    bg_field = np.zeros((N, N, N), np.float32)
    lesion = Lesion(kind, "lobar", susceptibility, (radius,) * 3, np.eye(3), centre=np.array([19.6, 20.2, 19.9]))
    box, with_lesion, without = lesion_signal_patch(lesion, bg_pd, bg_r2s, bg_field, pd, r2s, b0, te, 1.0, 4)
    signal = gre_signal(bg_pd, bg_r2s, bg_field, te)
    clean = signal.copy()
    clean[box] += with_lesion - without
    ratio = np.abs(clean) / np.abs(signal)
    return clean, ratio, box, lesion


def _visible_diameter(susceptibility, b0, te, **kwargs):
    _, ratio, box, lesion = _simulate(susceptibility, b0, te, **kwargs)
    mask, _ = visible_extent(ratio, lesion.centre, box, 0.5)
    return (6.0 * mask.sum() / np.pi) ** (1.0 / 3.0)


def test_blooming_grows_with_echo_time():
    diameters = [_visible_diameter(1.0, 3.0, te) for te in (0.010, 0.020, 0.035)]
    assert diameters[0] < diameters[1] < diameters[2]
    assert diameters[2] > 1.5 * 2 * 0.8  # blooms well beyond the 1.6 mm source


def test_blooming_grows_with_field_strength():
    assert _visible_diameter(1.0, 1.5, 0.02) < _visible_diameter(1.0, 3.0, 0.02) < _visible_diameter(1.0, 7.0, 0.02)


def test_calcification_phase_has_opposite_sign_to_cmb():
    cmb, *_ = _simulate(+1.0, 3.0, 0.02, radius=1.2)
    calc, *_ = _simulate(-1.0, 3.0, 0.02, radius=1.2, pd=0.3, r2s=100.0, kind="calcification")
    centre = (20, 20, 20)
    phase_cmb = highpass_phase(cmb, (4.0, 4.0))[centre]
    phase_calc = highpass_phase(calc, (4.0, 4.0))[centre]
    assert phase_cmb < -0.1  # paramagnetic: negative (right-handed convention)
    assert phase_calc > 0.1


@pytest.mark.parametrize("b0, te", [(1.5, 0.015), (1.5, 0.03), (3.0, 0.015), (3.0, 0.03)])
def test_drawn_cmbs_have_visible_size_in_range(b0, te):
    """Source sizes solved from the target visible diameter give visible diameters inside 2-10 mm."""
    rng = np.random.default_rng(4)
    config = SynthConfig()
    for susceptibility, target in [(rng.uniform(0.4, 1.6), 3.0), (rng.uniform(0.4, 1.6), 9.0)]:
        radius = source_radius(target, susceptibility, b0, te, 1.0)
        diameter = _visible_diameter(susceptibility, b0, te, radius=radius)
        assert 2.0 <= diameter <= 10.0, (susceptibility, target, diameter)
        assert abs(diameter - target) < 0.45 * target
    assert config.cmb_visible_diameter_range == (3.0, 9.0)


def test_count_distribution_matches_configuration():
    rng = np.random.default_rng(0)
    counts = np.array([draw_cmb_count(rng, p_zero=0.2, mean=4.0, maximum=30) for _ in range(20000)])
    assert (counts == 0).mean() == pytest.approx(0.2, abs=0.012)
    nonzero = counts[counts > 0]
    assert nonzero.mean() == pytest.approx(4.0, abs=0.06)
    assert nonzero.var() == pytest.approx(3.0, rel=0.06)  # 1 + Poisson(3)
    capped = [draw_cmb_count(rng, 0.0, 6.0, 5) for _ in range(500)]
    assert max(capped) == 5 and min(capped) >= 1


def test_drawn_lesion_parameters_follow_configuration():
    config = SynthConfig(cmb_p_zero=0.0, cmb_count_mean=8.0, cmb_location_weights=(1.0, 0.0, 0.0))
    rng = np.random.default_rng(1)
    cmbs = [c for _ in range(100) for c in draw_cmbs(rng, config, 3.0, 0.02)]
    assert {c.location for c in cmbs} == {"lobar"}
    chis = np.array([c.susceptibility for c in cmbs])
    assert chis.min() >= 0.4 and chis.max() <= 1.6
    assert np.mean(chis) == pytest.approx(1.0, abs=0.05)  # uniform on [0.4, 1.6]
    targets = np.log([c.target_diameter for c in cmbs])
    assert np.mean(targets) == pytest.approx(np.log(3.0 * 9.0) / 2, abs=0.05)  # log-uniform on [3, 9]
    for c in cmbs[:50]:
        assert max(c.axes) / min(c.axes) <= 1.5 + 1e-6
        np.testing.assert_allclose(c.rotation @ c.rotation.T, np.eye(3), atol=1e-9)
    calcs = [c for _ in range(200) for c in draw_calcifications(rng, config)]
    assert all(c.susceptibility < 0 for c in calcs)
    assert {c.location for c in calcs} == {"basal_ganglia", "choroid_plexus"}


@pytest.mark.parametrize("b0, te", [(1.5, 0.010), (3.0, 0.040)])
def test_tiny_cmbs_darken_only_one_or_two_voxels_of_a_thick_slice(b0, te):
    """CMBs at the limit of visibility (visible 1-2 mm, weak) darken one or two voxels of a 4 mm slice, and do."""
    rng = np.random.default_rng(0)
    config = SynthConfig.randomised()
    for _ in range(3):
        lesion = draw_cmb(
            rng, "lobar", config.cmb_tiny_susceptibility_range, config.cmb_tiny_diameter_range, (1.0, 1.5), b0, te, 1.0
        )
        lesion.centre = np.array([19.6, 20.2, 17.9]) + rng.uniform(-0.5, 0.5, 3)
        bg_pd, bg_r2s = np.full((N, N, N), 0.69, np.float32), np.full((N, N, N), 19.0, np.float32)
        bg_field = np.zeros((N, N, N), np.float32)
        box, with_lesion, without = lesion_signal_patch(
            lesion, bg_pd, bg_r2s, bg_field, 0.4, 150.0 * b0 / 1.5, b0, te, 1.0, 8
        )
        signal = gre_signal(bg_pd, bg_r2s, bg_field, te)
        clean = signal.copy()
        clean[box] += with_lesion - without
        ratio = np.abs(thick_slices(clean, 4)) / np.abs(thick_slices(signal, 4))
        lbox = (box[0], box[1], slice(box[2].start // 4, -(-box[2].stop // 4)))
        centre = np.array([lesion.centre[0], lesion.centre[1], (lesion.centre[2] - 1.5) / 4])
        mask, _ = visible_extent(ratio, centre, lbox, 0.5)
        assert 1 <= mask.sum() <= 2
        assert ratio.min() < 0.95  # visible, just
        assert (ratio < 0.9).sum() <= 6  # and only in a voxel or few
