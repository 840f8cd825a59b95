import numpy as np
import pytest

from cmb_kd.synth.kspace import KSPACE_WINDOWS, apply_kspace_filter, kspace_filter, kspace_matrix, kspace_resample


def _random(shape, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)


@pytest.mark.parametrize(
    "size, spacing, target, expected",
    [(192, 1.0, 1.0, 192), (192, 1.0, 0.8, 240), (224, 1.0, 1.2, 187), (96, 2.0, 0.4, 480), (10, 1.0, 50.0, 1)],
)
def test_matrix_keeps_the_field_of_view(size, spacing, target, expected):
    assert kspace_matrix(size, spacing, target) == expected


@pytest.mark.parametrize("shape", [(16, 20), (15, 21, 3), (8, 8, 2, 2)])
def test_hr_matrix_without_filter_is_the_identity(shape):
    image = _random(shape)
    np.testing.assert_allclose(kspace_resample(image, shape[:2]), image, atol=1e-5)


@pytest.mark.parametrize("matrix", [(16, 20), (11, 13)])
def test_truncation_gives_the_matrix_and_a_band_limited_spectrum(matrix):
    image = _random((32, 40, 2))
    low = kspace_resample(image, matrix)
    assert low.shape == (*matrix, 2) and low.dtype == np.complex64
    # back on the HR matrix, nothing is left outside the sampled band
    spectrum = np.fft.fftshift(np.fft.fft2(kspace_resample(low, (32, 40)), axes=(0, 1)), axes=(0, 1))
    band = np.zeros((32, 40), bool)
    x0, y0 = 16 - matrix[0] // 2, 20 - matrix[1] // 2
    band[x0 : x0 + matrix[0], y0 : y0 + matrix[1]] = True
    assert np.abs(spectrum[~band]).max() < 1e-3 * np.abs(spectrum[band]).max()
    original = np.fft.fftshift(np.fft.fft2(image, axes=(0, 1)), axes=(0, 1))
    np.testing.assert_allclose(spectrum[band], original[band], rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("matrix", [(8, 10), (40, 50)])
@pytest.mark.parametrize("window", KSPACE_WINDOWS)
def test_homogeneous_intensity_is_kept(matrix, window):
    image = np.full((20, 25), 7.0 + 2.0j, np.complex64)
    out = kspace_resample(image, matrix, k_filter=kspace_filter(matrix, window))
    np.testing.assert_allclose(out, 7.0 + 2.0j, atol=1e-4)


def test_sharp_truncation_rings_and_a_window_damps_it():
    image = np.zeros((64, 8), np.complex64)
    image[16:48] = 1.0  # an edge along axis 0
    overshoot = {}
    for window in ("none", "hamming"):
        out = np.abs(kspace_resample(image, (32, 8), k_filter=kspace_filter((32, 8), window)))
        overshoot[window] = out.max() - 1.0
    assert overshoot["none"] > 0.05  # Gibbs ringing (about 9 %)
    assert overshoot["hamming"] < 0.02


@pytest.mark.parametrize("fraction, side, axis", [(0.625, 1, 1), (0.75, -1, 0), (0.875, 1, 0)])
def test_partial_fourier_zero_fills_one_side_of_the_phase_axis(fraction, side, axis):
    matrix = (32, 40)
    k_filter = kspace_filter(matrix, "none", partial_fourier=fraction, phase_axis=axis, partial_fourier_side=side)
    lines = k_filter.any(axis=1 - axis)
    n = matrix[axis]
    assert lines.sum() == round(fraction * n)
    assert k_filter[matrix[0] // 2, matrix[1] // 2] == 1.0  # the centre of k-space is acquired
    assert (lines[0] if side > 0 else lines[-1]) and not (lines[-1] if side > 0 else lines[0])
    image = _random((32, 40, 2))
    filtered = apply_kspace_filter(image, k_filter)
    assert filtered.shape == image.shape and not np.allclose(filtered, image)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: kspace_matrix(10, 0.0, 1.0), "spacing, target_spacing"),
        (lambda: kspace_filter((8, 8), "haming"), "window: By 'haming', did you mean 'hamming'"),
        (lambda: kspace_filter((8, 8), partial_fourier=0.4), "partial_fourier: expected"),
        (lambda: kspace_filter((8, 8), phase_axis=2), "phase_axis"),
        (lambda: kspace_filter((8, 8), partial_fourier_side=0), "partial_fourier_side"),
        (lambda: kspace_resample(np.zeros(4), (2, 2)), "two in-plane axes"),
        (lambda: kspace_resample(np.zeros((4, 4)), (0, 2)), "matrix: expected two positive"),
        (lambda: kspace_resample(np.zeros((4, 4)), (2, 2), k_filter=np.ones((4, 4))), "k_filter: expected the shape"),
    ],
)
def test_bad_arguments_name_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()
