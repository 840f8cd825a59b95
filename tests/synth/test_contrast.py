import numpy as np
import pytest

from cmb_kd.synth.contrast import CONTRAST_TISSUES, SUSCEPTIBILITY_TISSUES, randomise_contrast
from cmb_kd.synth.tissue import tissue_properties

TE = 0.02


def _signal(tissue) -> float:
    """Decay-only GRE signal of a tissue at TE."""
    return tissue.proton_density * np.exp(-tissue.r2star_30 * TE)


def _draws(n: int, independent: bool = True):
    literature = tissue_properties(3.0)
    rng = np.random.default_rng(0)
    return literature, [randomise_contrast(literature, rng, (0.33, 3.0), (0.25, 4.0), (0.33, 3.0), independent)[0]
                        for _ in range(n)]  # fmt: skip


def test_literature_order_is_csf_gm_wm():
    literature = tissue_properties(3.0)
    assert _signal(literature["csf"]) > _signal(literature["gm"]) > _signal(literature["wm"])


def test_independent_random_contrast_swaps_tissue_order_across_subjects():
    _, draws = _draws(60)
    gm_brighter = [_signal(t["gm"]) > _signal(t["wm"]) for t in draws]
    csf_brightest = [_signal(t["csf"]) > max(_signal(t["gm"]), _signal(t["wm"])) for t in draws]
    assert 0.2 < np.mean(gm_brighter) < 0.8  # grey matter above and below white matter
    assert 0.1 < np.mean(csf_brightest) < 0.9  # CSF not always the brightest either


def test_shared_factors_keep_the_order():
    literature, draws = _draws(30, independent=False)
    for tissues in draws:
        ratios = {name: tissues[name].proton_density / literature[name].proton_density for name in CONTRAST_TISSUES}
        assert np.allclose(list(ratios.values()), ratios["gm"])
        assert tissues["gm"].proton_density > tissues["wm"].proton_density
        assert tissues["gm"].r2star_30 < tissues["wm"].r2star_30


def test_factors_are_log_uniform_in_their_ranges_and_other_tissues_are_kept():
    literature, draws = _draws(400)
    pd = np.array([t["gm"].proton_density / literature["gm"].proton_density for t in draws])
    r2 = np.array([t["wm"].r2star_30 / literature["wm"].r2star_30 for t in draws])
    chi = np.array([t["vein"].susceptibility / literature["vein"].susceptibility for t in draws])
    assert pd.min() >= 0.33 and pd.max() <= 3.0 and r2.min() >= 0.25 and r2.max() <= 4.0
    assert chi.min() >= 0.33 and chi.max() <= 3.0
    assert np.mean(np.log(pd)) == pytest.approx(np.log(0.33 * 3.0) / 2, abs=0.12)  # log-uniform: centred in log
    for tissues in draws[:20]:
        assert tissues["skull"].susceptibility == literature["skull"].susceptibility  # not a brain tissue
        assert tissues["air"] == literature["air"] and tissues["cmb"] == literature["cmb"]
        assert set(SUSCEPTIBILITY_TISSUES) <= set(CONTRAST_TISSUES)


def test_rejects_bad_range():
    with pytest.raises(ValueError, match="randomise_contrast: r2star_factor_range: expected 0 < min <= max"):
        randomise_contrast(tissue_properties(3.0), np.random.default_rng(0), (0.5, 2.0), (0.0, 2.0), (0.5, 2.0))
