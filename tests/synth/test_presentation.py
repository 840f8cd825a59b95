import dataclasses
import itertools

import numpy as np
import pytest

from cmb_kd.synth.presentation import orientation, reorient, store, strip_mask_hr, warp
from cmb_kd.synth.scanner_config import ScannerConfig
from cmb_kd.synth.scanner_draw import draw_scanner

BASE = dataclasses.replace(
    draw_scanner(ScannerConfig(), np.random.default_rng(0)),
    presentation="whole_head", dtype="float32", intensity_scale=1.0, intensity_warp="none",
    axis_permutation=(0, 1, 2), flips=(False, False, False),
)  # fmt: skip


def test_strip_margin_dilates_and_erodes_by_distance():
    brain = np.zeros((15, 15, 15), bool)
    brain[7, 7, 7] = True
    assert strip_mask_hr(brain, 0.0, np.ones(3)) is brain
    grown = strip_mask_hr(brain, 2.0, np.ones(3))
    assert grown.sum() == 33  # lattice points within distance 2 of a point
    cube = np.zeros((12, 12, 12), bool)
    cube[2:10, 2:10, 2:10] = True
    shrunk = strip_mask_hr(cube, -1.0, np.ones(3))
    np.testing.assert_array_equal(np.argwhere(shrunk).min(axis=0), [3, 3, 3])
    np.testing.assert_array_equal(np.argwhere(shrunk).max(axis=0), [8, 8, 8])
    assert not strip_mask_hr(np.zeros((4, 4, 4), bool), 3.0, np.ones(3)).any()


@pytest.mark.parametrize(
    "change",
    [{"intensity_warp": "gamma", "gamma": 0.6}, {"intensity_warp": "piecewise", "warp_slopes": (0.3, 1.0, 2.5)}],
)
def test_warp_is_monotonic_and_fixes_zero_and_the_reference(change):
    magnitude = np.linspace(0.0, 300.0, 1001, dtype=np.float32).reshape(7, 11, 13)
    brain = np.ones(magnitude.shape, bool)
    warped, reference = warp(magnitude, brain, dataclasses.replace(BASE, **change))
    assert reference == pytest.approx(np.percentile(magnitude, 99.0))
    assert warped.dtype == np.float32 and warped.ravel()[0] == 0.0
    assert np.all(np.diff(warped.ravel()) >= 0)
    at = np.argmin(np.abs(magnitude.ravel() - reference))
    assert warped.ravel()[at] == pytest.approx(magnitude.ravel()[at], rel=1e-2)
    assert warp(magnitude, brain, BASE) == (magnitude, None)


def test_warp_needs_a_brain():
    draw = dataclasses.replace(BASE, intensity_warp="gamma")
    with pytest.raises(ValueError, match="the brain is empty on the rendered grid"):
        warp(np.ones((2, 2, 2), np.float32), np.zeros((2, 2, 2), bool), draw)


def test_store_applies_background_scale_and_type():
    image = np.array([[[10.0, 200.0, 1000.0]]], np.float32)
    keep = np.array([[[True, True, False]]])
    stored, scale = store(image, keep, dataclasses.replace(BASE, intensity_scale=2.0))
    np.testing.assert_array_equal(stored, 2.0 * image)
    assert scale == 2.0
    stored, scale = store(image, keep, dataclasses.replace(BASE, presentation="skull_stripped_nan"))
    assert np.isnan(stored[0, 0, 2]) and stored[0, 0, 1] == 200.0
    stored, scale = store(image, keep, dataclasses.replace(BASE, presentation="skull_stripped_zero", dtype="int16"))
    np.testing.assert_array_equal(stored, [[[10, 200, 0]]])
    assert stored.dtype == np.int16 and scale == 1.0
    stored, scale = store(image, keep, dataclasses.replace(BASE, dtype="uint8", intensity_scale=5.0))
    assert scale == pytest.approx(255.0 / 1000.0) and stored.dtype == np.uint8 and stored.max() == 255


@pytest.mark.parametrize("permutation", list(itertools.permutations(range(3))))
@pytest.mark.parametrize("flips", [(False, False, False), (True, False, True), (False, True, False)])
def test_orientation_maps_stored_indices_to_the_same_rendered_voxel(permutation, flips):
    draw = dataclasses.replace(BASE, axis_permutation=permutation, flips=flips)
    array = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    stored = reorient(array, draw)
    assert stored.shape == tuple(array.shape[a] for a in permutation) and stored.flags.c_contiguous
    matrix = orientation(array.shape, draw)
    for index in np.ndindex(stored.shape):
        rendered = (matrix @ [*index, 1])[:3].astype(int)
        assert stored[index] == array[tuple(rendered)]
