"""Tests of run_inference with a fake detector: the summary describes every output, a scan's outputs come together."""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
from collections.abc import Callable

import numpy as np
import pytest
from _inference_helpers import fake_locate, hold_lock, interrupt_rename_to, release, result_of_mask

from cmb_kd.inference import (
    LOCK_NAME,
    DetectionResult,
    InferenceOutcome,
    OutputError,
    OutputWriter,
    batch_inputs,
    infer_scans,
    location_output,
    run_inference,
)


class FakeDetector:
    """One detection at the brightest voxel of each scan; the call numbers of ``raise_on`` raise instead.

    ``on_call(n)`` runs at the start of call ``n`` (1-based), to look at the output folder between scans.
    """

    def __init__(
        self, raise_on: dict[int, BaseException] | None = None, on_call: Callable[[int], None] | None = None
    ) -> None:
        self.raise_on = raise_on or {}
        self.on_call = on_call
        self.calls = 0

    def __call__(
        self, data: np.ndarray, affine: np.ndarray, phase: np.ndarray | None = None, name: object = None
    ) -> DetectionResult:
        self.calls += 1
        if self.on_call is not None:
            self.on_call(self.calls)
        if self.calls in self.raise_on:
            raise self.raise_on[self.calls]
        mask = np.zeros(data.shape, dtype=np.uint8)
        mask[np.unravel_index(np.argmax(data), data.shape)] = 1
        return result_of_mask(mask, affine, timings={"load": 0.0})


def _summary(folder) -> dict[str, dict[str, str]]:
    with open(folder / "cmb_summary.csv", newline="") as handle:
        return {row["name"]: row for row in csv.DictReader(handle)}


def _read_rows(path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _outputs(folder) -> list[str]:
    """Names of the files in ``folder`` other than the summary and the lock file."""
    return sorted(p.name for p in folder.iterdir() if p.name not in ("cmb_summary.csv", LOCK_NAME))


def _scans(write_nifti, folder, *names: str) -> list:
    return [write_nifti(folder / f"{name}.nii.gz") for name in names]


def test_sequential_runs_accumulate_and_a_failed_scan_leaves_no_stale_output(tmp_path, write_nifti) -> None:
    a, b = _scans(write_nifti, tmp_path / "in", "a", "b")
    out = tmp_path / "out"
    assert run_inference(a, out, FakeDetector(), report=True).status == 0
    assert run_inference(b, out, FakeDetector()).status == 0
    summary = _summary(out)
    assert list(summary) == ["a", "b"]  # the second run kept the first run's row
    assert {row["status"] for row in summary.values()} == {"ok"}
    assert _outputs(out) == [
        "a_cmb_lesions.csv",
        "a_cmb_mask.nii.gz",
        "a_cmb_report.html",
        "a_cmb_report.png",
        "b_cmb_lesions.csv",
        "b_cmb_mask.nii.gz",
    ]

    # a processed again without --report: its row is replaced and its old report (picture and page) removed
    run_inference(a, out, FakeDetector())
    assert list(_summary(out)) == ["b", "a"] and not {"a_cmb_report.png", "a_cmb_report.html"} & set(_outputs(out))

    # a fails this time: its row says so and no output of it contradicts the row; b is kept
    run = run_inference(a, out, FakeDetector(raise_on={1: ValueError("no brain found")}))
    assert run.status == 1
    summary = _summary(out)
    assert summary["a"]["status"] == "failed" and "no brain found" in summary["a"]["message"]
    assert summary["b"]["status"] == "ok"
    assert _outputs(out) == ["b_cmb_lesions.csv", "b_cmb_mask.nii.gz"]


def test_batch_inputs_then_infer_scans_are_the_steps_of_a_run(tmp_path, write_nifti) -> None:
    b, a = _scans(write_nifti, tmp_path / "in", "b", "a")
    writer = OutputWriter(tmp_path / "out")
    files, problems = batch_inputs([b, a, tmp_path / "missing.nii.gz"], writer)
    assert files == [a, b] and [(o.name, o.status) for o in problems] == [("missing", "failed")]  # scans sorted
    earlier = [InferenceOutcome("z", 0, "ok").as_row()]
    outcomes = infer_scans(files, writer, FakeDetector(), before=problems, earlier=earlier)
    assert [(o.name, o.count) for o in outcomes] == [("a", 1), ("b", 1)]
    assert list(_summary(tmp_path / "out")) == ["z", "missing", "a", "b"]  # earlier rows, before, then the scans
    detector = FakeDetector()
    again = infer_scans(files, writer, detector, earlier=writer.read_summary(), resume=True)
    assert again == outcomes and detector.calls == 0  # finished scans are skipped


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, SystemExit])
def test_summary_matches_the_outputs_after_each_scan(tmp_path, write_nifti, interruption) -> None:
    scans = _scans(write_nifti, tmp_path / "in", "a", "b", "c")
    out = tmp_path / "out"
    seen = {}

    def look(call: int) -> None:
        seen[call] = (_summary(out) if (out / "cmb_summary.csv").exists() else {}, _outputs(out))

    with pytest.raises(interruption):
        run_inference(scans, out, FakeDetector(raise_on={2: interruption()}, on_call=look))
    assert seen[1] == ({}, [])
    rows, files = seen[2]
    assert list(rows) == ["a"] and rows["a"]["status"] == "ok" and rows["a"]["count"] == "1"
    assert files == ["a_cmb_lesions.csv", "a_cmb_mask.nii.gz"]
    # killed on the second scan: the first scan's outputs and its row are there, nothing of the others
    assert list(_summary(out)) == ["a"]
    assert _outputs(out) == ["a_cmb_lesions.csv", "a_cmb_mask.nii.gz"]


def test_failed_table_write_fails_the_scan_and_leaves_no_mask(tmp_path, write_nifti, monkeypatch) -> None:
    a, b = _scans(write_nifti, tmp_path / "in", "a", "b")
    out = tmp_path / "out"
    run_inference([a, b], out, FakeDetector())  # an earlier run: both scans have outputs
    interrupt_rename_to(monkeypatch, "a_cmb_lesions.csv", OSError(28, "No space left on device"))
    run = run_inference([a, b], out, FakeDetector())
    assert [outcome.status for outcome in run.outcomes] == ["failed", "ok"]
    message = run.outcomes[0].message
    assert str(out / "a_cmb_lesions.csv") in message and "No space left on device" in message
    assert _summary(out)["a"]["status"] == "failed" and _summary(out)["b"]["status"] == "ok"
    assert _outputs(out) == ["b_cmb_lesions.csv", "b_cmb_mask.nii.gz"]  # no mask of a, new or old; no temporary


def test_interrupted_while_writing_records_the_scan_as_failed(tmp_path, write_nifti, monkeypatch) -> None:
    (a,) = _scans(write_nifti, tmp_path / "in", "a")
    out = tmp_path / "out"
    run_inference(a, out, FakeDetector())
    interrupt_rename_to(monkeypatch, "_cmb_lesions.csv")
    with pytest.raises(KeyboardInterrupt):
        run_inference(a, out, FakeDetector())
    # the mask was replaced then removed: the old "ok" row would lie, so the scan is recorded as failed
    assert _summary(out)["a"]["status"] == "failed" and "interrupted" in _summary(out)["a"]["message"]
    assert _outputs(out) == []


def test_per_scan_errors_are_one_warning_line_each(tmp_path, write_nifti, caplog) -> None:
    a, b = _scans(write_nifti, tmp_path / "in", "a", "b")
    error = ValueError("Error(s) in something:\n\tfirst detail\n\tsecond detail")
    with caplog.at_level(logging.WARNING, logger="cmb_kd"):
        run = run_inference([a, b, tmp_path / "missing.nii.gz"], tmp_path / "out", FakeDetector(raise_on={1: error}))
    assert run.status == 1
    records = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(records) == 2
    assert all("\n" not in r.getMessage() for r in records)
    assert str(tmp_path / "missing.nii.gz") in records[0].getMessage()
    assert str(a) in records[1].getMessage() and "first detail second detail" in records[1].getMessage()


def test_a_summary_that_is_not_ours_stops_the_run_untouched(tmp_path, write_nifti) -> None:
    (a,) = _scans(write_nifti, tmp_path / "in", "a")
    out = tmp_path / "out"
    out.mkdir()
    mine = "patient,score\nx,3\n"
    (out / "cmb_summary.csv").write_text(mine)
    with pytest.raises(OutputError, match="is not a summary of cmb-kd infer"):
        run_inference(a, out, FakeDetector())
    assert (out / "cmb_summary.csv").read_text() == mine
    assert _outputs(out) == []


def test_older_summary_without_a_column_is_merged(tmp_path, write_nifti) -> None:
    (a,) = _scans(write_nifti, tmp_path / "in", "a")
    out = tmp_path / "out"
    out.mkdir()
    (out / "cmb_summary.csv").write_text("status,name,count\nok,old,2\n")  # columns by name, one missing
    run_inference(a, out, FakeDetector())
    summary = _summary(out)
    assert list(summary) == ["old", "a"]
    assert summary["old"]["count"] == "2" and summary["old"]["message"] == ""


def test_duplicate_name_keeps_the_processed_scan_outputs(tmp_path, write_nifti) -> None:
    first = write_nifti(tmp_path / "x" / "sub-1.nii.gz")
    second = write_nifti(tmp_path / "y" / "sub-1.nii.gz")
    out = tmp_path / "out"
    run = run_inference([first, second], out, FakeDetector())
    assert sorted(outcome.status for outcome in run.outcomes) == ["failed", "ok"]
    assert _outputs(out) == ["sub-1_cmb_lesions.csv", "sub-1_cmb_mask.nii.gz"]
    with open(out / "cmb_summary.csv", newline="") as handle:
        assert sorted(row["status"] for row in csv.DictReader(handle)) == ["failed", "ok"]


def test_second_run_into_a_locked_folder_is_refused_and_writes_nothing(tmp_path, write_nifti) -> None:
    (a,) = _scans(write_nifti, tmp_path / "in", "a")
    out = tmp_path / "out"
    out.mkdir()
    holder = hold_lock(out)
    try:
        with pytest.raises(OutputError, match="another cmb-kd infer run is writing into this folder") as info:
            run_inference(a, out, FakeDetector())
        assert str(info.value).startswith(str(out))
        assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME]
    finally:
        release(holder)
    assert run_inference(a, out, FakeDetector()).status == 0  # released when the holder ended
    assert OutputWriter(out).mask_path(a).is_file()


def test_a_scan_whose_processing_fails_is_a_failed_row_and_the_others_run(tmp_path, write_nifti) -> None:
    scans = _scans(write_nifti, tmp_path / "in", "a", "b")
    out = tmp_path / "out"
    run = run_inference(scans, out, FakeDetector(raise_on={1: RuntimeError("out of memory\nwhile allocating")}))
    rows = _summary(out)
    assert rows["a"]["status"] == "failed" and rows["b"]["status"] == "ok"
    assert rows["a"]["message"].endswith("processing failed (RuntimeError: out of memory while allocating)")
    assert run.status == 1 and _outputs(out) == ["b_cmb_lesions.csv", "b_cmb_mask.nii.gz"]


class StagedDetector(FakeDetector):
    """A fake detector with the ``on_stage`` hook of CMBDetector, calling it as the real one does."""

    def __init__(self) -> None:
        super().__init__()
        self.on_stage = None

    def __call__(self, data, affine, phase=None, name=None) -> DetectionResult:
        for stage in ("load", "segmentation"):
            if self.on_stage is not None:
                self.on_stage(stage)
        return super().__call__(data, affine, phase, name)


def test_the_progress_bar_shows_the_stage_within_a_scan(tmp_path, write_nifti, capsys) -> None:
    scans = _scans(write_nifti, tmp_path / "in", "scan_a", "scan_b")
    detector = StagedDetector()
    run_inference(scans, tmp_path / "out", detector, progress=True)
    shown = capsys.readouterr().err
    assert "scan_a.nii.gz: segmentation" in shown and "scan_b.nii.gz: load" in shown
    assert detector.on_stage is None  # the hook is the caller's again
    run_inference(scans, tmp_path / "quiet", detector)
    assert "segmentation" not in capsys.readouterr().err


def test_resume_skips_the_scans_an_earlier_run_finished(tmp_path, write_nifti, caplog) -> None:
    a, b, c, d = _scans(write_nifti, tmp_path / "in", "a", "b", "c", "d")
    out = tmp_path / "out"
    run_inference([a, b, c], out, FakeDetector(raise_on={3: ValueError("no brain found")}))
    before = {name: (out / f"{name}_cmb_mask.nii.gz").stat().st_mtime_ns for name in ("a", "b")}
    (out / "b_cmb_lesions.csv").unlink()  # an output lost since: b is done again

    detector = FakeDetector()
    with caplog.at_level(logging.INFO, logger="cmb_kd.inference.batch_inference"):
        run = run_inference(tmp_path / "in", out, detector, resume=True)
    assert detector.calls == 3  # b (an output missing), c (failed before) and d (new); a is skipped
    assert "1 of 4 scan(s) done by an earlier run" in caplog.text
    assert (out / "a_cmb_mask.nii.gz").stat().st_mtime_ns == before["a"]
    assert (out / "b_cmb_mask.nii.gz").stat().st_mtime_ns != before["b"]
    assert [(o.name, o.status, o.count) for o in run.outcomes] == [(n, "ok", 1) for n in "abcd"]
    assert run.status == 0 and {row["status"] for row in _summary(out).values()} == {"ok"}

    # a report asked for now that the earlier run did not write: every scan is done again
    detector = FakeDetector()
    run_inference(tmp_path / "in", out, detector, report=True, resume=True)
    assert detector.calls == 4 and "a_cmb_report.png" in _outputs(out)
    detector = FakeDetector()
    run_inference(tmp_path / "in", out, detector, report=True, resume=True)
    assert detector.calls == 0


class LocatingDetector(FakeDetector):
    """The fake detector giving the brain mask that the location registers (the whole grid)."""

    def __call__(self, data, affine, phase=None, name=None) -> DetectionResult:
        result = super().__call__(data, affine, phase=phase, name=name)
        return dataclasses.replace(result, brain_mask=np.ones(data.shape, dtype=bool))


def test_location_adds_the_json_columns_and_burden_and_a_run_without_removes_them(
    tmp_path, write_nifti, monkeypatch
) -> None:
    monkeypatch.setattr(location_output, "locate", fake_locate)
    a, b = _scans(write_nifti, tmp_path / "in", "a", "b")
    out = tmp_path / "out"
    (out).mkdir()
    (out / "cmb_summary.csv").write_text("name,count,status,message,warnings\nolder,0,ok,,\n")  # an older summary
    assert run_inference([a, b], out, LocatingDetector(), location=True, report=True).status == 0
    assert "a_cmb_location.json" in _outputs(out) and "b_cmb_location.json" in _outputs(out)
    summary = _summary(out)
    assert list(summary) == ["older", "a", "b"] and summary["older"]["burden_class"] == ""
    lesion = _read_rows(out / "a_cmb_lesions.csv")[0]
    region = "frontal" if float(lesion["centroid_x_mm"]) >= 0 else "thalamus"
    assert lesion["region"] == region and summary["a"]["burden_class"] == "1"
    assert summary["a"][f"n_{region}"] == "1" and summary["a"]["warnings"] == ""
    located = json.loads((out / "a_cmb_location.json").read_text())
    assert located["name"] == "a" and located["n_cmb"] == 1 and located["lesions"][0]["region"] == region
    assert "location (MARS)" in (out / "a_cmb_report.html").read_text()

    run_inference(a, out, LocatingDetector())  # a again without location: no JSON contradicts its mask
    assert "a_cmb_location.json" not in _outputs(out) and "b_cmb_location.json" in _outputs(out)
    assert _summary(out)["a"]["burden_class"] == "" and "region" not in _read_rows(out / "a_cmb_lesions.csv")[0]


def test_a_failed_registration_writes_the_detections_with_a_warning(tmp_path, write_nifti, monkeypatch) -> None:
    def failing(*args, **kwargs):
        raise RuntimeError("ITK ERROR: too few samples")

    monkeypatch.setattr(location_output, "locate", failing)
    (a,) = _scans(write_nifti, tmp_path / "in", "a")
    out = tmp_path / "out"
    run = run_inference(a, out, LocatingDetector(), location=True)
    assert run.status == 0 and run.outcomes[0].count == 1
    assert _outputs(out) == ["a_cmb_lesions.csv", "a_cmb_mask.nii.gz"]
    row = _summary(out)["a"]
    assert row["status"] == "ok" and row["burden_class"] == ""
    assert "location failed (RuntimeError: ITK ERROR: too few samples)" in row["warnings"]


def test_resume_with_location_needs_the_json(tmp_path, write_nifti, monkeypatch) -> None:
    monkeypatch.setattr(location_output, "locate", fake_locate)
    _scans(write_nifti, tmp_path / "in", "a")
    out = tmp_path / "out"
    detector = LocatingDetector()
    run_inference(tmp_path / "in", out, detector)
    run_inference(tmp_path / "in", out, detector, resume=True)
    assert detector.calls == 1  # done without location
    run_inference(tmp_path / "in", out, detector, resume=True, location=True)
    assert detector.calls == 2 and "a_cmb_location.json" in _outputs(out)
    run_inference(tmp_path / "in", out, detector, resume=True, location=True)
    assert detector.calls == 2 and _summary(out)["a"]["burden_class"] == "1"  # the row's burden kept
