"""Tests of cmb_kd.evaluation.results_record: JSON numbers, pooled metrics read back, provenance, a run's entry and
the earlier record checked before a merge."""

from __future__ import annotations

import datetime
import json
import math
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

import cmb_kd
from cmb_kd.evaluation import json_number, load_merge, provenance, run_entry, summary_of
from cmb_kd.evaluation import results_record as module


@pytest.mark.parametrize(
    ("value", "expected"),
    [(math.nan, None), (0.5, 0.5), (0.0, 0.0), (-1.25, -1.25), (3, 3), (math.inf, math.inf)],
)
def test_json_number_turns_only_nan_into_none(value, expected) -> None:
    assert json_number(value) == expected


def test_summary_of_reads_none_as_nan_and_numbers_as_floats() -> None:
    by_factor = {
        "4": {"metrics": {"tpr": 0.5, "ppv": None, "n_ref": 3}, "subjects": [{"subject": "sub-001"}]},
        "hr": {"metrics": {"f1": 1}, "subjects": []},
    }
    summary = summary_of(by_factor)
    assert list(summary) == ["4", "hr"] and set(summary["4"]) == {"tpr", "ppv", "n_ref"}
    assert summary["4"]["tpr"] == 0.5 and math.isnan(summary["4"]["ppv"])
    assert summary["4"]["n_ref"] == 3.0 and isinstance(summary["4"]["n_ref"], float)
    assert summary["hr"] == {"f1": 1.0}
    assert summary_of({}) == {}


def test_provenance_is_today_the_version_and_the_checkout_commit() -> None:
    record = provenance()
    assert set(record) == {"evaluated", "cmb_kd_version", "commit"}
    assert record["evaluated"] == datetime.date.today().isoformat()
    assert record["cmb_kd_version"] == cmb_kd.__version__
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=Path(cmb_kd.__file__).parent, capture_output=True, text=True, check=False
    )
    assert record["commit"] == (head.stdout.strip() if head.returncode == 0 else None)


@pytest.mark.parametrize(
    "run",
    [
        SimpleNamespace(returncode=128, stdout=""),  # not a git checkout
        SimpleNamespace(returncode=0, stdout="  \n"),
        OSError("git: not found"),
    ],
)
def test_provenance_commit_is_none_outside_a_git_checkout(monkeypatch, run) -> None:
    def fake_run(*args, **kwargs):
        if isinstance(run, Exception):
            raise run
        return run

    monkeypatch.setattr(module.subprocess, "run", fake_run)
    assert provenance()["commit"] is None


def test_run_entry_holds_every_threshold_and_factor_with_nan_as_none(tmp_path) -> None:
    with_nan = {"tpr": math.nan, "f1": 0.25}
    scored = {
        "chosen": {"phase": {"plkd-s0": 0.3, "teacher": 0.5}, "magnitude": {"plkd-s0": 0.85, "teacher": 0.5}},
        "sweeps": {
            "phase": {"plkd-s0": {0.3: {"4": {"f1": 1.0}}, 0.85: {"4": with_nan}}},
            "magnitude": {"plkd-s0": {0.85: {"4": {"f1": 0.8}}}},
        },
        "summaries": {"phase": {"plkd-s0": {"4": {"f1": 1.0}}}, "magnitude": {"plkd-s0": {"4": with_nan}}},
        "subject_rows": {
            "phase": {"plkd-s0": {"4": [{"subject": "sub-001", "tp": 2}]}},
            "magnitude": {"plkd-s0": {"4": [{"subject": "sub-001", "tp": 1}]}},
        },
    }
    evaluated_with = {"evaluated": "2024-01-02", "cmb_kd_version": "9.9", "commit": None}
    entry = run_entry(
        "plkd-s0",
        weights=tmp_path / "w.pt",
        wall_time={"seconds": 60.0, "invocations": 2},
        evaluated_with=evaluated_with,
        **scored,
    )
    assert entry == {
        "weights": str(tmp_path / "w.pt"),
        "evaluated": "2024-01-02",
        "cmb_kd_version": "9.9",
        "commit": None,
        "wall_time": {"seconds": 60.0, "invocations": 2},
        "threshold": 0.3,
        "magnitude_threshold": 0.85,
        "thresholds": {
            "phase": {"0.3": {"4": {"f1": 1.0}}, "0.85": {"4": {"tpr": None, "f1": 0.25}}},
            "magnitude": {"0.85": {"4": {"f1": 0.8}}},
        },
        "factors": {"4": {"metrics": {"f1": 1.0}, "subjects": [{"subject": "sub-001", "tp": 2}]}},
        "magnitude": {"4": {"metrics": {"tpr": None, "f1": 0.25}, "subjects": [{"subject": "sub-001", "tp": 1}]}},
    }
    json.dumps(entry, allow_nan=False)  # the record is strict JSON
    assert summary_of(entry["magnitude"])["4"]["f1"] == 0.25  # read back
    assert math.isnan(summary_of(entry["magnitude"])["4"]["tpr"])


IDENTITY = {"seed": 0, "subjects": 2}
NOW = {"split": "test", "factors": [2, 4], "cohort": IDENTITY, "n_ref": {"hr": 5, "4": 4}, "phase": True}


def _earlier(**changes) -> dict:
    record = {
        "split": "test",
        "cohort_identity": dict(IDENTITY),
        "phase": True,
        "factors": [2, 4, 8],
        "n_ref": {"hr": 5, "2": 4, "4": 4, "8": 4},
        "runs": {"teacher": {"threshold": 0.5}},
    }
    return {**record, **changes}


def test_load_merge_returns_a_record_of_the_same_evaluation(tmp_path) -> None:
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(_earlier()))
    assert load_merge(path, **NOW) == _earlier()
    path.write_text(json.dumps(_earlier(n_ref={"4": 4})))  # a factor not counted there is not compared
    assert load_merge(path, **NOW)["runs"] == {"teacher": {"threshold": 0.5}}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", r"--merge: .*metrics.json: cannot read \(.*\); expected a metrics.json of this script"),
        ("[1, 2]", r"--merge: .*: no 'runs'; expected a metrics.json of this script"),
        (_earlier(runs=[]), r"no 'runs'"),
        (_earlier(split="validation"), r"split is 'validation', expected 'test' as evaluated now"),
        (
            _earlier(cohort_identity={"seed": 1, "subjects": 2}),
            r"cohort_identity is \{'seed': 1, 'subjects': 2\}, expected \{'seed': 0, 'subjects': 2\}",
        ),
        (_earlier(phase=False), r"phase is False, expected True as evaluated now"),
        ({k: v for k, v in _earlier().items() if k != "phase"}, r"phase is None, expected True"),
        (_earlier(factors=[4, 8]), r"factors \[2\] were not evaluated there; expected all of \[2, 4\]"),
        (_earlier(n_ref={"hr": 5, "4": 3}), r"3 reference lesions at ×4, expected 4 as counted now \(another cohort"),
        (_earlier(n_ref={"hr": 6, "4": 4}), r"6 reference lesions at HR, expected 5 as counted now"),
    ],
)
def test_load_merge_names_what_differs(tmp_path, content, message) -> None:
    path = tmp_path / "metrics.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(ValueError, match=message):
        load_merge(path, **NOW)


def test_load_merge_refuses_a_missing_file(tmp_path) -> None:
    with pytest.raises(ValueError, match=r"--merge: .*gone.json: cannot read"):
        load_merge(tmp_path / "gone.json", **NOW)
