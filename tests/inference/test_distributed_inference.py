"""Tests of cohort inference shared by the processes of a torchrun launch: the shares, the gathered summary, a
one-process group in this process, and two processes on Gloo with a stand-in detector."""

from __future__ import annotations

import csv
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch.distributed as dist
from _inference_helpers import hold_lock, release, result_of_mask

from cmb_kd.inference import (
    LOCK_NAME,
    SHARDS_FOLDER,
    OutputError,
    OutputWriter,
    SummaryShardWriter,
    batch_inputs,
    fold_shards,
    gather_summary,
    infer_scans,
    run_distributed_inference,
    run_inference,
    shard_of,
)

RANK_SCRIPT = Path(__file__).with_name("_distributed_rank.py")
TORCHRUN = (sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2")
GLOO = pytest.mark.skipif(not dist.is_gloo_available(), reason="needs the gloo backend")


@pytest.mark.parametrize("n_items", [0, 1, 2, 5, 8])
@pytest.mark.parametrize("world_size", [1, 2, 3])
def test_each_rank_takes_every_nth_item_from_its_rank_on(n_items, world_size) -> None:
    items = [f"scan-{i}" for i in range(n_items)]
    shares = [shard_of(items, rank, world_size) for rank in range(world_size)]
    assert sorted(item for share in shares for item in share) == sorted(items)  # each item once
    assert all(share == items[rank::world_size] for rank, share in enumerate(shares))  # in input order
    assert max(map(len, shares)) - min(map(len, shares)) <= 1


@pytest.mark.parametrize(
    "rank, world_size, match",
    [(2, 2, r"rank: expected an integer in \[0, 2\)"), (-1, 2, "rank"), (0, 0, "world_size"), (0, True, "world_size")],
)
def test_shard_of_refuses_a_bad_rank(rank, world_size, match) -> None:
    with pytest.raises(ValueError, match=match):
        shard_of(["a"], rank, world_size)


class BrightestVoxel:
    """One detection at the brightest voxel of each scan (the stand-in of ``_distributed_rank.py``)."""

    def __call__(self, data, affine, phase=None, name=None):
        mask = np.zeros(data.shape, dtype=np.uint8)
        mask[np.unravel_index(np.argmax(data), data.shape)] = 1
        return result_of_mask(mask, affine)


@pytest.fixture
def cohort(tmp_path, write_nifti) -> list[Path]:
    """Five small scans, the third of them blank (it fails when loaded), and a path that does not exist."""
    folder = tmp_path / "in"
    for seed, name in enumerate("abcde"):
        data = np.random.default_rng(seed).uniform(10, 100, size=(8, 9, 6)).astype(np.float32)
        write_nifti(folder / f"{name}.nii.gz", np.zeros_like(data) if name == "c" else data)
    return [folder, tmp_path / "missing.nii.gz"]


def _summary(folder: Path) -> list[dict[str, str]]:
    with open(folder / "cmb_summary.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file in ``folder`` (sub-folders included) but the summary and the lock, with its inode and time."""
    return {
        str(p.relative_to(folder)): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in ("cmb_summary.csv", LOCK_NAME)
    }


def test_ranks_run_in_turn_then_gathered_give_the_summary_of_one_process(tmp_path, cohort) -> None:
    one = run_inference(cohort, tmp_path / "one", BrightestVoxel())
    writer = OutputWriter(tmp_path / "two")
    earlier = fold_shards(writer)
    files, problems = batch_inputs(cohort, writer)
    for rank in (1, 0):
        infer_scans(shard_of(files, rank, 2), SummaryShardWriter(writer.output_dir, rank, 2), BrightestVoxel())
    outcomes = gather_summary(writer, files, problems, earlier)
    assert outcomes == one.outcomes
    assert _summary(tmp_path / "two") == _summary(tmp_path / "one")
    assert set(_files(tmp_path / "two")) == set(_files(tmp_path / "one"))  # the shards are gone


def test_a_scan_missing_from_the_shards_is_listed_as_failed(tmp_path, cohort) -> None:
    writer = OutputWriter(tmp_path / "out")
    files, problems = batch_inputs(cohort, writer)
    infer_scans(shard_of(files, 0, 2), SummaryShardWriter(writer.output_dir, 0, 2), BrightestVoxel())
    outcomes = gather_summary(writer, files, problems, [])
    missing = [o for o in outcomes if "no row in the summary shards" in o.message]
    assert [o.name for o in missing] == ["b", "d"] and all(o.status == "failed" for o in missing)


def test_a_distributed_run_needs_a_process_group(tmp_path, cohort) -> None:
    with pytest.raises(ValueError, match="expected an initialised torch.distributed process group"):
        run_distributed_inference(cohort, tmp_path / "out", BrightestVoxel())


@pytest.fixture
def one_process_group(tmp_path):
    """A Gloo process group of this one process (rank 0 of 1)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=1)
    yield
    dist.destroy_process_group()


@GLOO
def test_one_rank_runs_a_cohort_as_one_process_does_and_resumes_it(tmp_path, cohort, one_process_group) -> None:
    one = run_inference(cohort, tmp_path / "one", BrightestVoxel())
    out = tmp_path / "dist"
    run = run_distributed_inference(cohort, out, BrightestVoxel())
    assert run.outcomes == one.outcomes and run.status == 1 and run.summary_path == out / "cmb_summary.csv"
    assert _summary(out) == _summary(tmp_path / "one")
    written = _files(out)
    assert set(written) == set(_files(tmp_path / "one"))

    again = run_distributed_inference(cohort, out, BrightestVoxel(), resume=True)
    assert again.outcomes == one.outcomes and _files(out) == written  # every good scan skipped, files untouched
    good = [cohort[0] / f"{name}.nii.gz" for name in "abde"]
    skipped = run_distributed_inference(good, out, BrightestVoxel(), resume=True)  # nothing left to run
    assert skipped.status == 0 and [o.name for o in skipped.outcomes] == ["a", "b", "d", "e"]
    run_inference(cohort, out, BrightestVoxel(), resume=True)  # the lock was released


@GLOO
def test_a_locked_folder_stops_the_run_on_every_rank(tmp_path, cohort, one_process_group) -> None:
    out = tmp_path / "out"
    out.mkdir()
    holder = hold_lock(out)
    try:
        with pytest.raises(OutputError, match="another cmb-kd infer run is writing into this folder"):
            run_distributed_inference(cohort, out, BrightestVoxel())
    finally:
        release(holder)
    assert not (out / "cmb_summary.csv").exists()


def _torchrun(out: Path, *inputs: Path | str) -> tuple[int, dict[int, list[str]]]:
    """Run ``_distributed_rank.py`` on two processes; its exit code and the scans each rank's detector ran on."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(sys.path))
    command = [*TORCHRUN, str(RANK_SCRIPT), str(out), *map(str, inputs)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    ran = {int(m[1]): m[2].split() for m in re.finditer(r"^rank (\d) of 2 ran: ?(.*)$", done.stdout, re.M)}
    assert sorted(ran) == [0, 1], done.stdout[-2000:] + done.stderr[-3000:]
    return done.returncode, ran


@pytest.mark.slow
@GLOO
def test_two_processes_share_a_cohort_and_gather_the_summary_of_one(tmp_path, cohort) -> None:
    one = tmp_path / "one"
    run_inference(cohort, one, BrightestVoxel())
    out = tmp_path / "two"
    code, ran = _torchrun(out, *cohort)
    assert code != 0  # the blank scan and the missing path failed, as a one-process run says with status 1
    assert ran == {0: ["a", "e"], 1: ["b", "d"]}  # sorted a..e: rank 0 takes a, c, e (c fails when loaded)
    assert _summary(out) == _summary(one)  # same rows, same order, failures listed
    assert [row["status"] for row in _summary(out)] == ["failed", "ok", "ok", "failed", "ok", "ok"]
    written = _files(out)
    assert set(written) == set(_files(one)) and not (out / SHARDS_FOLDER).exists()

    code, ran = _torchrun(out, "--resume", *cohort)
    assert ran == {0: [], 1: []} and code != 0  # every finished scan skipped; the bad ones are tried again
    assert _summary(out) == _summary(one) and _files(out) == written
