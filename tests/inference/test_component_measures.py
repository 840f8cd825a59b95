"""Tests of measure_components: sizes, elongation, depth in the brain, phase and reading order of components."""

import math

import numpy as np
import pytest
from scipy import ndimage

from cmb_kd.inference.component_measures import ComponentMeasures, measure_components


def _labels(*parts: np.ndarray) -> tuple[np.ndarray, int]:
    labels = np.zeros(parts[0].shape, dtype=np.int32)
    for index, part in enumerate(parts, start=1):
        labels[part] = index
    return labels, len(parts)


def test_size_and_elongation_of_a_cube_and_a_rod() -> None:
    cube = np.zeros((20, 20, 10), dtype=bool)
    cube[2:8, 2:8, 2:5] = True  # 6 x 6 x 6 mm
    rod = np.zeros_like(cube)
    rod[10:19, 12, 6] = True
    labels, n = _labels(cube, rod)
    measures = measure_components(labels, n, (1.0, 1.0, 2.0), shape_floor_mm=1.0)
    assert measures.counts.tolist() == [108.0, 9.0]
    np.testing.assert_allclose(measures.volume_mm3, [216.0, 18.0])
    np.testing.assert_allclose(measures.diameter_mm, (6.0 * measures.volume_mm3 / math.pi) ** (1.0 / 3.0))
    np.testing.assert_allclose(measures.centroids, [[4.5, 4.5, 3.0], [14.0, 12.0, 6.0]])
    # the cube is round in mm; the rod's spread along x, (9² - 1) / 12 + 1 / 12, is 81 times the floor's 1 / 12
    np.testing.assert_allclose(measures.elongation[1], 9.0)
    assert measures.elongation[0] < 1.2
    assert np.isnan(measures.inside_fraction).all() and np.isnan(measures.mean_phase).all()
    assert np.isnan(measures.dipole_fit).all()


def test_inside_fraction_and_mean_phase() -> None:
    deep = np.zeros((30, 30, 30), dtype=bool)
    deep[14:16, 14:16, 14:16] = True
    edge = np.zeros_like(deep)
    edge[0:2, 14:16, 14:16] = True
    labels, n = _labels(deep, edge)
    phase = np.where(deep, -0.5, 0.25).astype(np.float32)
    measures = measure_components(
        labels,
        n,
        (1.0, 1.0, 1.0),
        shape_floor_mm=1.0,
        brain=np.ones(deep.shape, dtype=bool),
        brain_margin_mm=3.0,
        phase=phase,
        axes=np.eye(3),
    )
    assert measures.inside_fraction.tolist() == [1.0, 0.0]
    np.testing.assert_allclose(measures.mean_phase, [-0.5, 0.25])
    assert measures.dipole_fit.shape == (2,)


@pytest.mark.parametrize(
    "centroids, order",
    [
        ([[0.0, 0.0, 5.0], [0.0, 0.0, 1.0]], [1, 0]),
        ([[3.0, 2.0, 1.0], [1.0, 2.0, 1.0], [0.0, 1.0, 1.0]], [2, 1, 0]),
        ([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0 + 1e-9]], [0, 1]),
    ],
)
def test_reading_order_is_z_then_y_then_x_then_label(centroids, order) -> None:
    n = len(centroids)
    measures = ComponentMeasures(np.array(centroids), *([np.zeros(n)] * 7))
    assert measures.reading_order().tolist() == order


def test_brain_margin_on_a_box_equals_the_whole_volume_transform() -> None:
    from cmb_kd.inference.component_measures import _deep_in_brain

    rng = np.random.default_rng(3)
    brain = ndimage.binary_opening(rng.random((40, 36, 20)) > 0.2, iterations=2)
    brain[:, :, :3] = True  # reaches the volume's edge: outside the volume counts as outside the brain
    spacing = (0.5, 0.7, 3.0)
    reference = ndimage.distance_transform_edt(np.pad(brain, 1), sampling=spacing)[1:-1, 1:-1, 1:-1] > 2.0
    for corner in [(0, 0, 0), (10, 12, 8), (30, 20, 15), (0, 30, 18)]:
        coords = tuple(np.array([c, min(c + 3, n - 1)]) for c, n in zip(corner, brain.shape))
        np.testing.assert_array_equal(_deep_in_brain(brain, coords, spacing, 2.0), reference[coords])
    full = np.ones((12, 12, 12), dtype=bool)
    inner = (np.array([6]), np.array([6]), np.array([6]))
    assert _deep_in_brain(full, inner, (1.0, 1.0, 1.0), 2.0).tolist() == [True]
