import gzip
import io

import nibabel as nib
import numpy as np
import pytest
from _test_files import ANISOTROPIC_AFFINE

from cmb_kd.io import InputError, load_scan


def test_loads_float32_volume_affine_and_header(tmp_path, write_nifti, scan_image):
    path = write_nifti(tmp_path / "sub-001_T2S.nii.gz", scan_image.astype(np.int16))
    before = path.read_bytes()
    data, affine, header = load_scan(path)
    assert data.dtype == np.float32 and data.shape == scan_image.shape
    np.testing.assert_array_equal(data, scan_image.astype(np.int16).astype(np.float32))
    np.testing.assert_allclose(affine, ANISOTROPIC_AFFINE)
    assert header.get_data_shape() == scan_image.shape
    data[...] = 0  # the returned array is the caller's own: the file stays as it was
    assert path.read_bytes() == before


def test_uncompressed_nii_and_scaling(tmp_path, scan_image):
    image = nib.Nifti1Image(np.round(scan_image).astype(np.int16), ANISOTROPIC_AFFINE)
    image.header.set_slope_inter(0.5, 1.0)
    path = tmp_path / "scan.nii"
    nib.save(image, path)
    data, _, _ = load_scan(path)
    np.testing.assert_allclose(data, np.round(scan_image) * 0.5 + 1.0)


def test_single_volume_4d_is_squeezed(tmp_path, write_nifti, scan_image):
    path = write_nifti(tmp_path / "one.nii.gz", scan_image[..., None])
    data, _, header = load_scan(path)
    assert data.shape == scan_image.shape
    assert header.get_data_shape() == scan_image.shape


def _bad_affine_file(tmp_path, write_nifti, scan_image):
    raw = nib.Nifti1Image(scan_image, np.eye(4)).to_bytes()
    header = nib.Nifti1Header.from_fileobj(io.BytesIO(raw[:348]))
    header["sform_code"], header["qform_code"] = 1, 0
    header["srow_z"] = [0.0, 0.0, 0.0, 0.0]
    path = tmp_path / "singular.nii.gz"
    path.write_bytes(gzip.compress(header.binaryblock + raw[348:]))
    return path


def _truncated_gzip(tmp_path, write_nifti, scan_image):
    good = write_nifti(tmp_path / "good.nii.gz", np.random.default_rng(1).normal(size=(20, 20, 20)))
    path = tmp_path / "truncated.nii.gz"
    blob = good.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    return path


def _corrupt_gzip_payload(tmp_path, write_nifti, scan_image):
    raw = nib.Nifti1Image(np.random.default_rng(2).normal(size=(20, 20, 20)).astype(np.float32), np.eye(4)).to_bytes()
    blob = bytearray(gzip.compress(raw))
    blob[len(blob) // 2 : len(blob) // 2 + 64] = bytes(64)
    path = tmp_path / "corrupt.nii.gz"
    path.write_bytes(bytes(blob))
    return path


def _truncated_nii(tmp_path, write_nifti, scan_image):
    good = write_nifti(tmp_path / "good.nii", np.random.default_rng(1).normal(size=(20, 20, 20)))
    path = tmp_path / "truncated.nii"
    blob = good.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    return path


def _write(name, data=None):
    def make(tmp_path, write_nifti, scan_image):
        return write_nifti(tmp_path / name, scan_image if data is None else data(scan_image))

    return make


def _raw(name, content):
    def make(tmp_path, write_nifti, scan_image):
        path = tmp_path / name
        path.write_bytes(content)
        return path

    return make


def _with_nan(image):
    image = image.copy()
    image[1, 2, 3] = np.nan
    return image


def _with_inf(image):
    image = image.copy()
    image[0, 0, 0] = np.inf
    return image


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda tmp_path, *_: tmp_path / "missing.nii.gz", "file not found"),
        (lambda tmp_path, *_: tmp_path, "is a folder"),
        (_raw("scan.mha", b"not nifti"), "not a NIfTI file name"),
        (_raw("scan.txt.gz", b"\x1f\x8b"), "not a NIfTI file name"),
        (_raw("empty.nii.gz", b""), "empty file"),
        (
            _raw("plain.nii.gz", b"this is not gzip at all" * 30),
            "not gzip-compressed; expected a gzip-compressed NIfTI",
        ),
        (_raw("raw.nii.gz", (348).to_bytes(4, "little") + bytes(400)), "uncompressed NIfTI: rename it to .nii"),
        (_raw("garbage.nii", b"\x00\x01" * 400), "unreadable NIfTI header"),
        (_raw("garbage_gz.nii.gz", gzip.compress(b"\x00\x01" * 400)), "unreadable NIfTI header"),
        (_truncated_gzip, "corrupt or truncated image data"),
        (_corrupt_gzip_payload, "corrupt or truncated image data"),
        (_truncated_nii, "corrupt or truncated image data"),
        (_write("flat.nii.gz", lambda image: image[:, :, 0]), "2D image"),
        (_write("one_slice.nii.gz", lambda image: image[:, :, :1]), "2D image"),
        (_write("series.nii.gz", lambda image: np.stack([image] * 3, axis=-1)), "4D image with 3 volumes"),
        (_write("inf.nii.gz", _with_inf), r"1 infinite voxel\(s\) \(Inf or -Inf\) of 432"),
        (_write("minus_inf.nii.gz", lambda image: -_with_inf(image)), r"1 infinite voxel\(s\)"),
        (_write("inf_and_nan.nii.gz", lambda image: _with_nan(_with_inf(image))), r"1 infinite voxel\(s\)"),
        (_write("all_nan.nii.gz", lambda image: np.full_like(image, np.nan)), "all 432 voxels are NaN"),
        (_write("zero.nii.gz", np.zeros_like), r"all-zero image \(every voxel is 0\)"),
        (_write("nan_zero.nii.gz", lambda image: _with_nan(np.zeros_like(image))), "every voxel apart from the NaN"),
        (_write("constant.nii.gz", lambda image: np.full_like(image, 7.0)), "constant image"),
        (_write("complex.nii.gz", lambda image: image.astype(np.complex64)), "is not a real number"),
        (_bad_affine_file, "non-invertible affine"),
    ],
)
def test_each_bad_input_has_one_clear_error(tmp_path, write_nifti, scan_image, make, message):
    path = make(tmp_path, write_nifti, scan_image)
    before = path.read_bytes() if path.is_file() else None
    with pytest.raises(InputError, match=message) as info:
        load_scan(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and "; expected " in text
    assert info.value.path == path
    assert isinstance(info.value, ValueError)
    if before is not None:
        assert path.read_bytes() == before


def test_nan_background_is_accepted_and_kept_as_nan(tmp_path, write_nifti, scan_image):
    image = scan_image.copy()
    image[:2] = np.nan  # the NaN background of a skull-stripped VALDO scan
    image[-1, -1, -1] = 0.0
    path = write_nifti(tmp_path / "sub-101_space-T2S_desc-masked_T2S.nii.gz", image)
    data, _, _ = load_scan(path)
    np.testing.assert_array_equal(np.isnan(data), np.isnan(image))
    np.testing.assert_array_equal(data[2:], image[2:])
