"""Tests of cmb_kd.evaluation.cohort_split: a split's checked entries, their subjects and references, and the
identity of a cohort."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from _test_files import ANISOTROPIC_AFFINE, write_probability_cohort

from cmb_kd.evaluation import cohort_entries, cohort_identity, load_reference, subject_of


def _write_datalist(cohort: Path, content) -> Path:
    cohort.mkdir(parents=True, exist_ok=True)
    datalist = cohort / "datalist.json"
    datalist.write_text(content if isinstance(content, str) else json.dumps(content))
    return datalist


def test_cohort_entries_returns_the_split_in_order(tmp_path) -> None:
    datalist = write_probability_cohort(tmp_path, factors=(2, 8))
    entries = cohort_entries(tmp_path, "test", [2, 8])
    assert entries == json.loads(datalist.read_text())["test"]
    assert [e["subject"] for e in entries] == ["sub-001", "sub-002"]
    assert cohort_entries(tmp_path, "test", []) == entries  # no factor: image and label only


def test_cohort_entries_does_not_require_phase_images(tmp_path) -> None:
    datalist = write_probability_cohort(tmp_path, factors=(2,))
    lists = json.loads(datalist.read_text())
    for entry in lists["test"]:
        for key in ("phase", "phase_lr_x2"):
            (tmp_path / entry.pop(key)).unlink()
    datalist.write_text(json.dumps(lists))
    assert [e["subject"] for e in cohort_entries(tmp_path, "test", [2])] == ["sub-001", "sub-002"]


def _drop_key(key: str):
    def change(lists: dict, cohort: Path) -> None:
        del lists["test"][1][key]

    return change


def _drop_file(key: str):
    def change(lists: dict, cohort: Path) -> None:
        (cohort / lists["test"][1][key]).unlink()

    return change


@pytest.mark.parametrize(
    ("split", "factors", "change", "message"),
    [
        ("holdout", [2], None, r"datalist.json has no non-empty list 'holdout'; expected one of \['test'\]"),
        ("validation", [2], None, r"no non-empty list 'validation'; expected one of \['test'\]"),
        ("seed", [2], None, r"no non-empty list 'seed'"),  # a key that is not a list
        ("test", [3], None, r"--factors: .*datalist.json: test\[0\] has no key 'image_lr_x3'"),
        ("test", [2], _drop_key("label_lr_x2"), r"--factors: .*: test\[1\] has no key 'label_lr_x2'"),
        ("test", [2], _drop_key("label"), r"--cohort: .*: test\[1\] has no key 'label'"),
        ("test", [2], _drop_key("image"), r"--cohort: .*: test\[1\] has no key 'image'"),
        ("test", [2], _drop_file("image_lr_x2"), r"sub-002_T2S_lr-x2.nii.gz: not found \(test\[1\]\['image_lr_x2'\]\)"),
        ("test", [2], _drop_file("label"), r"sub-002_CMB.nii.gz: not found \(test\[1\]\['label'\]\)"),
        (
            "test",
            [2],
            _drop_file("phase_lr_x2"),
            r"sub-002_phase_lr-x2.nii.gz: not found \(test\[1\]\['phase_lr_x2'\]\)",
        ),
        ("test", [8], _drop_file("phase_lr_x2"), None),  # the phase of a factor not evaluated is not checked
    ],
)
def test_cohort_entries_names_what_is_missing(tmp_path, split, factors, change, message) -> None:
    datalist = write_probability_cohort(tmp_path, factors=(2, 8))
    lists = json.loads(datalist.read_text())
    if change is not None:
        change(lists, tmp_path)
    datalist.write_text(json.dumps(lists))
    if message is None:
        assert len(cohort_entries(tmp_path, split, factors)) == 2
        return
    with pytest.raises(ValueError, match=message):
        cohort_entries(tmp_path, split, factors)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, r"--cohort: .*datalist.json: not found; expected a cohort written by 'cmb-kd synth'"),
        ("{not json", r"--cohort: .*datalist.json: not JSON \("),
        ({"seed": 1, "test": []}, r"no non-empty list 'test'; expected one of \[\]"),
        ({"training": [{"image": "a"}], "test": {}}, r"no non-empty list 'test'; expected one of \['training'\]"),
        ([{"image": "a"}], r"no non-empty list 'test'; expected one of \[\]"),
    ],
)
def test_cohort_entries_refuses_a_bad_datalist(tmp_path, content, message) -> None:
    if content is not None:
        _write_datalist(tmp_path, content)
    with pytest.raises(ValueError, match=message):
        cohort_entries(tmp_path, "test", [4])


def test_cohort_entries_refuses_a_missing_folder(tmp_path) -> None:
    with pytest.raises(ValueError, match=r"--cohort: .*nowhere: folder not found; expected a cohort written by"):
        cohort_entries(tmp_path / "nowhere", "test", [4])


@pytest.mark.parametrize(
    ("entry", "subject"),
    [
        ({"subject": "sub-007", "image": "sub-001/sub-001_T2S.nii.gz"}, "sub-007"),
        ({"image": "sub-003/sub-003_T2S.nii.gz"}, "sub-003"),
        ({"subject": 12, "image": "x/y.nii.gz"}, "12"),
    ],
)
def test_subject_of(entry: dict, subject: str) -> None:
    assert subject_of(entry) == subject


def test_cohort_identity_counts_distinct_images_over_the_three_lists(tmp_path) -> None:
    _write_datalist(
        tmp_path,
        {
            "seed": 3,
            "training": [{"image": "a"}, {"image": "b"}],
            "validation": [{"image": "c"}],
            "test": [{"image": "d"}, {"image": "a"}],  # a subject listed twice counts once
            "extra": [{"image": "e"}],  # not one of the three lists
            "numTraining": 2,
        },
    )
    assert cohort_identity(tmp_path) == {"seed": 3, "subjects": 4}
    _write_datalist(tmp_path, {"test": [{"image": "a"}], "validation": None})
    assert cohort_identity(tmp_path) == {"seed": None, "subjects": 1}


def test_cohort_identity_of_a_written_cohort(tmp_path) -> None:
    write_probability_cohort(tmp_path, seed=11)
    assert cohort_identity(tmp_path) == {"seed": 11, "subjects": 2}


def _label(path: Path, data: np.ndarray, affine: np.ndarray = ANISOTROPIC_AFFINE) -> Path:
    nib.save(nib.Nifti1Image(data, affine), path)
    return path


def test_load_reference_returns_the_label_on_the_scan_grid(tmp_path) -> None:
    data = np.zeros((8, 9, 6), np.uint8)
    data[2, 3, 4] = 1
    label = load_reference(_label(tmp_path / "l.nii.gz", data), (8, 9, 6), ANISOTROPIC_AFFINE)
    assert label.shape == (8, 9, 6) and label.dtype == np.uint8 and np.array_equal(label, data)
    squeezed = load_reference(_label(tmp_path / "l4.nii.gz", data[..., None]), [8, 9, 6], ANISOTROPIC_AFFINE)
    assert np.array_equal(squeezed, data)  # a trailing axis of size 1 dropped
    nudged = ANISOTROPIC_AFFINE.copy()
    nudged[0, 3] += 1e-4  # within the tolerance
    assert np.array_equal(load_reference(tmp_path / "l.nii.gz", (8, 9, 6), nudged), data)


@pytest.mark.parametrize(
    ("data_shape", "shift", "scale"),
    [
        ((8, 9, 5), 0.0, 1.0),  # another shape
        ((9, 8, 6), 0.0, 1.0),  # axes swapped
        ((8, 9, 6, 2), 0.0, 1.0),  # a 4D label that is not one volume
        ((8, 9, 6), 0.5, 1.0),  # shifted by half a voxel
        ((8, 9, 6), 0.0, 2.0),  # thicker slices
    ],
)
def test_load_reference_refuses_a_label_on_another_grid(tmp_path, data_shape, shift, scale) -> None:
    affine = ANISOTROPIC_AFFINE.copy()
    affine[0, 3] += shift
    affine[2, 2] *= scale
    path = _label(tmp_path / "other.nii.gz", np.zeros(data_shape, np.uint8), affine)
    with pytest.raises(ValueError, match=r"other.nii.gz: reference of shape .* is not on the scan's grid \(shape "
                       r"\(8, 9, 6\) and the same affine expected\)"):  # fmt: skip
        load_reference(path, (8, 9, 6), ANISOTROPIC_AFFINE)
