"""Tests of score-map normalisation within the brain."""

from __future__ import annotations

import numpy as np
import pytest

from cmb_kd.candidates import SCORE_NORMALISATIONS, normalise_score_map


def _brain(shape=(10, 10, 4)):
    brain = np.zeros(shape, bool)
    brain[1:9, 1:9, :] = True
    return brain


def test_tail_is_rank_based_and_unit_free():
    rng = np.random.default_rng(0)
    score = rng.random((10, 10, 4)).astype(np.float32)
    brain = _brain()
    tail = normalise_score_map(score, brain)
    scaled = normalise_score_map(1000.0 * score + 5.0, brain)
    np.testing.assert_allclose(tail, scaled, rtol=1e-5)
    n = int(brain.sum())
    assert tail[brain].max() == pytest.approx(np.log10(n), rel=1e-5)
    assert tail[brain].min() == pytest.approx(0.0, abs=1e-6)
    assert (tail[~brain] == 0).all()
    order = np.argsort(score[brain])
    assert (np.diff(tail[brain][order]) >= 0).all()


def test_tail_handles_sparse_maps():
    score = np.zeros((10, 10, 4), np.float32)
    score[4, 4, 2] = 7.0
    tail = normalise_score_map(score, _brain())
    assert tail[4, 4, 2] == pytest.approx(np.log10(_brain().sum()), rel=1e-5)
    assert tail[5, 5, 2] == pytest.approx(0.0, abs=1e-6)


def test_robust_z_and_none():
    rng = np.random.default_rng(1)
    score = rng.normal(10.0, 2.0, (20, 20, 10)).astype(np.float32)
    brain = np.ones(score.shape, bool)
    z = normalise_score_map(score, brain, method="robust_z")
    assert abs(float(np.median(z))) < 1e-5 and 0.8 < float(np.std(z)) < 1.2
    np.testing.assert_array_equal(normalise_score_map(score, brain, method="none"), score)


@pytest.mark.parametrize(
    ("score", "brain", "method", "match"),
    [
        (np.zeros((4, 4, 4)), np.ones((4, 4, 4)), "robust_z", "robust_z needs a spread"),
        (np.zeros((4, 4, 4)), np.ones((4, 4, 4)), "rank", "rank"),
        (np.zeros((4, 4, 4)), np.ones((4, 4, 4)), 3, "method: expected one of"),
        (np.zeros((4, 4)), np.ones((4, 4)), "tail", "score: expected a 3D array"),
        (np.zeros((4, 4, 4)), np.ones((4, 4, 2)), "tail", "brain_mask: expected the image's shape"),
    ],
)
def test_bad_arguments(score, brain, method, match):
    with pytest.raises(ValueError, match=match):
        normalise_score_map(score, brain, method=method)


def test_methods_listed():
    assert SCORE_NORMALISATIONS == ("tail", "robust_z", "none")
