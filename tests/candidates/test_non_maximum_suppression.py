"""Tests of greedy non-maximum suppression in mm."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import pdist

from cmb_kd.candidates import non_maximum_suppression


@pytest.mark.parametrize(
    ("points", "scores", "radius", "expected"),
    [
        ([[0, 0, 0], [2, 0, 0], [10, 0, 0]], [1.0, 2.0, 0.5], 3.0, [1, 2]),
        ([[0, 0, 0], [3, 0, 0]], [1.0, 2.0], 3.0, [1]),
        ([[0, 0, 0], [3.01, 0, 0]], [1.0, 2.0], 3.0, [1, 0]),
        ([[0, 0, 0], [0, 0, 4]], [1.0, 1.0], 3.0, [0, 1]),
        ([[0, 0, 0], [4, 0, 0], [8, 0, 0]], [1.0, 3.0, 2.0], 5.0, [1]),
    ],
)
def test_cases(points, scores, radius, expected):
    kept = non_maximum_suppression(np.array(points, float), np.array(scores), radius)
    assert kept.tolist() == expected


def test_radius_respected_and_cap_keeps_best():
    rng = np.random.default_rng(0)
    points = rng.uniform(0, 100, (500, 3))
    scores = rng.random(500)
    kept = non_maximum_suppression(points, scores, 6.0)
    assert pdist(points[kept]).min() > 6.0
    assert (np.diff(scores[kept]) <= 0).all()
    capped = non_maximum_suppression(points, scores, 6.0, max_count=10)
    assert capped.tolist() == kept[:10].tolist()


def test_empty_and_zero_cap():
    assert non_maximum_suppression(np.zeros((0, 3)), np.zeros(0), 2.0).shape == (0,)
    assert non_maximum_suppression(np.zeros((2, 3)), np.ones(2), 2.0, max_count=0).shape == (0,)


@pytest.mark.parametrize(
    ("points", "scores", "radius", "max_count", "match"),
    [
        (np.zeros((3, 3)), np.zeros(2), 1.0, None, r"expected shapes \(N, D\) and \(N,\)"),
        (np.zeros((2, 3)), np.array([0.0, np.nan]), 1.0, None, "expected finite values"),
        (np.zeros((2, 3)), np.zeros(2), 0.0, None, "radius_mm: expected a finite number > 0"),
        (np.zeros((2, 3)), np.zeros(2), 1.0, -1, "max_count: expected a non-negative integer"),
        (np.zeros((2, 3)), np.zeros(2), 1.0, 2.5, "max_count: expected a non-negative integer"),
    ],
)
def test_bad_arguments(points, scores, radius, max_count, match):
    with pytest.raises(ValueError, match=match):
        non_maximum_suppression(points, scores, radius, max_count=max_count)
