import csv
import json
import math
import os
import re
import stat

import nibabel as nib
import numpy as np
import pytest
from _inference_helpers import ANISOTROPIC_AFFINE, fake_locate, interrupt_rename_to

from cmb_kd.inference import (
    LESION_COLUMNS,
    SUMMARY_COLUMNS,
    InferenceOutcome,
    InputError,
    Lesion,
    OutputError,
    OutputWriter,
    lesion_table,
    load_scan,
)
from cmb_kd.io import atomic as _atomic
from cmb_kd.io import write_bytes_atomic
from cmb_kd.location import LESION_LOCATION_COLUMNS


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("suffix", [".nii.gz", ".nii"])
def test_mask_keeps_shape_affine_and_input(tmp_path, write_nifti, scan_image, suffix):
    source = write_nifti(tmp_path / "in" / f"sub-001_T2S{suffix}", scan_image)
    before = source.read_bytes()
    data, affine, header = load_scan(source)
    mask = np.zeros(data.shape, dtype=bool)
    mask[2:4, 3:5, 1:3] = True
    writer = OutputWriter(tmp_path / "out" / "nested")
    written = writer.write_mask(source, mask, affine, header=header)

    assert written == tmp_path / "out" / "nested" / "sub-001_T2S_cmb_mask.nii.gz"
    image = nib.load(written)
    assert image.shape == data.shape
    assert image.get_data_dtype() == np.uint8
    np.testing.assert_array_equal(np.asanyarray(image.dataobj), mask.astype(np.uint8))
    np.testing.assert_array_equal(image.affine, affine)
    np.testing.assert_allclose(image.get_qform(), affine, atol=1e-5)
    assert int(image.header["sform_code"]) == 1 and int(image.header["qform_code"]) == 1
    assert _files(written.parent) == ["sub-001_T2S_cmb_mask.nii.gz"]
    assert source.read_bytes() == before
    assert _files(source.parent) == [source.name]


def test_mask_replaces_previous_output_and_rejects_bad_masks(tmp_path, scan_image):
    writer = OutputWriter(tmp_path)
    first = writer.write_mask("scan.nii", np.ones((4, 5, 6), dtype=np.uint8), np.eye(4))
    second = writer.write_mask("scan.nii", np.zeros((4, 5, 6), dtype=np.int64), np.eye(4))
    assert first == second and not np.asanyarray(nib.load(second).dataobj).any()
    header = nib.Nifti1Header()
    header.set_data_shape((4, 5, 7))
    with pytest.raises(ValueError, match=r"mask: expected the input's shape \(4, 5, 7\), got shape \(4, 5, 6\)"):
        writer.write_mask("scan.nii", np.zeros((4, 5, 6)), np.eye(4), header=header)
    with pytest.raises(ValueError, match=r"mask: expected integer labels in \[0, 255\]"):
        writer.write_mask("scan.nii", np.full((4, 5, 6), 0.5), np.eye(4))
    with pytest.raises(ValueError, match="mask: expected a 3D mask"):
        writer.write_mask("scan.nii", np.zeros((4, 5)), np.eye(4))
    with pytest.raises(ValueError, match="affine: expected a finite, invertible 4x4"):
        writer.write_mask("scan.nii", np.zeros((4, 5, 6)), np.diag([1.0, 0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="input_path: expected a NIfTI file name"):
        writer.mask_path("scan.mha")
    assert _files(tmp_path) == ["scan_cmb_mask.nii.gz"]


def test_lesion_csv_and_summary(tmp_path):
    mask = np.zeros((10, 10, 5), dtype=bool)
    mask[1:3, 1:3, 1] = True
    mask[6, 6, 3] = True
    probability = mask * 0.75
    lesions = lesion_table(mask, ANISOTROPIC_AFFINE, probability)
    writer = OutputWriter(tmp_path)
    path = writer.write_lesions("sub-001_T2S.nii.gz", lesions)
    rows = _read_csv(path)
    assert path.name == "sub-001_T2S_cmb_lesions.csv"
    assert list(rows[0]) == list(LESION_COLUMNS)
    assert [row["id"] for row in rows] == ["1", "2"]
    assert float(rows[0]["volume_mm3"]) == pytest.approx(4 * 0.75)
    assert float(rows[1]["max_probability"]) == 0.75

    empty = writer.write_lesions("other.nii", [])
    assert empty.read_text() == ",".join(LESION_COLUMNS) + "\n"
    no_prob = writer.write_lesions("third.nii", lesion_table(mask, np.eye(4)))
    assert [row["max_probability"] for row in _read_csv(no_prob)] == ["", ""]

    error = InputError(tmp_path / "bad.nii.gz", "2D image of shape (4, 4)", "a 3D volume")
    summary = writer.write_summary(
        [InferenceOutcome.succeeded("sub-001_T2S.nii.gz", len(lesions)), InferenceOutcome.failed(error.path, error)]
    )
    assert summary.name == "cmb_summary.csv"
    rows = _read_csv(summary)
    assert list(rows[0]) == list(SUMMARY_COLUMNS)
    assert {key: rows[0][key] for key in ("name", "count", "status", "message")} == {
        "name": "sub-001_T2S",
        "count": "2",
        "status": "ok",
        "message": "",
    }
    assert rows[1]["name"] == "bad" and rows[1]["count"] == "" and rows[1]["status"] == "failed"
    assert rows[1]["message"] == str(error)
    assert not [name for name in _files(tmp_path) if name.startswith(".")]
    with pytest.raises(ValueError, match=r"lesions\[0\]: expected a Lesion"):
        writer.write_lesions("x.nii", [{"id": 1}])
    with pytest.raises(ValueError, match=r"outcomes\[0\]: expected an InferenceOutcome"):
        writer.write_summary(["sub-001"])


def test_unwritable_destination_raises_naming_the_folder(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot create the folder") as info:
        OutputWriter(blocker / "out")
    assert str(info.value).startswith(str(blocker / "out"))
    with pytest.raises(OutputError, match="exists and is not a folder"):
        OutputWriter(blocker)
    assert isinstance(info.value, OSError)


def test_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    import os

    writer = OutputWriter(tmp_path)

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OutputError, match="cannot write the file \\(No space left on device\\)"):
        writer.write_summary([InferenceOutcome.succeeded("a.nii", 0)])
    assert _files(tmp_path) == []


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"name": "a", "count": 1, "status": "done"}, "status: expected one of"),
        ({"name": "a", "count": -1, "status": "ok"}, "count: expected a non-negative integer"),
        ({"name": "a", "count": None, "status": "ok"}, "count: expected a non-negative integer"),
        ({"name": "a", "count": 2, "status": "failed", "message": "x"}, "expected count None"),
        ({"name": "a", "count": None, "status": "failed"}, "non-empty message"),
    ],
)
def test_outcome_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        InferenceOutcome(**kwargs)


def test_lesion_row_has_every_column():
    lesion = Lesion(1, (1.0, 2.0, 3.0), (4.0, 5.0, 6.0), 3, 1.5, 1.4)
    row = lesion.as_row()
    assert list(row) == list(LESION_COLUMNS) and math.isnan(row["max_probability"])


def _scan_outputs(tmp_path):
    mask = np.zeros((8, 9, 6), dtype=np.uint8)
    mask[2, 3, 1] = 1
    return mask, lesion_table(mask, ANISOTROPIC_AFFINE)


def test_write_scan_writes_the_outputs_together_and_drops_a_stale_report(tmp_path, scan_image):
    writer = OutputWriter(tmp_path)
    mask, lesions = _scan_outputs(tmp_path)
    written = writer.write_scan("s.nii.gz", mask, ANISOTROPIC_AFFINE, lesions, report_image=scan_image)
    report = ["s_cmb_report.png", "s_cmb_report.html"]
    assert [p.name for p in written] == ["s_cmb_mask.nii.gz", "s_cmb_lesions.csv", *report]
    assert written == [p for p in writer.outputs_of("s.nii.gz") if p != writer.location_path("s.nii.gz")]
    assert _files(tmp_path) == ["s_cmb_lesions.csv", "s_cmb_mask.nii.gz", *sorted(report)]
    assert written[3].read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    writer.write_scan("s.nii.gz", mask, ANISOTROPIC_AFFINE, lesions)
    assert _files(tmp_path) == ["s_cmb_lesions.csv", "s_cmb_mask.nii.gz"]  # no report of other detections
    with pytest.raises(ValueError, match="mask: expected a 3D mask"):
        writer.write_scan("t.nii.gz", mask[..., 0], ANISOTROPIC_AFFINE, lesions)
    assert _files(tmp_path) == ["s_cmb_lesions.csv", "s_cmb_mask.nii.gz"]


@pytest.mark.parametrize("stage", ["rename", "write", "page"])
def test_failed_table_write_leaves_no_output_of_the_scan(tmp_path, scan_image, monkeypatch, stage):
    writer = OutputWriter(tmp_path)
    mask, lesions = _scan_outputs(tmp_path)
    writer.write_scan("s.nii.gz", mask, ANISOTROPIC_AFFINE, lesions, report_image=scan_image)  # an earlier run
    writer.write_scan("other.nii.gz", mask, ANISOTROPIC_AFFINE, lesions)
    suffix = "_cmb_report.html" if stage == "page" else "_cmb_lesions.csv"
    if stage in ("rename", "page"):  # the page is renamed last, after the picture
        interrupt_rename_to(monkeypatch, suffix, OSError(28, "No space left on device"))
    else:
        write_temporary = _atomic._write_temporary

        def failing(target, data):
            if target.name.endswith("_cmb_lesions.csv"):
                raise OutputError(target, "cannot write the file (No space left on device)", "a writable destination")
            return write_temporary(target, data)

        monkeypatch.setattr(_atomic, "_write_temporary", failing)
    with pytest.raises(OutputError, match=rf"s{re.escape(suffix)}: cannot write the file \(No space left on device\)"):
        writer.write_scan("s.nii.gz", mask, ANISOTROPIC_AFFINE, lesions, report_image=scan_image)
    # neither the new mask, picture or page nor the earlier run's outputs of s are left, and no temporary; other scans
    # are kept
    assert _files(tmp_path) == ["other_cmb_lesions.csv", "other_cmb_mask.nii.gz"]


def test_write_scan_with_location_writes_the_json_and_columns_and_a_later_scan_without_drops_them(tmp_path, scan_image):
    writer = OutputWriter(tmp_path)
    mask, lesions = _scan_outputs(tmp_path)
    location = fake_locate(None, None, None, [lesion.centroid_mm for lesion in lesions])
    written = writer.write_scan(
        "s.nii.gz", mask, ANISOTROPIC_AFFINE, lesions, report_image=scan_image, location=location
    )
    assert written == writer.outputs_of("s.nii.gz")
    assert [p.name for p in written][:3] == ["s_cmb_mask.nii.gz", "s_cmb_lesions.csv", "s_cmb_location.json"]
    rows = _read_csv(writer.lesions_path("s.nii.gz"))
    assert list(rows[0]) == [*LESION_COLUMNS, *LESION_LOCATION_COLUMNS]
    assert (rows[0]["region"], rows[0]["location_class"]) == (location.regions[0], location.classes[0])
    summary = json.loads(writer.location_path("s.nii.gz").read_text(encoding="utf-8"))
    assert summary["name"] == "s" and summary["n_cmb"] == 1 and summary["lesions"][0]["id"] == 1
    page = writer.report_html_path("s.nii.gz").read_text(encoding="utf-8")
    assert "location (MARS): " in page and f"<td>{location.regions[0]}</td>" in page
    writer.write_scan("s.nii.gz", mask, ANISOTROPIC_AFFINE, lesions)  # run again without location
    assert _files(tmp_path) == ["s_cmb_lesions.csv", "s_cmb_mask.nii.gz"]  # no JSON of other detections
    assert list(_read_csv(writer.lesions_path("s.nii.gz"))[0]) == list(LESION_COLUMNS)
    with pytest.raises(ValueError, match=r"location: expected the regions of 1 lesion\(s\), got 0"):
        writer.write_scan("s.nii.gz", mask, ANISOTROPIC_AFFINE, lesions, location=fake_locate(None, None, None, []))
    assert _files(tmp_path) == ["s_cmb_lesions.csv", "s_cmb_mask.nii.gz"]  # nothing written


def test_a_failed_json_write_leaves_no_output_of_the_scan(tmp_path, monkeypatch):
    writer = OutputWriter(tmp_path)
    mask, lesions = _scan_outputs(tmp_path)
    location = fake_locate(None, None, None, [lesion.centroid_mm for lesion in lesions])
    writer.write_scan("s.nii.gz", mask, ANISOTROPIC_AFFINE, lesions, location=location)  # an earlier run
    interrupt_rename_to(monkeypatch, "_cmb_location.json", OSError(28, "No space left on device"))
    with pytest.raises(OutputError, match=r"s_cmb_location.json: cannot write the file"):
        writer.write_scan("s.nii.gz", mask, ANISOTROPIC_AFFINE, lesions, location=location)
    assert _files(tmp_path) == []  # the mask and table renamed before it are gone with the earlier run's files


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_get_the_mode_of_a_plain_open(tmp_path, scan_image, umask, mode):
    previous = os.umask(umask)
    try:
        with open(tmp_path / "plain.txt", "w") as handle:
            handle.write("x")
        writer = OutputWriter(tmp_path / "out")
        mask, lesions = _scan_outputs(tmp_path)
        written = writer.write_scan("s.nii.gz", mask, ANISOTROPIC_AFFINE, lesions, report_image=scan_image)
        written += [writer.write_summary([InferenceOutcome.succeeded("s.nii.gz", 1)])]
        written += [write_bytes_atomic(tmp_path / "single.bin", b"x")]
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(tmp_path / "plain.txt").st_mode) == mode
    assert {p.name: stat.S_IMODE(os.stat(p).st_mode) for p in written} == {p.name: mode for p in written}


def test_summary_keeps_earlier_rows_and_replaces_reprocessed_names(tmp_path):
    writer = OutputWriter(tmp_path)
    assert writer.read_summary() == []
    (tmp_path / "cmb_summary.csv").write_text("name,count,status,message\nold,2,ok,\nagain,1,ok,\n")
    earlier = writer.read_summary()
    assert [row["name"] for row in earlier] == ["old", "again"]
    assert set(earlier[0]) == set(SUMMARY_COLUMNS)  # a column missing from an older file is an empty cell
    writer.write_summary([InferenceOutcome.failed("again.nii.gz", "again.nii.gz: broken")], earlier=earlier)
    rows = _read_csv(tmp_path / "cmb_summary.csv")
    assert [(row["name"], row["status"]) for row in rows] == [("old", "ok"), ("again", "failed")]
    assert rows[0]["count"] == "2"
    assert list(rows[0]) == list(SUMMARY_COLUMNS) and rows[0]["burden_class"] == ""  # the burden columns added
    with pytest.raises(ValueError, match=r"earlier\[0\]: expected a summary row"):
        writer.write_summary([], earlier=[{"name": "x", "score": "1"}])


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"patient,score\nx,1\n", r"columns \['patient', 'score'\]"),
        (b"some notes, not a table\n", "columns"),
        (b"name,count,status,message\na,1,done,\n", "line 2: name 'a', status 'done'"),
        (b"name,count,status,message\na,1,ok,,extra\n", "line 2: too many cells"),
        (b"name,count,status,message\na,1\n", "line 2: too few cells"),
        (b"name,status,name\na,ok,b\n", "columns"),
        (b"\x89PNG\r\n\x1a\n\xff\xfe", "not UTF-8 text"),
    ],
)
def test_summary_that_is_not_ours_is_refused(tmp_path, content, problem):
    path = tmp_path / "cmb_summary.csv"
    path.write_bytes(content)
    with pytest.raises(OutputError, match="is not a summary of cmb-kd infer") as info:
        OutputWriter(tmp_path).read_summary()
    assert str(info.value).startswith(str(path)) and "move the file away" in str(info.value)
    assert re.search(problem, str(info.value))
    assert path.read_bytes() == content
