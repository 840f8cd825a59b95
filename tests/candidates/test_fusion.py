"""Tests of max-fusion of named score maps, local maxima, NMS in mm and the candidate cap."""

from __future__ import annotations

import numpy as np
import pytest

from cmb_kd.candidates import fuse_candidates

SHAPE = (20, 20, 8)
AFFINE = np.diag([1.0, 1.0, 4.0, 1.0])


def _peaks(points, values, shape=SHAPE):
    out = np.zeros(shape, np.float32)
    for point, value in zip(points, values):
        out[tuple(point)] = value
    return out


def test_union_of_sources_and_attribution():
    frst = _peaks([(3, 3, 2), (10, 10, 4)], [5.0, 4.0])
    dark = _peaks([(15, 15, 6), (10, 11, 4)], [6.0, 3.0])
    brain = np.ones(SHAPE, bool)
    found = fuse_candidates({"frst": frst, "dark_spots": dark}, brain, AFFINE, normalisation="none", min_score=1.0)
    by_voxel = {c.voxel: c for c in found}
    assert set(by_voxel) == {(15, 15, 6), (3, 3, 2), (10, 10, 4)}
    assert by_voxel[(3, 3, 2)].sources == ("frst",)
    assert by_voxel[(15, 15, 6)].sources == ("dark_spots",)
    assert by_voxel[(10, 10, 4)].sources == ("dark_spots", "frst")
    assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)


def test_third_source_joins_the_union():
    maps = {"frst": _peaks([(3, 3, 2)], [5.0]), "dark_spots": _peaks([(3, 3, 2)], [5.0])}
    maps["fcn"] = _peaks([(16, 4, 5)], [0.9])
    found = fuse_candidates(
        maps, np.ones(SHAPE), AFFINE, normalisation={"frst": "none", "dark_spots": "none", "fcn": "none"}, min_score=0.5
    )
    assert {c.voxel: c.sources for c in found} == {(3, 3, 2): ("dark_spots", "frst"), (16, 4, 5): ("fcn",)}


def test_mm_centres_follow_the_affine():
    affine = np.array([[0.5, 0, 0, -10.0], [0, 0.5, 0, 20.0], [0, 0, 3.0, 5.0], [0, 0, 0, 1]])
    found = fuse_candidates({"a": _peaks([(4, 6, 2)], [2.0])}, np.ones(SHAPE), affine, normalisation="none")
    assert found[0].voxel == (4, 6, 2)
    assert found[0].mm == pytest.approx((-8.0, 23.0, 11.0))


@pytest.mark.parametrize(("radius", "expected"), [(1.5, 4), (5.0, 3), (8.0, 2), (12.0, 1)])
def test_nms_radius_in_mm_not_voxels(radius, expected):
    # two voxels apart in-plane (2 mm) and two slices apart (8 mm) on a 1x1x4 mm grid
    score = _peaks([(10, 10, 2), (10, 10, 4), (4, 4, 4), (6, 4, 4)], [5.0, 4.0, 3.0, 2.5])
    found = fuse_candidates({"a": score}, np.ones(SHAPE), AFFINE, normalisation="none", nms_radius_mm=radius)
    assert len(found) == expected
    assert found[0].voxel == (10, 10, 2)


def test_nms_keeps_kept_candidates_apart():
    rng = np.random.default_rng(0)
    score = rng.random((30, 30, 10)).astype(np.float32) * 5
    found = fuse_candidates({"a": score}, np.ones(score.shape), AFFINE, normalisation="none", nms_radius_mm=5.0)
    mm = np.array([c.voxel for c in found]) * np.array([1.0, 1.0, 4.0])
    distances = np.linalg.norm(mm[:, None] - mm[None], axis=-1) + np.eye(len(found)) * 1e9
    assert distances.min() > 5.0


def test_cap_keeps_highest_scores():
    rng = np.random.default_rng(1)
    points = [(x, y, z) for x in range(1, 20, 4) for y in range(1, 20, 4) for z in range(0, 8, 2)]
    values = rng.uniform(1.0, 9.0, len(points))
    found = fuse_candidates(
        {"a": _peaks(points, values)}, np.ones(SHAPE), AFFINE, normalisation="none", nms_radius_mm=2.0, max_candidates=7
    )
    assert len(found) == 7
    assert [c.score for c in found] == pytest.approx(sorted(values, reverse=True)[:7], rel=1e-6)


def test_candidates_only_inside_brain_and_above_threshold():
    score = _peaks([(2, 2, 1), (12, 12, 4), (15, 5, 5)], [9.0, 3.0, 0.5])
    brain = np.zeros(SHAPE, bool)
    brain[5:, 5:, :] = True
    found = fuse_candidates({"a": score}, brain, AFFINE, normalisation="none", min_score=1.0)
    assert [c.voxel for c in found] == [(12, 12, 4)]
    assert fuse_candidates({"a": score}, brain, AFFINE, normalisation="none", min_score=10.0) == []


def test_tail_normalisation_ranks_sources_fairly():
    frst = _peaks([(3, 3, 2), (9, 9, 4)], [1e6, 2e6])
    dark = _peaks([(16, 16, 6), (16, 3, 1)], [0.02, 0.01])
    found = fuse_candidates({"frst": frst, "dark_spots": dark}, np.ones(SHAPE), AFFINE, max_candidates=2)
    assert {c.sources for c in found} == {("frst",), ("dark_spots",)}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"score_maps": {}}, "score_maps: expected a non-empty mapping"),
        ({"score_maps": {"a": np.zeros(SHAPE), "b": np.zeros((4, 4, 4))}}, r"score_maps\['b'\]: expected the shape"),
        ({"score_maps": {"a": np.full(SHAPE, np.nan)}}, r"score_maps\['a'\]: expected finite values"),
        ({"brain_mask": np.zeros(SHAPE)}, "brain_mask: expected at least one voxel"),
        ({"affine": np.eye(3)}, "affine: expected a finite, invertible 4x4"),
        ({"affine": np.diag([1.0, 0.0, 1.0, 1.0])}, "affine: expected a finite, invertible 4x4"),
        ({"normalisation": {"b": "none"}}, "normalisation: expected a method for every score map"),
        ({"normalisation": "zscore"}, "zscore"),
        ({"min_score": float("nan")}, "min_score: expected a finite number"),
        ({"nms_radius_mm": -2.0}, "nms_radius_mm: expected a finite number > 0"),
        ({"max_candidates": 0}, "max_candidates: expected a positive integer"),
    ],
)
def test_bad_arguments(kwargs, match):
    arguments = {"score_maps": {"a": np.ones(SHAPE)}, "brain_mask": np.ones(SHAPE), "affine": AFFINE} | kwargs
    score_maps = arguments.pop("score_maps")
    brain_mask = arguments.pop("brain_mask")
    affine = arguments.pop("affine")
    with pytest.raises(ValueError, match=match):
        fuse_candidates(score_maps, brain_mask, affine, **arguments)
