import struct

import numpy as np
import pytest
from _inference_helpers import ANISOTROPIC_AFFINE

from cmb_kd.inference import OutputError, write_report_png
from cmb_kd.inference.report_figure import _choose_slices

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_size(path):
    blob = path.read_bytes()
    assert blob[:8] == PNG_SIGNATURE and blob[12:16] == b"IHDR" and blob.endswith(b"IEND\xaeB`\x82")
    return struct.unpack(">II", blob[16:24])


@pytest.mark.parametrize("with_detections", [True, False])
def test_writes_a_valid_png_and_nothing_else(tmp_path, scan_image, with_detections):
    mask = np.zeros(scan_image.shape, dtype=bool)
    if with_detections:
        mask[2:4, 3:5, 1] = True
        mask[6, 6, 4] = True
    path = write_report_png(scan_image, mask, ANISOTROPIC_AFFINE, tmp_path / "sub-001_T2S_cmb_report.png", title="x")
    width, height = _png_size(path)
    assert width > 100 and height > 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub-001_T2S_cmb_report.png"]


def test_spacing_instead_of_affine(tmp_path, scan_image):
    mask = np.zeros(scan_image.shape, dtype=np.uint8)
    path = write_report_png(scan_image, mask, (0.5, 0.5, 3.0), tmp_path / "r.png")
    _png_size(path)


def test_slice_choice():
    mask = np.zeros((6, 6, 30), dtype=bool)
    assert _choose_slices(mask, 4) == [6, 12, 17, 23]
    mask[1, 1, 3:6] = True
    mask[2:5, 2:5, 5] = True  # joins the first detection; largest there on slice 5
    mask[4, 4, 20] = True
    assert _choose_slices(mask, 4) == [5, 20]
    for z in range(0, 30, 3):
        mask[0, 5, z] = True
    assert len(_choose_slices(mask, 4)) == 4


@pytest.mark.parametrize(
    "mask, spacing, name, kwargs, error, message",
    [
        (np.zeros((8, 9, 5)), (1, 1, 1), "r.png", {}, ValueError, r"mask: expected shape \(8, 9, 6\)"),
        (np.zeros((8, 9, 6)), (1, 1), "r.png", {}, ValueError, "affine_or_spacing: expected three positive"),
        (np.zeros((8, 9, 6)), (1, 1, 1), "r.jpg", {}, ValueError, "path: expected a file name ending in .png"),
        (np.zeros((8, 9, 6)), (1, 1, 1), "r.png", {"max_slices": 0}, ValueError, "max_slices: expected an integer"),
        (np.zeros((8, 9, 6)), (1, 1, 1), "missing/r.png", {}, OutputError, "the output folder does not exist"),
    ],
)
def test_bad_arguments(tmp_path, scan_image, mask, spacing, name, kwargs, error, message):
    with pytest.raises(error, match=message):
        write_report_png(scan_image, mask, spacing, tmp_path / name, **kwargs)


def test_the_picture_is_radiological_whatever_the_storage_orientation(tmp_path):
    from cmb_kd.inference.report_figure import radiological, render_report_png

    rng = np.random.default_rng(0)
    ras = rng.uniform(10, 100, (20, 24, 6)).astype(np.float32)
    ras[18, 22, 3] = 500.0  # far to the patient's right (high x in RAS), anterior (high y)
    ras[1, 2, 3] = 400.0  # far to the patient's left (low x), posterior (low y)
    mask = np.zeros(ras.shape, bool)
    mask[17:19, 21:23, 3] = True
    ras_affine = np.diag([0.5, 0.5, 3.0, 1.0])
    shown, axes, flips = radiological(ras, ras_affine)
    assert shown.shape == (24, 20, 6) and shown[1, 1, 3] == 500.0  # near the top left: anterior, patient's right
    assert shown[21, 18, 3] == 400.0  # near the bottom right: posterior, patient's left
    # the same head stored LPS (x and y reversed): the same picture, pixel for pixel
    lps = ras[::-1, ::-1]
    lps_affine = np.diag([-0.5, -0.5, 3.0, 1.0])
    lps_affine[:3, 3] = [9.5, 11.5, 0.0]
    np.testing.assert_array_equal(radiological(lps, lps_affine)[0], shown)
    assert render_report_png(lps, mask[::-1, ::-1], lps_affine, title="s") == render_report_png(
        ras, mask, ras_affine, title="s"
    )


def test_lesions_are_numbered_and_must_be_lesions(tmp_path, scan_image):
    from cmb_kd.inference import lesion_table
    from cmb_kd.inference.report_figure import render_report_png

    mask = np.zeros(scan_image.shape, dtype=np.uint8)
    mask[2:4, 3:5, 1] = 1
    lesions = lesion_table(mask, ANISOTROPIC_AFFINE, probability=mask * 0.8)
    numbered = render_report_png(scan_image, mask, ANISOTROPIC_AFFINE, title="x", lesions=lesions)
    plain = render_report_png(scan_image, mask, ANISOTROPIC_AFFINE, title="x")
    height = struct.unpack(">I", numbered[20:24])[0]
    assert height > struct.unpack(">I", plain[20:24])[0]  # a row of zoomed panels, unmarked beside marked
    with pytest.raises(ValueError, match=r"lesions\[0\]: expected a Lesion"):
        render_report_png(scan_image, mask, ANISOTROPIC_AFFINE, lesions=["1"])


def test_header_says_the_location_counts_and_burden_class():
    from _inference_helpers import fake_locate

    from cmb_kd.inference.report_text import header_lines

    location = fake_locate(None, None, None, [(-4.0, 0.0, 0.0), (3.0, 1.0, 2.0)])
    lines = header_lines("s: 2 CMB(s)", 2, (0.5, 0.5, 3.0), phase_used=None, location=location)
    assert lines[2] == ("location (MARS): 1 lobar, 1 deep, 0 infratentorial; burden class 2-4; mixed", "white")
    assert len(header_lines("s", 2, (0.5, 0.5, 3.0), phase_used=None)) == 2
