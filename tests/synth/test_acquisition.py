import numpy as np
import pytest

from cmb_kd.synth.acquisition import add_complex_noise, bias_field, thick_slice_affine, thick_slices


def test_thick_slice_is_complex_mean_of_covered_slices():
    rng = np.random.default_rng(1)
    hr = (rng.standard_normal((5, 6, 16)) + 1j * rng.standard_normal((5, 6, 16))).astype(np.complex64)
    lr = thick_slices(hr, 4)
    assert lr.shape == (5, 6, 4)
    for k in range(4):
        np.testing.assert_allclose(lr[:, :, k], hr[:, :, 4 * k : 4 * k + 4].mean(axis=2), rtol=1e-5, atol=1e-6)
    # magnitude of the mean is not the mean of magnitudes: dephasing across the slab is kept
    assert not np.allclose(np.abs(lr), thick_slices(np.abs(hr), 4))


@pytest.mark.parametrize("factor", [0, 3, 2.5])
def test_thick_slices_rejects_bad_factor(factor):
    with pytest.raises(ValueError, match="factor: expected a positive integer dividing the 16 slices"):
        thick_slices(np.zeros((2, 2, 16)), factor)


@pytest.mark.parametrize("factor", [2, 4, 8])
def test_thick_slice_affine_centres_slabs(factor):
    hr = np.diag([0.9, 0.9, 1.0, 1.0])
    hr[:3, 3] = [-10.0, 5.0, -40.0]
    lr = thick_slice_affine(hr, factor)
    # LR voxel k sits at the mean world position of the HR slices it covers
    for k in range(3):
        centre_hr = np.mean([hr @ [0, 0, k * factor + j, 1] for j in range(factor)], axis=0)
        np.testing.assert_allclose(lr @ [0, 0, k, 1], centre_hr)
    assert lr[2, 2] == pytest.approx(factor)


def test_bias_field_is_smooth_and_bounded():
    field = bias_field((32, 32, 16), np.random.default_rng(0), amplitude=0.25)
    assert field.min() >= 1 / 1.25 - 1e-5 and field.max() <= 1.25 + 1e-5
    assert np.abs(np.diff(field, axis=0)).max() < 0.05


def test_noise_magnitude_is_rician():
    sigma = 3.0
    noise_only = np.abs(add_complex_noise(np.zeros(200_000, np.complex64), sigma, np.random.default_rng(0)))
    assert noise_only.mean() == pytest.approx(sigma * np.sqrt(np.pi / 2), rel=0.01)  # Rayleigh mean
