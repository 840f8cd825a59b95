"""Tests of the 3D fast radial symmetry transform (radii in mm on anisotropic grids)."""

from __future__ import annotations

import numpy as np
import pytest

from cmb_kd.candidates import fast_radial_symmetry

GRIDS = [
    pytest.param((40, 40, 40), (1.0, 1.0, 1.0), id="iso-1mm"),
    pytest.param((48, 48, 12), (1.0, 1.0, 4.0), id="1x1x4"),
    pytest.param((80, 80, 14), (0.5, 0.5, 3.0), id="0.5x0.5x3"),
]


@pytest.mark.parametrize(("shape", "spacing"), GRIDS)
def test_peak_at_dark_ball_centre(scene, to_voxel, shape, spacing):
    centre = (20.0, 21.0, 24.0) if shape[2] * spacing[2] > 30 else (20.0, 21.0, 21.0)
    image = scene(shape, spacing, balls=[(centre, 2.5)])
    out = fast_radial_symmetry(image, spacing, (1.5, 2.5, 3.5))
    assert out.shape == image.shape and out.dtype == np.float32 and (out >= 0).all()
    peak = np.unravel_index(np.argmax(out), out.shape)
    expected = to_voxel(centre, spacing)
    distance_mm = np.linalg.norm((np.array(peak) - np.array(expected)) * np.array(spacing))
    assert distance_mm <= max(spacing) + 1e-6


@pytest.mark.parametrize(("shape", "spacing"), GRIDS[1:])
def test_radius_in_mm_selects_ball_size_on_anisotropic_grid(scene, to_voxel, shape, spacing):
    small, large = (12.0, 20.0, 21.0), (30.0, 20.0, 21.0)
    image = scene(shape, spacing, balls=[(small, 2.0), (large, 5.0)])
    at_small, at_large = to_voxel(small, spacing), to_voxel(large, spacing)
    tuned_small = fast_radial_symmetry(image, spacing, (2.0,))
    tuned_large = fast_radial_symmetry(image, spacing, (5.0,))
    assert tuned_small[at_small] > tuned_small[at_large]
    assert tuned_large[at_large] > tuned_large[at_small]


def test_spacing_matters_ball_round_in_mm(scene, to_voxel):
    spacing = (1.0, 1.0, 4.0)
    centre = (24.0, 24.0, 24.0)
    image = scene((48, 48, 12), spacing, balls=[(centre, 3.0)])
    voxel = to_voxel(centre, spacing)
    right = fast_radial_symmetry(image, spacing, (3.0,))
    wrong = fast_radial_symmetry(image, (1.0, 1.0, 1.0), (3.0,))
    assert right[voxel] > 0
    assert right[voxel] / right.max() > wrong[voxel] / wrong.max() - 1e-6
    assert np.unravel_index(np.argmax(right), right.shape) == voxel


def test_ball_scores_higher_than_tube(scene, to_voxel):
    spacing = (1.0, 1.0, 4.0)
    ball, tube_start = (14.0, 24.0, 24.0), (26.0, 4.0, 24.0)
    image = scene((48, 48, 12), spacing, balls=[(ball, 2.0)], tubes=[(tube_start, (0.0, 1.0, 0.0), 40.0, 2.0)])
    out = fast_radial_symmetry(image, spacing, (1.5, 2.5, 3.5))
    tube_axis = out[24:29, 10:38, 5:7].max()
    assert out[to_voxel(ball, spacing)] > 2.0 * tube_axis


def test_polarity(scene, to_voxel):
    spacing = (1.0, 1.0, 4.0)
    centre = (24.0, 24.0, 24.0)
    dark = scene((48, 48, 12), spacing, balls=[(centre, 3.0)])
    bright = 200.0 - dark
    voxel = to_voxel(centre, spacing)
    assert fast_radial_symmetry(bright, spacing, (3.0,), dark=False)[voxel] == pytest.approx(
        fast_radial_symmetry(dark, spacing, (3.0,), dark=True)[voxel], rel=1e-4
    )
    assert (
        fast_radial_symmetry(dark, spacing, (3.0,), dark=False)[voxel]
        < 0.05 * fast_radial_symmetry(dark, spacing, (3.0,))[voxel]
    )


def test_mask_limits_voters_and_output(scene):
    spacing = (1.0, 1.0, 4.0)
    image = scene((32, 32, 8), spacing, balls=[((16.0, 16.0, 16.0), 3.0)])
    mask = np.zeros(image.shape, bool)
    mask[4:28, 4:28, 1:7] = True
    out = fast_radial_symmetry(image, spacing, (3.0,), mask=mask)
    assert (out[~mask] == 0).all() and out[mask].max() > 0


def test_flat_image_gives_zeros():
    out = fast_radial_symmetry(np.full((8, 8, 4), 5.0), (1.0, 1.0, 2.0), (2.0,))
    assert not out.any()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"image": np.zeros((8, 8))}, "image: expected a 3D array"),
        ({"image": np.full((4, 4, 4), np.nan)}, "image: expected finite values"),
        ({"spacing": (1.0, 1.0)}, "spacing: expected three positive"),
        ({"spacing": (1.0, -1.0, 4.0)}, "spacing: expected three positive"),
        ({"radii_mm": ()}, "radii_mm: expected one or more positive"),
        ({"radii_mm": (2.0, 0.0)}, "radii_mm: expected one or more positive"),
        ({"alpha": 0.0}, "alpha: expected a finite number > 0"),
        ({"beta": 1.0}, r"beta: expected a fraction in \[0, 1\)"),
        ({"dark": "yes"}, "dark: expected True"),
        ({"mask": np.ones((4, 4, 3))}, r"mask: expected the image's shape \(4, 4, 4\)"),
        ({"mask": np.zeros((4, 4, 4))}, "mask: expected at least one voxel"),
    ],
)
def test_bad_arguments(kwargs, match):
    arguments = {"image": np.ones((4, 4, 4)), "spacing": (1.0, 1.0, 4.0), "radii_mm": (2.0,)} | kwargs
    with pytest.raises(ValueError, match=match):
        fast_radial_symmetry(**arguments)
