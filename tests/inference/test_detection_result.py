"""Tests of DetectionResult: the lesion table as rows or a DataFrame, and saving what cmb-kd infer writes."""

from __future__ import annotations

import csv
import dataclasses
import json
import sys

import nibabel as nib
import numpy as np
import pytest

from cmb_kd.inference import DetectionResult, lesion_table
from cmb_kd.inference.lesion_table import LESION_COLUMNS

AFFINE = np.diag([0.5, 0.5, 3.0, 1.0])


def _result(lesions: bool = True) -> DetectionResult:
    mask = np.zeros((30, 32, 10), np.uint8)
    probability = np.zeros(mask.shape, np.float32)
    if lesions:
        mask[5:8, 5:8, 2:4] = 1
        mask[20:22, 24:26, 7] = 1
        probability[mask > 0] = 0.8
        probability[20, 24, 7] = 0.95
    table = lesion_table(mask, AFFINE, probability=probability)
    return DetectionResult(mask, probability, AFFINE, table, len(table), [], {"segmentation": 1.0})


def test_lesion_rows_and_dataframe_hold_the_lesion_table() -> None:
    result = _result()
    rows = result.lesion_rows()
    assert len(rows) == 2 and list(rows[0]) == list(LESION_COLUMNS)
    assert [r["n_voxels"] for r in rows] == [18, 4] and rows[1]["max_probability"] == pytest.approx(0.95)
    frame = result.to_dataframe()
    assert list(frame.columns) == list(LESION_COLUMNS) and frame["n_voxels"].tolist() == [18, 4]
    assert list(_result(lesions=False).to_dataframe().columns) == list(LESION_COLUMNS)  # empty, with its columns


def test_to_dataframe_without_pandas_says_what_to_use(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas raises ImportError
    with pytest.raises(ImportError, match=r"needs pandas.*lesion_rows\(\)"):
        _result().to_dataframe()


def test_save_writes_the_files_of_cmb_kd_infer(tmp_path) -> None:
    result = _result()
    image = np.random.default_rng(0).uniform(50, 100, result.mask.shape).astype(np.float32)
    image[0] = np.nan  # a NaN background is drawn as 0
    written = result.save(tmp_path / "out", "sub-001_T2S.nii.gz", image=image)
    names = [p.name for p in written]
    report = ["sub-001_T2S_cmb_report.png", "sub-001_T2S_cmb_report.html"]
    assert names == ["sub-001_T2S_cmb_mask.nii.gz", "sub-001_T2S_cmb_lesions.csv", *report]
    saved = nib.load(written[0])
    assert np.array_equal(np.asarray(saved.dataobj), result.mask) and np.allclose(saved.affine, AFFINE)
    with open(written[1], newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [int(r["n_voxels"]) for r in table] == [18, 4] and list(table[0]) == list(LESION_COLUMNS)
    assert written[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<title>sub-001_T2S: 2 CMB(s)</title>" in written[3].read_text(encoding="utf-8")
    again = result.save(tmp_path / "out", "sub-001_T2S")  # no report now: the earlier one goes
    assert [p.name for p in again] == names[:2] and not written[2].exists() and not written[3].exists()
    assert not (tmp_path / "out" / "cmb_summary.csv").exists()


@pytest.mark.parametrize(
    ("name", "image", "match"),
    [
        ("a/b", None, "name: expected a scan name without folders"),
        ("", None, "name"),
        ("x", np.zeros((4, 4, 4)), "image"),
    ],
)
def test_save_refuses_bad_names_and_images(tmp_path, name, image, match) -> None:
    with pytest.raises(ValueError, match=match):
        _result().save(tmp_path, name, image=image)
    assert not list(tmp_path.iterdir())


def test_locate_then_save_writes_the_location(tmp_path, monkeypatch) -> None:
    from _inference_helpers import fake_locate

    from cmb_kd.inference import location_output

    seen = {}

    def recording(volume, affine, brain_mask, centroids_mm, **options):
        seen.update(volume=volume, brain_mask=brain_mask, options=options)
        return fake_locate(volume, affine, brain_mask, centroids_mm)

    monkeypatch.setattr(location_output, "locate", recording)
    result = _result()
    with pytest.raises(ValueError, match="brain_mask: expected the brain mask"):
        result.locate(np.ones(result.mask.shape))  # a result built without its brain mask
    brain = np.ones(result.mask.shape, dtype=bool)
    image = np.full(result.mask.shape, 80.0, dtype=np.float32)
    image[0] = np.nan
    located = dataclasses.replace(result, brain_mask=brain).locate(image, settings="s")
    assert result.location is None and located.location.regions == ("frontal", "frontal")
    assert seen["brain_mask"] is brain and seen["options"] == {"settings": "s"} and np.isfinite(seen["volume"]).all()
    assert located.lesion_rows()[0]["region"] == "frontal" and "side" in located.to_dataframe().columns
    written = located.save(tmp_path, "s")
    assert [p.name for p in written] == ["s_cmb_mask.nii.gz", "s_cmb_lesions.csv", "s_cmb_location.json"]
    assert json.loads(written[2].read_text())["by_class"]["lobar"] == 2
    result.save(tmp_path, "s")  # saved again without location: the JSON goes
    assert not written[2].exists()
