import numpy as np
import pytest

from cmb_kd.synth.signal import GAMMA_BAR, block_mean, gre_signal, highpass_phase, swi


def test_no_field_gives_exponential_decay():
    pd = np.full((4, 4, 4), 0.8, np.float32)
    r2s = np.full((4, 4, 4), 20.0, np.float32)
    signal = gre_signal(pd, r2s, np.zeros((4, 4, 4), np.float32), echo_time=0.02)
    np.testing.assert_allclose(signal, 0.8 * np.exp(-20.0 * 0.02), rtol=1e-6)


def test_field_gradient_dephasing_matches_explicit_supersampling():
    """The sinc factor equals the complex average of many sub-voxel samples of a linear field."""
    te, grad = 0.02, 0.5  # µT per voxel along z: 2.7 rad across a voxel
    n, sub = 8, 64
    z_fine = (np.arange(n * sub) + 0.5) / sub - 0.5
    fine_phase = 2 * np.pi * GAMMA_BAR * te * grad * z_fine
    reference = np.exp(-1j * fine_phase).reshape(n, sub).mean(axis=1)
    field = np.broadcast_to(grad * np.arange(n, dtype=np.float32), (3, 3, n)).copy()
    signal = gre_signal(np.ones((3, 3, n), np.float32), np.zeros((3, 3, n), np.float32), field, te)
    np.testing.assert_allclose(signal[1, 1, 1:-1], reference[1:-1], atol=1e-4)
    assert np.abs(signal).max() < 0.9  # dephasing is really there


def test_block_mean():
    x = np.arange(64, dtype=np.float32).reshape(4, 4, 4)
    out = block_mean(x, (2, 2, 2))
    assert out.shape == (2, 2, 2)
    assert out[0, 0, 0] == pytest.approx(x[:2, :2, :2].mean())
    with pytest.raises(ValueError, match="must divide"):
        block_mean(x, (3, 1, 1))


def test_highpass_removes_smooth_background_keeps_local_phase():
    n = 64
    x, y = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    background = 0.05 * x + 0.03 * y  # a smooth (linear) background phase, radians
    local = np.zeros((n, n))
    local[30:34, 30:34] = 1.0
    signal = np.exp(1j * (background + local))[:, :, None].astype(np.complex64)
    phase = highpass_phase(signal, (4.0, 4.0))[:, :, 0]
    assert np.abs(phase[10:20, 10:20]).max() < 0.02
    assert phase[31, 31] > 0.5


def test_swi_masks_negative_phase_only():
    mag = np.full(4, 100.0, np.float32)
    phase = np.array([-np.pi / 2, 0.0, 0.5, -np.pi], np.float32)
    out = swi(mag, phase, power=4)
    np.testing.assert_allclose(out, [100 * 0.5**4, 100, 100, 0.0], atol=1e-4)
