"""Tests of the threshold + morphology dark-spot source: balls kept, tubes (veins) rejected, sizes in mm."""

from __future__ import annotations

import numpy as np
import pytest

from cmb_kd.candidates import dark_spot_score

GRIDS = [
    pytest.param((48, 48, 12), (1.0, 1.0, 4.0), id="1x1x4"),
    pytest.param((80, 80, 14), (0.5, 0.5, 3.0), id="0.5x0.5x3"),
]


TUBES = [
    pytest.param((26.0, 4.0, 21.0), (0.0, 1.0, 0.0), 32.0, id="along-y"),
    pytest.param((18.0, 4.0, 21.0), (1.0, 1.0, 0.0), 28.0, id="in-plane-diagonal"),
    pytest.param((30.0, 30.0, 0.0), (0.0, 0.0, 1.0), 48.0, id="through-slices"),
]


@pytest.mark.parametrize(("shape", "spacing"), GRIDS)
@pytest.mark.parametrize(("start", "direction", "length"), TUBES)
def test_ball_kept_tube_rejected(scene, to_voxel, shape, spacing, start, direction, length):
    ball = (12.0, 12.0, 21.0)
    image = scene(shape, spacing, balls=[(ball, 2.5)], tubes=[(start, direction, length, 1.0)])
    brain = np.ones(shape, bool)
    out = dark_spot_score(image, brain, spacing, k=3.0)
    assert out.shape == shape and out.dtype == np.float32
    assert out[to_voxel(ball, spacing)] > 3.0
    along = np.linspace(0.3, 0.7, 5) * length
    for t in along:
        point = np.array(start) + t * np.array(direction) / np.linalg.norm(direction)
        assert out[to_voxel(point, spacing)] == 0.0


def test_values_are_zero_or_above_k(scene):
    spacing = (1.0, 1.0, 4.0)
    image = scene((48, 48, 12), spacing, balls=[((12.0, 12.0, 20.0), 2.5), ((34.0, 30.0, 28.0), 3.5)])
    out = dark_spot_score(image, np.ones(image.shape), spacing, k=4.0)
    assert ((out == 0) | (out > 4.0)).all() and (out > 0).any()


def test_diameter_range_in_mm(scene, to_voxel):
    spacing = (1.0, 1.0, 4.0)
    small, large = (12.0, 12.0, 20.0), (32.0, 30.0, 24.0)
    image = scene((48, 48, 12), spacing, balls=[(small, 1.5), (large, 5.0)])
    brain = np.ones(image.shape, bool)
    both = dark_spot_score(image, brain, spacing, diameter_range_mm=(1.0, 14.0), background_diameter_mm=16.0)
    assert both[to_voxel(small, spacing)] > 0 and both[to_voxel(large, spacing)] > 0
    only_small = dark_spot_score(image, brain, spacing, diameter_range_mm=(1.0, 6.0), background_diameter_mm=16.0)
    assert only_small[to_voxel(small, spacing)] > 0 and only_small[to_voxel(large, spacing)] == 0
    only_large = dark_spot_score(image, brain, spacing, diameter_range_mm=(6.0, 14.0), background_diameter_mm=16.0)
    assert only_large[to_voxel(small, spacing)] == 0 and only_large[to_voxel(large, spacing)] > 0


def test_nothing_outside_brain_and_edge_not_dark(scene, to_voxel):
    spacing = (1.0, 1.0, 4.0)
    image = scene((48, 48, 12), spacing, balls=[((24.0, 24.0, 24.0), 2.5)])
    image[:8] = 5.0
    brain = np.zeros(image.shape, bool)
    brain[8:44, 4:44, 1:11] = True
    out = dark_spot_score(image, brain, spacing)
    assert (out[~brain] == 0).all()
    assert out[to_voxel((24.0, 24.0, 24.0), spacing)] > 0
    assert (out[8:10] == 0).all()


def test_uniform_image_gives_zeros():
    out = dark_spot_score(np.full((10, 10, 4), 7.0), np.ones((10, 10, 4)), (1.0, 1.0, 4.0))
    assert not out.any()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"image": np.zeros((8, 8, 4, 1))}, "image: expected a 3D array"),
        ({"image": np.full((8, 8, 4), np.inf)}, "image: expected finite values"),
        ({"brain_mask": np.ones((8, 8, 3))}, r"brain_mask: expected the image's shape \(8, 8, 4\), got shape"),
        ({"brain_mask": None}, "brain_mask: expected a 3D mask"),
        ({"spacing": (1.0, 0.0, 4.0)}, "spacing: expected three positive"),
        ({"k": -1.0}, "k: expected a finite number > 0"),
        ({"diameter_range_mm": (10.0, 2.0)}, "diameter_range_mm: expected 0 <= min < max"),
        ({"diameter_range_mm": 5.0}, r"diameter_range_mm: expected \(min, max\)"),
        ({"max_elongation": 0.5}, "max_elongation: expected a ratio >= 1"),
        ({"background_diameter_mm": 0}, "background_diameter_mm: expected a finite number > 0"),
    ],
)
def test_bad_arguments(kwargs, match):
    arguments = {"image": np.ones((8, 8, 4)), "brain_mask": np.ones((8, 8, 4)), "spacing": (1.0, 1.0, 4.0)} | kwargs
    with pytest.raises(ValueError, match=match):
        dark_spot_score(**arguments)
