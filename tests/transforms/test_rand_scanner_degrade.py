"""Tests of RandScannerDegrade: a random thick-slice acquisition per sample of a batch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cmb_kd.transforms import DegradeResolution, RandScannerDegrade

QUIET = {"noise_prob": 0.0, "kspace_prob": 0.0}


def _seeded(factor=4, **kwargs) -> RandScannerDegrade:
    transform = RandScannerDegrade(factor, **kwargs)
    transform.set_random_state(0)
    return transform


def test_box_slices_of_the_factor_without_gap_are_degrade_resolution():
    x = torch.randn(3, 1, 16, 16, 32, generator=torch.Generator().manual_seed(0))
    for f in (2, 4, 8):
        transform = _seeded(f, thickness_range=(1.0, 1.0), gap_prob=0.0, profiles=("box",), **QUIET)
        assert torch.allclose(transform(x), DegradeResolution(f)(x), atol=1e-5)


@pytest.mark.parametrize("profile", ["box", "gaussian", "rf"])
def test_a_flat_image_stays_flat_through_any_slices_and_in_plane_filter(profile):
    x = torch.full((2, 1, 24, 20, 32), 1.5)
    transform = _seeded(4, profiles=(profile,), gap_prob=1.0, noise_prob=0.0, kspace_prob=1.0)
    out = transform(x, [-6.0, -4.0])
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.allclose(out, x, atol=1e-4)


def test_thicker_slices_blur_more_along_the_slice_axis_only():
    x = torch.zeros(1, 1, 8, 8, 48)
    x[..., 24] = 1.0  # a thin sheet across the slice axis

    def width(thickness: float) -> float:
        out = _seeded(4, thickness_range=(thickness, thickness), gap_prob=0.0, profiles=("box",), **QUIET)(x)
        profile = out[0, 0, 4, 4]
        assert torch.allclose(out[0, 0], profile.expand(8, 8, 48), atol=1e-6)  # in-plane untouched
        return float((profile > 0.5 * profile.max()).sum())

    assert width(0.75) < width(1.25)  # 3 voxels against 5: the drawn thickness is the acquired one


def test_a_patch_thinner_than_a_slice_becomes_one_slice():
    x = torch.randn(1, 1, 8, 8, 6, generator=torch.Generator().manual_seed(3))
    out = _seeded(8, thickness_range=(1.25, 1.25), **QUIET)(x)
    assert torch.allclose(out, out[..., :1].expand_as(out), atol=1e-5)  # one slice, repeated along the axis


def test_noise_has_the_drawn_snr_and_is_rician_at_the_zero():
    zero = -10.0
    x = torch.zeros(1, 1, 64, 64, 16)  # the brain median everywhere
    x[..., 8:] = zero  # a raw zero (air) in half of the slices
    out = _seeded(1, noise_prob=1.0, snr_range=(20.0, 20.0), kspace_prob=0.0)(x, [zero])
    sigma = -zero / 20.0
    brain, air = out[..., :8], out[..., 8:] - zero
    assert float(brain.std()) == pytest.approx(sigma, rel=0.05)
    assert float(brain.mean()) == pytest.approx(sigma**2 / (2 * -zero), abs=0.02)
    assert float(air.min()) >= 0.0  # a magnitude is never below the zero
    assert float(air.mean()) == pytest.approx(sigma * np.sqrt(np.pi / 2), rel=0.05)  # Rayleigh mean


def test_noise_without_a_zero_is_gaussian_in_brain_scales():
    x = torch.zeros(1, 1, 64, 64, 16)
    out = _seeded(1, noise_prob=1.0, snr_range=(10.0, 10.0), kspace_prob=0.0)(x)
    assert float(out.std()) == pytest.approx(0.1, rel=0.05) and float(out.min()) < 0.0


def test_kspace_truncation_removes_the_high_in_plane_frequencies():
    x = torch.randn(1, 1, 64, 64, 4, generator=torch.Generator().manual_seed(1))
    out = _seeded(1, kspace_prob=1.0, kspace_fraction_range=(0.5, 0.5), windows=("none",), noise_prob=0.0)(x, [-8.0])
    # magnitude of a real band-limited signal shifted by the zero: compare spectra of the interior
    spectrum_in = torch.fft.fft2(x[0, 0, 8:56, 8:56, 0]).abs()
    spectrum_out = torch.fft.fft2(out[0, 0, 8:56, 8:56, 0] - float(out.mean())).abs()
    freq = torch.fft.fftfreq(48).abs()
    high = (freq[:, None] > 0.35) | (freq[None, :] > 0.35)
    assert float(spectrum_out[high].pow(2).sum()) < 0.1 * float(spectrum_in[high].pow(2).sum())


def test_a_seed_reproduces_the_draws_and_samples_differ():
    x = torch.randn(2, 1, 16, 16, 32, generator=torch.Generator().manual_seed(2))
    first, second = _seeded(4)(x, [-5.0, -5.0]), _seeded(4)(x, [-5.0, -5.0])
    assert torch.equal(first, second)
    other = RandScannerDegrade(4)
    other.set_random_state(1)
    assert not torch.equal(other(x, [-5.0, -5.0]), first)


def test_factor_is_settable_as_the_curriculum_sets_it():
    transform = RandScannerDegrade(2)
    transform.factor = 8
    assert transform.factor == (1, 1, 8)
    with pytest.raises(ValueError, match="factor"):
        transform.factor = 0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"thickness_range": (1.5, 1.0)}, "thickness_range"),
        ({"gap_prob": 1.5}, "gap_prob"),
        ({"profiles": ("square",)}, "profiles"),
        ({"windows": ()}, "windows"),
        ({"kspace_fraction_range": (0.5, 1.2)}, "kspace_fraction_range"),
        ({"snr_range": (0.0, 10.0)}, "snr_range"),
    ],
)
def test_bad_settings_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RandScannerDegrade(4, **kwargs)


def test_bad_inputs_are_refused():
    transform = _seeded(4)
    with pytest.raises(ValueError, match="img"):
        transform(torch.zeros(1, 16, 16, 32))
    with pytest.raises(ValueError, match="zero_level"):
        transform(torch.zeros(2, 1, 16, 16, 32), [-5.0])
    with pytest.raises(ValueError, match="zero_level"):
        transform(torch.zeros(1, 1, 16, 16, 32), [5.0])
