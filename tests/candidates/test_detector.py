"""Tests of the stage-1 candidate detector (FRST ∪ threshold + morphology) on tiny anisotropic scenes."""

from __future__ import annotations

import numpy as np
import pytest

from cmb_kd.candidates import BUILTIN_SOURCES, Candidate, CandidateDetector

SPACING = (1.0, 1.0, 4.0)
AFFINE = np.diag([*SPACING, 1.0])
# tubes run through the whole volume (veins); their ends, blob-like, stay outside
TUBES = [((48.0, 30.0, -8.0), (0.0, 0.0, 1.0), 64.0, 1.0), ((-4.0, 56.0, 16.0), (1.0, 0.0, 0.0), 68.0, 1.0)]
BALLS = [((14.0, 14.0, 20.0), 2.0), ((40.0, 16.0, 28.0), 3.0), ((20.0, 44.0, 36.0), 2.5)]


@pytest.fixture
def image(scene):
    return scene((60, 60, 12), SPACING, balls=BALLS, tubes=TUBES)


def _nearest_mm(candidates, point):
    centres = np.array([c.mm for c in candidates])
    return float(np.min(np.linalg.norm(centres - np.array(point), axis=1)))


@pytest.mark.parametrize("sources", [("frst",), ("dark_spots",), BUILTIN_SOURCES])
def test_balls_found_by_each_source(image, sources):
    detector = CandidateDetector(sources=sources, max_candidates=10)
    found = detector(image, np.ones(image.shape), AFFINE)
    assert all(isinstance(c, Candidate) for c in found) and 3 <= len(found) <= 10
    for centre, _ in BALLS:
        assert _nearest_mm(found, centre) <= 3.0
    assert all(set(c.sources) <= set(sources) for c in found)


def test_fused_candidates_on_balls_name_both_sources(image):
    found = CandidateDetector(max_candidates=3)(image, np.ones(image.shape), AFFINE)
    assert all(c.sources == ("dark_spots", "frst") for c in found)


def test_cap_holds(scene):
    rng = np.random.default_rng(0)
    balls = [(tuple(rng.uniform(4, 56, 2)) + (float(rng.uniform(4, 44)),), 2.0) for _ in range(40)]
    image = scene((60, 60, 12), SPACING, balls=balls, noise=3.0)
    for cap in (1, 5, 25):
        assert len(CandidateDetector(max_candidates=cap, nms_radius_mm=2.0)(image, np.ones(image.shape), AFFINE)) <= cap


def test_extra_score_map_joins(image):
    fcn = np.zeros(image.shape, np.float32)
    fcn[50, 50, 2] = 0.9
    found = CandidateDetector(max_candidates=4)(image, np.ones(image.shape), AFFINE, {"fcn": fcn})
    assert any(c.voxel == (50, 50, 2) and c.sources == ("fcn",) for c in found)
    only_fcn = CandidateDetector(sources=())(image, np.ones(image.shape), AFFINE, {"fcn": fcn})
    assert [c.voxel for c in only_fcn] == [(50, 50, 2)]


def test_score_maps_are_raw_and_named(image):
    maps = CandidateDetector().score_maps(image, np.ones(image.shape), AFFINE)
    assert sorted(maps) == ["dark_spots", "frst"]
    assert all(m.shape == image.shape and m.dtype == np.float32 for m in maps.values())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sources": ("frst", "hough")}, "hough"),
        ({"sources": "frst"}, "sources: expected a sequence of non-empty names"),
        ({"sources": ("frst", "frst")}, "sources: expected distinct names"),
        ({"radii_mm": (-1.0,)}, "radii_mm: expected one or more positive"),
        ({"frst_beta": 2.0}, r"frst_beta: expected a fraction in \[0, 1\)"),
        ({"dark_k": 0.0}, "dark_k: expected a finite number > 0"),
        ({"diameter_range_mm": (3.0, 3.0)}, "diameter_range_mm: expected 0 <= min < max"),
        ({"max_elongation": 0.9}, "max_elongation: expected a ratio >= 1"),
        ({"min_score": float("inf")}, "min_score: expected a finite number"),
        ({"nms_radius_mm": 0.0}, "nms_radius_mm: expected a finite number > 0"),
        ({"max_candidates": 0}, "max_candidates: expected a positive integer"),
    ],
)
def test_bad_configuration(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CandidateDetector(**kwargs)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda d, img: d(img[..., 0], np.ones(img.shape[:2]), AFFINE), "image: expected a 3D array"),
        (lambda d, img: d(img, np.ones((60, 60, 11)), AFFINE), "brain_mask: expected the image's shape"),
        (lambda d, img: d(img, np.ones(img.shape), np.eye(4)[:3]), "affine: expected a finite, invertible 4x4"),
        (lambda d, img: d(img, np.ones(img.shape), AFFINE, {"frst": img}), "clash with the built-in sources"),
        (lambda d, img: d(img, np.ones(img.shape), AFFINE, [img]), "extra_scores: expected a mapping"),
    ],
)
def test_bad_call(scene, call, match):
    small = scene((60, 60, 12), SPACING, noise=1.0)
    with pytest.raises(ValueError, match=match):
        call(CandidateDetector(), small)


def test_no_source_at_all_raises(image):
    with pytest.raises(ValueError, match="expected at least one score map"):
        CandidateDetector(sources=())(image, np.ones(image.shape), AFFINE)
