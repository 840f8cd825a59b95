import numpy as np
import pytest

from cmb_kd.synth.tubes import rasterise_tube, segment_fraction, tube_fraction


@pytest.mark.parametrize("radius", [0.2, 0.35, 0.5])
@pytest.mark.parametrize("position", [(10.3, 9.8), (10.0, 10.0), (10.5, 9.5)])
def test_sub_voxel_segment_has_its_partial_volume(radius, position):
    """A straight tube along the slice axis adds up to π r² per mm of length, also far below the voxel size."""
    idx, fraction = segment_fraction(np.array([*position, 5.0]), np.array([*position, 25.0]), radius, (20, 20, 30), 1.0)
    inner = (idx[2] >= 8) & (idx[2] < 22)  # away from the rounded ends
    assert fraction[inner].sum() / 14.0 == pytest.approx(np.pi * radius**2, rel=0.12)
    assert fraction.max() < 0.9  # never a whole voxel


def test_segment_and_tube_fractions_agree_for_a_thick_tilted_tube():
    start, end = np.array([6.2, 7.1, 4.0]), np.array([12.7, 11.4, 24.0])
    _, exact = segment_fraction(start, end, 1.5, (20, 20, 30), 1.0, samples=512)
    points = start + np.linspace(0.0, 1.0, 200)[:, None] * (end - start)
    _, sampled = tube_fraction(points, 1.5, (20, 20, 30), 1.0, samples=5)
    assert sampled.sum() == pytest.approx(exact.sum(), rel=0.03)


def test_rasterise_tube_keeps_the_largest_fraction():
    out = np.full((20, 20, 20), 0.5, np.float32)
    z = np.arange(2.0, 18.0, 0.25)
    rasterise_tube(np.stack([np.full_like(z, 10.0), np.full_like(z, 10.0), z], axis=1), 1.5, (20, 20, 20), 1.0, out)
    assert out.max() == pytest.approx(1.0) and out.min() == pytest.approx(0.5)
