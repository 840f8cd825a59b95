import numpy as np
import pytest

from cmb_kd.synth.tubes import rasterise_paths, rasterise_tube, segment_fraction, tube_fraction


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


SPACING = np.array([0.5, 0.5, 0.8])


def _straight(direction, radius, length=12.0, centre=(10.0, 10.0, 16.0), taper=1.0):
    """A straight tube in voxel coordinates of the 0.5×0.5×0.8 mm grid, points every 0.25 mm."""
    direction = np.asarray(direction, dtype=np.float64) / np.linalg.norm(direction)
    t = np.arange(-length / 2, length / 2 + 1e-9, 0.25)
    points = (np.asarray(centre) + t[:, None] * direction) / SPACING
    return points, radius * np.linspace(1.0, taper, len(t))


@pytest.mark.parametrize("radius", [0.15, 0.2, 0.5, 1.5])
@pytest.mark.parametrize("direction", [(0, 0, 1), (1, 0, 0), (1, 1, 1)])
def test_paths_on_an_anisotropic_grid_have_their_volume(radius, direction):
    """A tube of radius r and length L (with rounded ends) fills π r² L + 4/3 π r³ mm³, sub-voxel radii included."""
    points, radii = _straight(direction, radius)
    fraction, value = rasterise_paths([points], [radii], [np.full(len(radii), 2.0)], (40, 40, 40), tuple(SPACING))
    exact = np.pi * radius**2 * 12.0 + 4.0 / 3.0 * np.pi * radius**3
    assert fraction.sum() * SPACING.prod() == pytest.approx(exact, rel=0.05)
    np.testing.assert_allclose(value[fraction > 0] / fraction[fraction > 0], 2.0, rtol=1e-6)
    assert fraction.max() <= 1.0 and (radius >= 0.5 or fraction.max() < 1.0)  # a sub-voxel tube fills no voxel


def test_a_tapered_path_fills_its_frustum():
    points, radii = _straight((0, 1, 0), 1.5, taper=0.5)
    fraction, _ = rasterise_paths([points], [radii], [np.ones(len(radii))], (40, 40, 40), tuple(SPACING))
    r1, r2, length = 1.5, 0.75, 12.0
    frustum = np.pi * length / 3.0 * (r1**2 + r1 * r2 + r2**2) + 2.0 / 3.0 * np.pi * (r1**3 + r2**3)
    assert fraction.sum() * SPACING.prod() == pytest.approx(frustum, rel=0.05)


def test_overlapping_paths_count_once_and_carry_the_larger_value():
    points, radii = _straight((0, 0, 1), 0.6)
    one, _ = rasterise_paths([points], [radii], [np.ones(len(radii))], (40, 40, 40), tuple(SPACING))
    two, value = rasterise_paths(
        [points, points], [radii, radii], [np.ones(len(radii)), np.full(len(radii), 3.0)], (40, 40, 40), tuple(SPACING)
    )
    np.testing.assert_array_equal(two, one)
    np.testing.assert_allclose(value, 3.0 * one, rtol=1e-6)


def test_a_path_outside_the_grid_leaves_it_empty():
    points, radii = _straight((0, 0, 1), 1.0, centre=(100.0, 100.0, 100.0))
    fraction, value = rasterise_paths([points], [radii], [np.ones(len(radii))], (20, 20, 20), tuple(SPACING))
    assert fraction.shape == (20, 20, 20) and not fraction.any() and not value.any()
