import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from cmb_kd.synth.shapes import ellipsoid_fraction


@pytest.mark.parametrize("axes, spacing", [((3.0, 1.5, 0.4), 1.0), ((6.0, 5.0, 0.15), 1.0), ((4.0, 4.0, 4.0), 2.0)])
def test_fractions_sum_to_the_ellipsoid_volume(axes, spacing):
    rotation = Rotation.random(random_state=3).as_matrix()
    box, fraction = ellipsoid_fraction(np.array([20.3, 21.1, 19.7]), axes, rotation, (40, 40, 40), spacing, 6)
    assert fraction.min() >= 0 and fraction.max() <= 1 and fraction.dtype == np.float32
    assert fraction.shape == tuple(s.stop - s.start for s in box)
    assert fraction.sum() * spacing**3 == pytest.approx(4 / 3 * np.pi * np.prod(axes), rel=0.05)


def test_box_is_clipped_to_the_grid():
    box, fraction = ellipsoid_fraction(np.array([1.0, 1.0, 1.0]), (3.0, 3.0, 3.0), np.eye(3), (10, 10, 10), 1.0)
    assert all(s.start >= 0 for s in box) and fraction.sum() > 0
    box, fraction = ellipsoid_fraction(np.array([50.0, 5.0, 5.0]), (1.0, 1.0, 1.0), np.eye(3), (10, 10, 10), 1.0)
    assert fraction.size == 0


@pytest.mark.parametrize("axes, samples, match", [((1.0, 0.0, 1.0), 4, "three positive"), ((1, 1, 1), 0, "samples")])
def test_bad_arguments(axes, samples, match):
    with pytest.raises(ValueError, match=match):
        ellipsoid_fraction(np.zeros(3), axes, np.eye(3), (8, 8, 8), 1.0, samples)
