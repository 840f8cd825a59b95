"""Tests of the arguments of ``cmb-kd infer`` and of ``--distributed`` started without torchrun."""

from __future__ import annotations

import argparse

import pytest

from cmb_kd.cli import main
from cmb_kd.cli_infer import INFER_EPILOG, add_infer_parser
from cmb_kd.inference import TORCHRUN_VARIABLES


def _infer_parser() -> argparse.ArgumentParser:
    return add_infer_parser(argparse.ArgumentParser().add_subparsers())


def test_the_defaults_run_one_process_on_the_cpu() -> None:
    args = _infer_parser().parse_args(["scans", "--output", "out"])
    assert args.inputs == ["scans"] and args.distributed is False and args.device is None


def test_distributed_and_the_device_are_parsed() -> None:
    args = _infer_parser().parse_args(["a.nii.gz", "b", "--output", "out", "--distributed", "--device", "cuda"])
    assert args.inputs == ["a.nii.gz", "b"] and args.distributed is True and args.device == "cuda"


def test_the_help_shows_how_to_launch_several_processes() -> None:
    assert "python -m torch.distributed.run --nproc_per_node=4 -m cmb_kd infer --distributed" in INFER_EPILOG
    assert "cmb_summary_shards/" in INFER_EPILOG


def test_distributed_without_torchrun_names_what_is_missing_and_how_to_launch(
    tmp_path, write_nifti, monkeypatch, capsys
) -> None:
    for name in TORCHRUN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    scan = write_nifti(tmp_path / "a.nii.gz")
    code = main(["infer", str(scan), "--output", str(tmp_path / "out"), "--distributed", "--allow-untrained"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1
    assert err[0].startswith("cmb-kd infer: error: RANK, WORLD_SIZE, LOCAL_RANK: not set;")
    assert "python -m torch.distributed.run --nproc_per_node=N -m cmb_kd infer --distributed" in err[0]
    assert not (tmp_path / "out").exists()  # stopped before anything was built or written


def test_distributed_with_part_of_the_environment_names_the_missing_variable(
    tmp_path, write_nifti, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    scan = write_nifti(tmp_path / "a.nii.gz")
    assert main(["infer", str(scan), "--output", str(tmp_path / "out"), "--distributed"]) == 1
    assert "error: LOCAL_RANK: not set;" in capsys.readouterr().err


def test_a_device_other_than_cpu_or_cuda_is_refused(capsys) -> None:
    with pytest.raises(SystemExit):
        _infer_parser().parse_args(["a", "--output", "o", "--device", "tpu"])
    assert "invalid choice: 'tpu'" in capsys.readouterr().err
