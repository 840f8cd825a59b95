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
