"""Tests of cmb_kd.evaluation.location_agreement: true and detected CMB locations against the simulator's classes."""

from __future__ import annotations

import csv
import json
from types import SimpleNamespace

import nibabel as nib
import numpy as np
import pytest

from cmb_kd.evaluation import (
    MISSED,
    SubjectLocation,
    detected_location,
    locate_true_lesions,
    location_tables,
    true_lesions,
    truth_row,
)
from cmb_kd.evaluation import location_agreement as agreement

RECORD = {
    "cmbs": [
        {"type": "cmb", "location": "juxtacortical", "centre_mm": [-40.0, 30.0, 4.0]},
        {"type": "cmb", "location": "deep", "centre_mm": [20.0, 0.0, 2.0]},
        {"type": "cmb", "location": "posterior_fossa", "centre_mm": [10.0, -60.0, -30.0]},
        {"type": "calcification", "location": "deep", "centre_mm": [0.0, 0.0, 0.0]},
    ]
}


def _subject(cohort, name="sub-001"):
    (cohort / name).mkdir(parents=True)
    (cohort / name / f"{name}.json").write_text(json.dumps(RECORD))


def _predictions(folder, rows, record):
    folder.mkdir()
    name = "sub-001_T2S_lr-x4"
    with open(folder / f"{name}_cmb_lesions.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, ["id", "centroid_x_mm", "centroid_y_mm", "centroid_z_mm", "location_class"])
        writer.writeheader()
        for i, (x, y, z, c) in enumerate(rows, 1):
            writer.writerow({"id": i, "centroid_x_mm": x, "centroid_y_mm": y, "centroid_z_mm": z, "location_class": c})
    (folder / f"{name}_cmb_location.json").write_text(json.dumps(record))


def test_true_lesions_are_the_cmbs_with_their_mars_class():
    classes, centres = true_lesions(RECORD)
    assert classes == ["lobar", "deep", "infratentorial"]
    assert centres.shape == (3, 3) and centres[1].tolist() == [20.0, 0.0, 2.0]
    assert true_lesions({"cmbs": []})[1].shape == (0, 3)


def test_truth_row_counts_the_classes():
    row = truth_row(["lobar", "lobar", "deep"])
    assert row["n_cmb"] == 3 and row["burden_class"] == "2-4" and row["mixed"] and not row["strictly_lobar"]
    assert truth_row(["lobar", "lobar"])["boston_strictly_lobar_2plus"] and truth_row([])["burden_class"] == "0"


def test_each_true_cmb_takes_the_class_of_the_detection_within_5_mm(tmp_path):
    _subject(tmp_path / "cohort")
    summary = {"burden_class": "2-4", "strictly_lobar": False, "boston_strictly_lobar_2plus": False, "mixed": True}
    rows = [(-41.0, 31.0, 6.0, "lobar"), (20.0, 5.5, 2.0, "deep"), (60.0, 0.0, 0.0, "deep")]  # 2nd is 5.5 mm away
    _predictions(tmp_path / "out", rows, summary)
    result = detected_location(tmp_path / "cohort", "sub-001", 4, tmp_path / "out")
    assert result.truth == ["lobar", "deep", "infratentorial"]
    assert result.located == ["lobar", MISSED, MISSED]
    assert result.row == summary and result.true_row["burden_class"] == "2-4"


def test_missing_or_unlocated_outputs_are_named(tmp_path):
    _subject(tmp_path / "cohort")
    with pytest.raises(ValueError, match="sub-001_T2S_lr-x4_cmb_lesions.csv: not found; expected the outputs of"):
        detected_location(tmp_path / "cohort", "sub-001", 4, tmp_path / "none")
    _predictions(tmp_path / "out", [(0.0, 0.0, 0.0, "deep")], {})
    table = tmp_path / "out" / "sub-001_T2S_lr-x4_cmb_lesions.csv"
    table.write_text("id,centroid_x_mm,centroid_y_mm,centroid_z_mm\n1,0,0,0\n")
    with pytest.raises(ValueError, match="expected the location columns"):
        detected_location(tmp_path / "cohort", "sub-001", 4, tmp_path / "out")


def test_true_lesions_are_located_on_the_subject_scan(tmp_path, monkeypatch):
    _subject(tmp_path / "cohort")
    folder = tmp_path / "cohort" / "sub-001"
    nib.save(nib.Nifti1Image(np.ones((4, 4, 2), np.float32), np.eye(4)), folder / "sub-001_T2S_lr-x4.nii.gz")
    nib.save(nib.Nifti1Image(np.ones((4, 4, 2), np.uint8), np.eye(4)), folder / "sub-001_brainmask_lr-x4.nii.gz")
    seen = {}

    def fake_locate(volume, affine, mask, centres, settings=None):
        seen.update(shape=volume.shape, mask=mask.dtype, centres=centres.copy())
        return SimpleNamespace(classes=["lobar", "lobar", "deep"], row=lambda: {"burden_class": "2-4"})

    monkeypatch.setattr(agreement, "locate", fake_locate)
    result = locate_true_lesions(tmp_path / "cohort", "sub-001", 4)
    assert seen["shape"] == (4, 4, 2) and seen["mask"] == np.dtype(bool) and seen["centres"].shape == (3, 3)
    assert result.located == ["lobar", "lobar", "deep"] and result.seconds >= 0


def test_tables_count_classes_burden_and_flags():
    def subject(truth, located, true_class, found_class, lobar=False):
        flags = {"strictly_lobar": lobar, "boston_strictly_lobar_2plus": False, "mixed": False}
        return SubjectLocation(
            "s", truth, located, {"burden_class": true_class, **flags}, {"burden_class": found_class, **flags}
        )

    results = [
        subject(["lobar", "deep"], ["lobar", "lobar"], "2-4", "2-4"),
        subject(["infratentorial"], [MISSED], "1", "0", lobar=True),
    ]
    text = location_tables(results)
    assert "| lobar | 1 | 0 | 0 | 0 | 0 | 1 |" in text and "| deep | 1 | 0 | 0 | 0 | 0 | 1 |" in text
    assert "| infratentorial | 0 | 0 | 0 | 0 | 1 | 1 |" in text
    assert "Class accuracy over the located CMBs: 1/2 (1 missed)" in text
    assert "| 1 | 1 | 0 | 0 | 0 |" in text and "Burden class agreement: 1/2" in text
    assert "| strictly_lobar | 2/2 | 1 / 1 |" in text
