"""Tests of the dipole fit against fields computed independently, by the simulator's k-space dipole kernel."""

import math

import numpy as np
import pytest

from cmb_kd.inference import dipole_fit
from cmb_kd.inference.dipole_fit import dipole_template
from cmb_kd.synth.dipole import dipole_field

SHAPE = (40, 40, 40)
CENTRE = (20.0, 20.0, 20.0)


def _sphere_phase(susceptibility: float, radius: float = 2.5, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    grid = np.indices(SHAPE)
    sphere = sum((g - c) ** 2 for g, c in zip(grid, CENTRE)) <= radius**2
    phase = -dipole_field(sphere.astype(np.float32) * susceptibility, 1.0)  # right-handed: paramagnetic negative
    return phase + np.random.default_rng(seed).normal(0.0, noise, SHAPE)


@pytest.mark.parametrize(("susceptibility", "sign"), [(1.0, -1.0), (-1.0, 1.0)])
def test_sign_of_the_fit_is_the_sign_of_the_source(susceptibility: float, sign: float) -> None:
    fit = dipole_fit(_sphere_phase(susceptibility, noise=0.02), CENTRE, 3.5, np.eye(3))
    assert sign * fit > 0.8


def test_fit_survives_thick_slices_averaged_as_a_scanner_does() -> None:
    # a native 4 mm slice is the complex mean of the 1 mm slices it covers (the phase of that mean is measured)
    phase = _sphere_phase(0.5)
    thick = np.angle(np.exp(1j * phase).reshape(40, 40, 10, 4).mean(axis=3))
    axes = np.diag([1.0, 1.0, 4.0])
    centre = (CENTRE[0], CENTRE[1], (CENTRE[2] - 1.5) / 4.0)  # slice k covers 1 mm slices 4k to 4k + 3
    assert dipole_fit(thick, centre, 3.5, axes) < -0.7
    assert dipole_fit(-thick, centre, 3.5, axes) > 0.7


def test_fit_ignores_a_linear_background_and_the_void() -> None:
    clean = dipole_fit(_sphere_phase(1.0), CENTRE, 3.5, np.eye(3))
    ramp = 0.05 * (np.indices(SHAPE)[0] - 20.0) + 0.3
    void = _sphere_phase(1.0) + ramp
    grid = np.indices(SHAPE)
    inside = sum((g - c) ** 2 for g, c in zip(grid, CENTRE)) <= 3.0**2
    void[inside] = np.random.default_rng(1).uniform(-np.pi, np.pi, int(inside.sum()))  # no signal: phase is noise
    assert dipole_fit(void, CENTRE, 3.5, np.eye(3)) == pytest.approx(clean, abs=1e-6)


def test_brain_mask_limits_the_voxels_and_too_few_give_nan() -> None:
    phase = _sphere_phase(1.0)
    brain = np.zeros(SHAPE, dtype=bool)
    assert math.isnan(dipole_fit(phase, CENTRE, 3.5, np.eye(3), brain=brain))
    assert math.isnan(dipole_fit(np.zeros(SHAPE), CENTRE, 3.5, np.eye(3)))  # flat phase
    assert math.isnan(dipole_fit(phase, (0.0, 0.0, 0.0), 40.0, np.eye(3)))  # everything left out


def test_template_is_the_point_dipole_field() -> None:
    offsets = np.array([[0.0, 0.0, 4.0], [4.0, 0.0, 0.0], [0.0, 3.0, 0.0]])
    np.testing.assert_allclose(dipole_template(offsets, np.eye(3)), [2 / 64, -1 / 64, -1 / 27])
    # along the field the template is positive, whatever voxel axis points there
    np.testing.assert_allclose(dipole_template(np.array([[4.0, 0.0, 0.0]]), np.eye(3), field=(1, 0, 0)), [2 / 64])
