"""Tests of the batch result: InferenceOutcome (the rows of cmb_summary.csv, warnings included), InferenceRun and
exit_on_failure."""

from __future__ import annotations

import pytest
from _inference_helpers import fake_locate

from cmb_kd.inference import (
    LOCATION_SUMMARY_COLUMNS,
    SUMMARY_COLUMNS,
    WARNINGS_SEPARATOR,
    InferenceOutcome,
    InputError,
    location_summary_row,
)


def test_rows_have_the_summary_columns_with_the_burden_last() -> None:
    assert SUMMARY_COLUMNS == ("name", "count", "status", "message", "warnings", *LOCATION_SUMMARY_COLUMNS)
    ok = InferenceOutcome.succeeded("/data/sub-001_T2S.nii.gz", 3)
    no_burden = dict.fromkeys(LOCATION_SUMMARY_COLUMNS, "")
    assert ok.as_row() == {
        "name": "sub-001_T2S",
        "count": 3,
        "status": "ok",
        "message": "",
        "warnings": "",
        **no_burden,
    }
    assert list(ok.as_row()) == list(SUMMARY_COLUMNS)
    failed = InferenceOutcome.failed("/data/mask.nii.gz", InputError("/data/mask.nii.gz", "a mask", "a scan"))
    assert failed.as_row()["warnings"] == "" and failed.as_row()["count"] == ""


def test_warnings_are_kept_one_line_each_and_joined() -> None:
    outcome = InferenceOutcome.succeeded(
        "sub-002_T2S.nii", 0, warnings=["slices of 10 mm are thicker\nthan the 8 mm", "  ", "inverted contrast"]
    )
    assert outcome.warnings == ("slices of 10 mm are thicker than the 8 mm", "inverted contrast")
    assert outcome.as_row()["warnings"] == WARNINGS_SEPARATOR.join(outcome.warnings)
    assert WARNINGS_SEPARATOR == "; "


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: InferenceOutcome.succeeded("a.nii", 1, warnings="one warning"), "warnings: expected an iterable"),
        (lambda: InferenceOutcome.succeeded("a.nii", 1, warnings=[3]), "warnings: expected a tuple of strings"),
        (lambda: InferenceOutcome("a", 1, "ok", warnings=["a list"]), "warnings: expected a tuple of strings"),
        (lambda: InferenceOutcome.succeeded("a.nii", -1), "count: expected a non-negative integer"),
    ],
)
def test_bad_warnings(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_a_run_with_a_failed_input_exits_1_after_saying_how_many(tmp_path, caplog):
    from cmb_kd.inference import InferenceRun, exit_on_failure

    good = InferenceOutcome.succeeded("a.nii.gz", 2)
    bad = InferenceOutcome.failed("b.nii.gz", "b.nii.gz: empty file (0 bytes); expected a readable NIfTI file")
    assert exit_on_failure(InferenceRun([good], tmp_path / "cmb_summary.csv")) is None
    run = InferenceRun([good, bad], tmp_path / "cmb_summary.csv")
    assert run.failures == [bad] and run.status == 1
    with pytest.raises(SystemExit) as info:
        exit_on_failure(run)
    assert info.value.code == 1 and "1 of 2 input(s) failed" in caplog.text
    with pytest.raises(ValueError, match="run: expected an InferenceRun"):
        exit_on_failure([good])


def test_an_outcome_comes_back_from_its_summary_row() -> None:
    outcome = InferenceOutcome.succeeded("x/sub-001_T2S.nii.gz", 3, warnings=["thick slices", "inverted"])
    assert InferenceOutcome.from_row({k: str(v) for k, v in outcome.as_row().items()}) == outcome
    failed = InferenceOutcome.failed("b.nii.gz", "b.nii.gz: not a scan")
    assert InferenceOutcome.from_row({k: str(v) for k, v in failed.as_row().items()}) == failed
    with pytest.raises(ValueError, match="status: expected one of"):
        InferenceOutcome.from_row({"name": "a", "count": "1", "status": "done"})


def test_a_located_outcome_carries_the_burden_through_its_row() -> None:
    location = fake_locate(None, None, None, [(-5.0, 0.0, 0.0), (5.0, 0.0, 0.0)])
    outcome = InferenceOutcome.succeeded("s.nii.gz", 2, location=location)
    assert outcome.location == location_summary_row(location)
    row = outcome.as_row()
    assert (row["burden_class"], row["mixed"], row["n_thalamus_left"], row["n_frontal_right"]) == (
        "2-4",
        "true",
        "1",
        "1",
    )
    text_row = {column: str(value) for column, value in row.items()}
    assert InferenceOutcome.from_row(text_row) == outcome  # a resumed run keeps the burden of its row
    older = {"name": "s", "count": "2", "status": "ok", "message": "", "warnings": ""}  # a summary without burden
    assert InferenceOutcome.from_row(older).location == {}
    with pytest.raises(ValueError, match="location: expected a mapping of LOCATION_SUMMARY_COLUMNS"):
        InferenceOutcome("s", 1, "ok", location={"n_frontl": "1"})
