import dataclasses

import numpy as np
import pytest

from cmb_kd.synth.scan_geometry import render_mask, scan_geometry, weight_slices
from cmb_kd.synth.scanner_config import ScannerConfig
from cmb_kd.synth.scanner_draw import draw_scanner

#: A contiguous box-profile draw; the cases change its pixel size and slices.
BOX = dataclasses.replace(
    draw_scanner(ScannerConfig(), np.random.default_rng(0)),
    inplane_spacing=1.0, slice_thickness=2.0, slice_gap=0.0, slice_offset=0.5, slice_profile="box",
)  # fmt: skip
HR = np.diag([1.0, 1.0, 1.0, 1.0])


def test_hr_in_plane_and_doubled_slices_halve_the_slice_axis():
    geometry = scan_geometry((20, 24, 16), HR, BOX)
    assert geometry.matrix == (20, 24) and geometry.shape == (20, 24, 8)
    assert geometry.spacing == pytest.approx((1.0, 1.0, 2.0))
    np.testing.assert_allclose(geometry.centres_mm, np.arange(8) * 2.0 + 0.5)
    np.testing.assert_allclose(geometry.weights.sum(axis=1), 1.0, atol=1e-6)
    # rendered voxel (i, j, k) sits at HR position (i, j, 2k + 0.5): the mean of HR slices 2k and 2k + 1
    np.testing.assert_allclose(geometry.affine @ [3, 4, 5, 1], [3.0, 4.0, 10.5, 1.0])


def test_coarser_pixels_keep_the_field_of_view():
    geometry = scan_geometry((20, 24, 16), np.diag([0.5, 0.5, 0.5, 1.0]), dataclasses.replace(BOX, inplane_spacing=1.0))
    assert geometry.matrix == (10, 12)
    fov = np.array(geometry.matrix) * np.array(geometry.spacing[:2])
    np.testing.assert_allclose(fov, [10.0, 12.0])


def test_box_slices_average_their_hr_slices():
    geometry = scan_geometry((4, 4, 16), HR, BOX)
    volume = np.random.default_rng(0).random((4, 4, 16)).astype(np.float32)
    slices = weight_slices(volume, geometry.weights)
    np.testing.assert_allclose(slices, volume.reshape(4, 4, 8, 2).mean(axis=3), rtol=1e-5)
    np.testing.assert_array_equal(weight_slices(volume, np.eye(16, dtype=np.float32)), volume)


def test_rendered_mask_holds_voxels_at_least_half_covered():
    geometry = scan_geometry((20, 20, 16), np.diag([0.5, 0.5, 1.0, 1.0]), BOX)
    assert geometry.shape == (10, 10, 8)
    mask = np.zeros((20, 20, 16), bool)
    mask[:, :7, :] = True  # 3.5 rendered columns along y
    mask[:, :, 11:] = False  # 5.5 rendered slices along z
    rendered = render_mask(mask, geometry)
    assert rendered.dtype == bool and rendered.shape == geometry.shape
    np.testing.assert_array_equal(rendered.any(axis=(0, 2)), np.arange(10) < 4)
    np.testing.assert_array_equal(rendered.any(axis=(0, 1)), np.arange(8) < 6)
    assert render_mask(np.ones((20, 20, 16), bool), geometry).all()


def test_slices_thicker_than_the_field_of_view_are_refused():
    with pytest.raises(ValueError, match=r"draw.slice_thickness: 10.0 mm is thicker than .* \(8 x 1 mm\)"):
        scan_geometry((8, 8, 8), HR, dataclasses.replace(BOX, slice_thickness=10.0))
