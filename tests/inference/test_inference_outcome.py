"""Tests of InferenceOutcome: the rows of cmb_summary.csv, warnings included."""

from __future__ import annotations

import pytest

from cmb_kd.inference import SUMMARY_COLUMNS, WARNINGS_SEPARATOR, InferenceOutcome, InputError


def test_rows_have_the_summary_columns_with_the_warnings_last() -> None:
    assert SUMMARY_COLUMNS == ("name", "count", "status", "message", "warnings")
    ok = InferenceOutcome.succeeded("/data/sub-001_T2S.nii.gz", 3)
    assert ok.as_row() == {"name": "sub-001_T2S", "count": 3, "status": "ok", "message": "", "warnings": ""}
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
