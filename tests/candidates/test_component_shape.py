"""Tests of component volume, equivalent diameter and elongation in mm."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cmb_kd.candidates import component_shape


def _labels(shape, boxes):
    labels = np.zeros(shape, np.int32)
    for value, box in enumerate(boxes, start=1):
        labels[box] = value
    return labels


@pytest.mark.parametrize(
    ("spacing", "box", "volume", "round_"),
    [
        ((1.0, 1.0, 1.0), (slice(2, 5), slice(2, 5), slice(2, 5)), 27.0, True),
        ((1.0, 1.0, 4.0), (slice(3, 4), slice(3, 4), slice(2, 3)), 4.0, True),
        ((1.0, 1.0, 4.0), (slice(2, 5), slice(2, 5), slice(2, 3)), 36.0, True),
        ((0.5, 0.5, 3.0), (slice(2, 8), slice(2, 8), slice(1, 3)), 72 * 0.75, True),
        ((1.0, 1.0, 1.0), (slice(2, 3), slice(0, 15), slice(2, 3)), 15.0, False),
        ((1.0, 1.0, 4.0), (slice(2, 3), slice(0, 15), slice(2, 3)), 60.0, False),
        ((0.5, 0.5, 3.0), (slice(3, 5), slice(3, 5), slice(0, 8)), 4 * 8 * 0.75, False),
    ],
)
def test_volume_diameter_elongation(spacing, box, volume, round_):
    labels = _labels((16, 16, 8), [box])
    vol, diameter, elongation = component_shape(labels, 1, spacing)
    assert vol[0] == pytest.approx(volume)
    assert diameter[0] == pytest.approx((6.0 * volume / math.pi) ** (1.0 / 3.0))
    assert (elongation[0] < 1.5) if round_ else (elongation[0] > 2.0)


def test_several_components_and_empty():
    labels = _labels((16, 16, 8), [(slice(0, 2), slice(0, 2), slice(0, 2)), (slice(5, 6), slice(0, 12), slice(4, 5))])
    vol, _, elongation = component_shape(labels, 2, (1.0, 1.0, 1.0))
    assert vol.tolist() == [8.0, 12.0] and elongation[0] < elongation[1]
    empty = component_shape(np.zeros((4, 4, 4), np.int32), 0, (1.0, 1.0, 1.0))
    assert all(a.shape == (0,) for a in empty)


@pytest.mark.parametrize(
    ("labels", "n_labels", "spacing", "match"),
    [
        (np.zeros((4, 4), np.int32), 0, (1.0, 1.0, 1.0), "labels: expected a 3D integer array"),
        (np.zeros((4, 4, 4), np.float32), 0, (1.0, 1.0, 1.0), "labels: expected a 3D integer array"),
        (np.zeros((4, 4, 4), np.int32), -1, (1.0, 1.0, 1.0), "n_labels: expected a non-negative integer"),
        (np.zeros((4, 4, 4), np.int32), 0, (1.0, 1.0), "spacing: expected three positive"),
    ],
)
def test_bad_arguments(labels, n_labels, spacing, match):
    with pytest.raises(ValueError, match=match):
        component_shape(labels, n_labels, spacing)


def test_principal_variances_of_a_rod_and_the_two_elongations_built_on_them():
    from cmb_kd.candidates.component_shape import principal_variances

    labels = np.zeros((12, 5, 5), np.int32)
    labels[1:10, 2, 2] = 1  # a 9-voxel rod along x
    coords = np.nonzero(labels)
    eigen = principal_variances(labels[coords], coords, np.array([9.0]), (1.0, 1.0, 1.0), 1.0, 1)
    np.testing.assert_allclose(eigen[0], [1 / 12, 1 / 12, (81 - 1) / 12 + 1 / 12])  # ascending, floor 1 mm
    _, _, tube = component_shape(labels, 1, (1.0, 1.0, 1.0))
    np.testing.assert_allclose(tube, [9.0])  # sqrt(λ1/λ2)
