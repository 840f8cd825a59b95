"""Tests of the per-rank summary shards of a distributed run and of folding the shards a stopped run left."""

from __future__ import annotations

import csv
import logging

import numpy as np
import pytest
from _inference_helpers import result_of_mask

from cmb_kd.inference import (
    SHARDS_FOLDER,
    InferenceOutcome,
    OutputWriter,
    SummaryShardWriter,
    fold_shards,
    remove_shards,
    run_inference,
    shard_rows,
)


def _rows(path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _ok(name: str, count: int) -> InferenceOutcome:
    return InferenceOutcome(name, count, "ok")


def _write_shard(out, rank: int, world_size: int, *outcomes: InferenceOutcome) -> SummaryShardWriter:
    shard = SummaryShardWriter(out, rank, world_size)
    shard.write_summary(list(outcomes))
    return shard


def test_a_shard_writer_writes_outputs_into_the_folder_and_its_summary_into_the_shard(tmp_path) -> None:
    shard = SummaryShardWriter(tmp_path / "out", 3, 12)
    assert shard.summary_path == tmp_path / "out" / SHARDS_FOLDER / "rank-00003-of-00012.csv"
    assert shard.mask_path("scans/a.nii.gz") == tmp_path / "out" / "a_cmb_mask.nii.gz"
    shard.write_summary([_ok("a", 2)])
    assert [row["name"] for row in _rows(shard.summary_path)] == ["a"]
    assert not (tmp_path / "out" / "cmb_summary.csv").exists()


@pytest.mark.parametrize("rank, world_size", [(2, 2), (-1, 2), (0, 0), (True, 2), (0, 1.0)])
def test_a_shard_writer_refuses_a_bad_rank(tmp_path, rank, world_size) -> None:
    with pytest.raises(ValueError, match="0 <= rank < world_size"):
        SummaryShardWriter(tmp_path, rank, world_size)


def test_shard_rows_reads_every_shard_and_remove_shards_removes_them(tmp_path) -> None:
    _write_shard(tmp_path, 0, 2, _ok("a", 1), _ok("c", 3))
    _write_shard(tmp_path, 1, 2, _ok("b", 2))
    _write_shard(tmp_path, 0, 3, _ok("a", 4))  # of another launch, sorted after the first: its row of a wins
    assert {name: row["count"] for name, row in shard_rows(tmp_path).items()} == {"a": "4", "b": "2", "c": "3"}
    remove_shards(tmp_path)
    assert not (tmp_path / SHARDS_FOLDER).exists() and shard_rows(tmp_path) == {}
    remove_shards(tmp_path)  # nothing left to remove


def test_remove_shards_keeps_a_folder_holding_other_files(tmp_path, caplog) -> None:
    _write_shard(tmp_path, 0, 1, _ok("a", 1))
    (tmp_path / SHARDS_FOLDER / "notes.txt").write_text("mine")
    with caplog.at_level(logging.WARNING):
        remove_shards(tmp_path)
    assert [p.name for p in (tmp_path / SHARDS_FOLDER).iterdir()] == ["notes.txt"]
    assert "not summary shards" in caplog.text


def test_fold_shards_puts_the_rows_of_a_stopped_run_into_the_summary(tmp_path) -> None:
    writer = OutputWriter(tmp_path)
    writer.write_summary([_ok("a", 1), _ok("b", 2)])
    _write_shard(tmp_path, 0, 2, _ok("a", 5))
    _write_shard(tmp_path, 1, 2, InferenceOutcome.failed("c.nii.gz", "c.nii.gz: no brain"))
    rows = fold_shards(writer)
    assert [(row["name"], row["count"], row["status"]) for row in rows] == [
        ("b", "2", "ok"),
        ("a", "5", "ok"),  # the shard's row is newer: it replaces the summary's
        ("c", "", "failed"),
    ]
    assert rows == writer.read_summary() and not (tmp_path / SHARDS_FOLDER).exists()


def test_fold_shards_without_shards_leaves_the_summary_alone(tmp_path) -> None:
    writer = OutputWriter(tmp_path)
    assert fold_shards(writer) == [] and not writer.summary_path.exists()
    writer.write_summary([_ok("a", 1)])
    before = writer.summary_path.stat().st_mtime_ns
    assert [row["name"] for row in fold_shards(writer)] == ["a"]
    assert writer.summary_path.stat().st_mtime_ns == before


class _Detector:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, data, affine, phase=None, name=None):
        self.calls += 1
        mask = np.zeros(data.shape, dtype=np.uint8)
        mask[np.unravel_index(np.argmax(data), data.shape)] = 1
        return result_of_mask(mask, affine)


def test_a_one_process_run_folds_the_shards_and_resumes_their_scans(tmp_path, write_nifti) -> None:
    scans = [write_nifti(tmp_path / "in" / f"{name}.nii.gz") for name in ("a", "b")]
    out = tmp_path / "out"
    run_inference(scans[0], out, _Detector())
    (out / "cmb_summary.csv").unlink()  # a distributed run stopped after rank 0 wrote a's outputs and its shard row
    _write_shard(out, 0, 2, _ok("a", 1))
    detector = _Detector()
    run = run_inference(scans, out, detector, resume=True)
    assert detector.calls == 1  # b only: a's row came from the shard
    assert [(o.name, o.count) for o in run.outcomes] == [("a", 1), ("b", 1)]
    assert [row["name"] for row in _rows(out / "cmb_summary.csv")] == ["a", "b"]
    assert not (out / SHARDS_FOLDER).exists()
