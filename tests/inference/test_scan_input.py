"""Tests of the scan's input forms: paths, nibabel images, arrays and MetaTensors give one volume; companions,
NaN voxels, names and plausibility warnings."""

import logging

import nibabel as nib
import numpy as np
import pytest
import torch
from _inference_helpers import ANISOTROPIC_AFFINE
from monai.data import MetaTensor

from cmb_kd.inference import (
    InputError,
    load_companion,
    load_image,
    load_scan_input,
    phase_beside_scan,
    plausibility_warnings,
    source_name,
    without_nan,
)


def _scan() -> np.ndarray:
    return np.random.default_rng(0).uniform(10.0, 100.0, size=(8, 9, 6)).astype(np.float32)


def test_path_nibabel_array_tensor_and_metatensor_give_the_same_volume(tmp_path, write_nifti) -> None:
    scan = _scan()
    path = write_nifti(tmp_path / "sub-001_T2S.nii.gz", scan, ANISOTROPIC_AFFINE)
    meta = MetaTensor(torch.from_numpy(scan)[None], affine=torch.as_tensor(ANISOTROPIC_AFFINE))
    forms = [
        (path, None),
        (nib.Nifti1Image(scan, ANISOTROPIC_AFFINE), None),
        (scan.astype(np.float64), ANISOTROPIC_AFFINE),
        (torch.from_numpy(scan)[None], ANISOTROPIC_AFFINE),
        (meta, None),
    ]
    for image, affine in forms:
        data, matrix = load_image(image, affine)
        assert data.dtype == np.float32 and data.shape == scan.shape and data.flags.c_contiguous
        np.testing.assert_array_equal(data, scan)
        np.testing.assert_allclose(matrix, ANISOTROPIC_AFFINE)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda s: s.astype(np.complex64), "image: expected real voxel values"),
        (lambda s: np.where(s > 50, np.inf, s), r"image: expected finite voxel values \(NaN is accepted"),
        (lambda s: np.full_like(s, np.nan), "got only NaN"),
        (lambda s: np.where(s > 50, np.nan, 7.0), "constant image of 7"),
        (lambda s: s[..., 0], r"image: expected a 3D volume \(X, Y, Z\) or \(1, X, Y, Z\)"),
    ],
)
def test_bad_arrays_are_refused(change, match) -> None:
    with pytest.raises(ValueError, match=match):
        load_image(change(_scan()), ANISOTROPIC_AFFINE)


def test_affines_where_none_belongs_or_none_where_one_is_needed(tmp_path, write_nifti) -> None:
    path = write_nifti(tmp_path / "scan.nii.gz", _scan())
    with pytest.raises(ValueError, match="affine: expected None with a file path"):
        load_image(path, np.eye(4))
    with pytest.raises(ValueError, match="affine: expected None with a nibabel image"):
        load_image(nib.Nifti1Image(_scan(), np.eye(4)), np.eye(4))
    with pytest.raises(ValueError, match="affine: expected the 4x4 voxel-to-world affine"):
        load_image(_scan(), None)
    with pytest.raises(ValueError, match="image: expected a NIfTI path, a nibabel image"):
        load_image([[1.0]], np.eye(4))
    with pytest.raises(InputError, match="file not found"):
        load_image(tmp_path / "missing.nii.gz", None)


def test_nan_voxels_become_zero_and_are_marked() -> None:
    scan = _scan()
    assert without_nan(scan)[1] is None and without_nan(scan)[0] is scan
    scan[0, 0, 0] = np.nan
    data, finite = without_nan(scan)
    assert data[0, 0, 0] == 0.0 and not finite[0, 0, 0] and finite.sum() == scan.size - 1
    assert not np.isnan(data).any()


def test_companions_a_mask_and_a_phase(tmp_path, write_nifti) -> None:
    shape = (8, 9, 6)
    values = np.zeros(shape, np.float32)
    values[2:5, 2:5, 1:4] = 1.0
    values[0, 0, 0] = np.nan
    mask = load_companion(values, "brain_mask", shape, mask=True)
    assert mask.dtype == np.bool_ and mask.sum() == 27 and not mask[0, 0, 0]
    phase = load_companion(values[None], "phase", shape, mask=False)
    assert phase.dtype == np.float32 and phase[0, 0, 0] == 0.0 and phase.sum() == 27.0
    path = write_nifti(tmp_path / "sub-001_brainmask.nii.gz", np.nan_to_num(values))
    assert load_companion(path, "brain_mask", shape, mask=True).sum() == 27
    with pytest.raises(ValueError, match=r"brain_mask: expected the image's shape \(8, 9, 7\), got \(8, 9, 6\)"):
        load_companion(values, "brain_mask", (8, 9, 7), mask=True)
    with pytest.raises(ValueError, match="^phase: .*file not found"):
        load_companion(tmp_path / "missing.nii.gz", "phase", shape, mask=False)


def test_names_and_plausibility_of_paths_and_arrays(tmp_path) -> None:
    mask = np.zeros((8, 9, 6), np.float32)
    mask[2:5, 2:5, 1:4] = 1.0
    assert source_name("sub-001_T2S.nii.gz", mask) == "sub-001_T2S.nii.gz"
    assert source_name(mask, mask) == "image of shape (8, 9, 6)"
    scan = _scan()
    assert plausibility_warnings(scan, scan, np.eye(4)) == ()
    with pytest.raises(ValueError, match=r"^image: only 2 distinct voxel value") as info:
        plausibility_warnings(mask, mask, np.eye(4))
    assert not isinstance(info.value, InputError)
    with pytest.raises(InputError, match="only 2 distinct voxel value") as info:
        plausibility_warnings(tmp_path / "sub-001_T2S.nii.gz", mask, np.eye(4))
    assert str(info.value).startswith(f"{tmp_path / 'sub-001_T2S.nii.gz'}: ")


def test_phase_beside_needs_a_path(tmp_path, write_nifti) -> None:
    scan = write_nifti(tmp_path / "sub-001_T2S.nii.gz", _scan())
    assert phase_beside_scan(scan) is None
    phase = write_nifti(tmp_path / "sub-001_phase.nii.gz", _scan())
    assert phase_beside_scan(scan) == phase
    with pytest.raises(ValueError, match="phase: 'beside' needs the scan as a path, got ndarray"):
        phase_beside_scan(_scan())


def test_load_scan_input_logs_the_warnings_on_the_given_logger(tmp_path, write_nifti, caplog) -> None:
    thick = np.diag([1.0, 1.0, 6.0, 1.0])
    scan = _scan()
    scan[1, 1, 1] = np.nan
    path = write_nifti(tmp_path / "sub-001_T2S.nii.gz", _scan(), thick)
    write_nifti(tmp_path / "sub-001_phase.nii.gz", _scan(), thick)
    log = logging.getLogger("cmb_kd.tests.scan_input")
    with caplog.at_level(logging.WARNING, logger=log.name):
        loaded = load_scan_input(scan, thick, brain_mask=np.ones(scan.shape), name=path, log=log)
    assert [r.name for r in caplog.records] == [log.name]
    assert caplog.records[0].getMessage().startswith(f"{path}: slices of 6 mm are thicker")
    assert loaded.name == str(path) and loaded.warnings == (caplog.records[0].getMessage()[len(f"{path}: ") :],)
    assert loaded.data[1, 1, 1] == 0.0 and not loaded.finite_input[1, 1, 1] and loaded.phase is None
    assert loaded.brain_mask.all()
    beside = load_scan_input(path, phase="beside")
    np.testing.assert_array_equal(beside.phase, _scan())
    assert beside.finite_input is None and beside.brain_mask is None
