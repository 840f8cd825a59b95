import logging

import nibabel as nib
import numpy as np
import pytest

from cmb_kd.inference import ImageInputs
from cmb_kd.io import InputError


def _nifti(path, data=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.random.default_rng(0).random((4, 4, 3)).astype(np.float32) if data is None else data
    nib.save(nib.Nifti1Image(data, np.eye(4)), path)
    return path


def test_lists_the_images_of_an_mra_cohort_and_skips_its_labels_and_masks(tmp_path) -> None:
    for subject in ("sub-001", "sub-002"):
        _nifti(tmp_path / subject / f"{subject}_TOF.nii.gz")
        _nifti(tmp_path / subject / f"{subject}_vessels.nii.gz", np.zeros((4, 4, 3), np.uint8))
        _nifti(tmp_path / subject / f"{subject}_brainmask.nii.gz", np.ones((4, 4, 3), np.uint8))
    (tmp_path / "datalist.json").write_text("{}")
    found = ImageInputs(tmp_path)
    assert found.datalist == [{"image": str(tmp_path / s / f"{s}_TOF.nii.gz")} for s in ("sub-001", "sub-002")]
    assert found.problems == []
    found.exit_on_problems()  # returns quietly


def test_a_broken_file_is_logged_left_out_and_fails_the_run_at_its_end(tmp_path, caplog) -> None:
    good = _nifti(tmp_path / "a.nii.gz")
    (tmp_path / "broken.nii.gz").write_bytes(b"not gzip")
    with caplog.at_level(logging.ERROR, logger="cmb_kd.inference.image_inputs"):
        found = ImageInputs([tmp_path])
    assert found.datalist == [{"image": str(good)}]
    assert "broken.nii.gz" in caplog.text and [p.path.name for p in found.problems] == ["broken.nii.gz"]
    with pytest.raises(SystemExit) as stop, caplog.at_level(logging.ERROR, logger="cmb_kd.inference.image_inputs"):
        found.exit_on_problems()
    assert stop.value.code == 1 and "1 input path(s) could not be used" in caplog.text


def test_a_missing_or_empty_folder_gives_an_empty_datalist_and_fails_at_the_end(tmp_path, caplog) -> None:
    for paths in (tmp_path / "missing", tmp_path):
        found = ImageInputs(paths)
        assert found.datalist == []
        with pytest.raises(SystemExit):
            found.exit_on_problems()
    assert isinstance(found.problems[0], InputError)


def test_modalities_filter_the_folder(tmp_path) -> None:
    _nifti(tmp_path / "sub-001_TOF.nii.gz")
    _nifti(tmp_path / "sub-001_T1w.nii.gz")
    found = ImageInputs(tmp_path, modalities=("TOF",))
    assert found.datalist == [{"image": str(tmp_path / "sub-001_TOF.nii.gz")}]


def test_no_path_raises() -> None:
    with pytest.raises(ValueError, match="paths: expected one or more"):
        ImageInputs([])
