import numpy as np
import pytest

from cmb_kd.synth.dipole import dipole_field, dipole_kernel


def _sphere(n: int, radius: float, sub: int = 4) -> np.ndarray:
    """Volume fraction of a sphere centred in an n³ grid (sub³ samples per voxel)."""
    offsets = (np.arange(sub) + 0.5) / sub - 0.5
    axis = (np.arange(n)[:, None] + offsets[None, :]).ravel() - (n - 1) / 2.0
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij", sparse=True)
    inside = (x**2 + y**2 + z**2 <= radius**2).astype(np.float32)
    return inside.reshape(n, sub, n, sub, n, sub).mean(axis=(1, 3, 5))


def test_kernel_values():
    kernel = dipole_kernel((8, 8, 8), (1.0, 1.0, 1.0))
    assert kernel.shape == (8, 8, 5)
    assert kernel[0, 0, 0] == 0.0
    assert kernel.min() >= -2.0 / 3.0 - 1e-6 and kernel.max() <= 1.0 / 3.0 + 1e-6
    assert kernel[0, 0, 1] == pytest.approx(-2.0 / 3.0)  # k along B0
    assert kernel[1, 0, 0] == pytest.approx(1.0 / 3.0)  # k perpendicular to B0


def test_sphere_matches_analytic_exterior_field():
    n, radius, chi, b0 = 80, 8.0, 1.0, 3.0
    field = dipole_field(_sphere(n, radius), spacing=1.0, b0=b0, pad=40) * chi
    c = (n - 1) / 2.0
    x, y, z = np.meshgrid(*[np.arange(n) - c] * 3, indexing="ij")
    r = np.sqrt(x**2 + y**2 + z**2)
    cos2 = np.divide(z**2, r**2, out=np.zeros_like(r), where=r > 0)
    analytic = chi / 3.0 * (radius / np.maximum(r, 1e-9)) ** 3 * (3.0 * cos2 - 1.0) * b0
    shell = (r >= 1.5 * radius) & (r <= 4.0 * radius)
    peak = np.abs(analytic[shell]).max()
    error = np.abs(field[shell] - analytic[shell])
    assert error.max() < 0.04 * peak
    assert np.corrcoef(field[shell], analytic[shell])[0, 1] > 0.999
    # inside a uniformly magnetised sphere the Lorentz-corrected field is zero
    assert np.abs(field[r < 0.5 * radius]).max() < 0.05 * peak


def test_field_is_linear_and_scales_with_b0():
    rng = np.random.default_rng(0)
    chi = rng.standard_normal((16, 16, 16)).astype(np.float32)
    np.testing.assert_allclose(
        dipole_field(chi, 1.0, b0=3.0), 2.0 * dipole_field(chi, 1.0, b0=1.5), rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(dipole_field(-chi, 1.0), -dipole_field(chi, 1.0), atol=1e-6)


@pytest.mark.parametrize(
    "chi, match",
    [(np.zeros((4, 4)), "3D susceptibility"), (np.full((4, 4, 4), np.nan), "NaN or Inf")],
)
def test_bad_input(chi, match):
    with pytest.raises(ValueError, match=match):
        dipole_field(chi, 1.0)
