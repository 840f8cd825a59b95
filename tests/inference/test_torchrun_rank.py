"""Tests of the rank of a torchrun process: read from the environment, its device, its process group (Gloo, one
process)."""

from __future__ import annotations

import socket

import pytest
import torch
import torch.distributed as dist

from cmb_kd.inference import TORCHRUN_VARIABLES, TorchrunRank, process_group, start_process_group

TORCHRUN_ENV = {"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}


def test_the_rank_is_read_from_the_variables_torchrun_sets() -> None:
    assert TorchrunRank.from_environment(TORCHRUN_ENV) == TorchrunRank(rank=1, world_size=4, local_rank=1)


@pytest.mark.parametrize(
    "environ, missing",
    [
        ({}, "RANK, WORLD_SIZE, LOCAL_RANK: not set"),
        ({"RANK": "0", "WORLD_SIZE": "2"}, "LOCAL_RANK: not set"),
        ({"RANK": "0", "WORLD_SIZE": " ", "LOCAL_RANK": "0"}, "WORLD_SIZE: not set"),
    ],
)
def test_a_process_not_started_by_torchrun_is_told_how_to_launch(environ, missing) -> None:
    with pytest.raises(ValueError, match=missing) as raised:
        TorchrunRank.from_environment(environ)
    message = str(raised.value)
    assert "python -m torch.distributed.run --nproc_per_node=N" in message and "--distributed" in message
    assert all(name in message for name in TORCHRUN_VARIABLES) and "\n" not in message


@pytest.mark.parametrize(
    "environ, match",
    [
        ({**TORCHRUN_ENV, "RANK": "one"}, "RANK: expected an integer"),
        ({**TORCHRUN_ENV, "RANK": "4"}, "0 <= rank < world_size"),
        ({**TORCHRUN_ENV, "WORLD_SIZE": "0"}, "world_size >= 1"),
        ({**TORCHRUN_ENV, "LOCAL_RANK": "-1"}, "local_rank >= 0"),
    ],
)
def test_bad_torchrun_variables_are_named(environ, match) -> None:
    with pytest.raises(ValueError, match=match):
        TorchrunRank.from_environment(environ)


@pytest.fixture
def gpus(monkeypatch):
    """Pretend this machine has ``n`` CUDA devices (0: none)."""

    def pretend(n: int) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: n > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: n)

    return pretend


@pytest.mark.parametrize(
    "n_gpus, requested, expected",
    [
        (0, None, "cpu"),
        (0, "cpu", "cpu"),
        (2, None, "cuda:1"),
        (2, "cuda", "cuda:1"),
        (2, "cpu", "cpu"),
    ],
)
def test_a_rank_runs_on_its_own_gpu_when_there_is_one(gpus, n_gpus, requested, expected) -> None:
    gpus(n_gpus)
    assert TorchrunRank(rank=3, world_size=4, local_rank=1).device(requested) == torch.device(expected)


@pytest.mark.parametrize(
    "n_gpus, requested, match",
    [
        (0, "cuda", "no CUDA device is available"),
        (1, None, r"LOCAL_RANK: 1, but this machine has 1 CUDA device\(s\)"),
        (2, "cuda:0", "expected None, 'cpu' or 'cuda'"),
    ],
)
def test_a_device_the_rank_cannot_use_is_refused(gpus, n_gpus, requested, match) -> None:
    gpus(n_gpus)
    with pytest.raises(ValueError, match=match):
        TorchrunRank(rank=1, world_size=2, local_rank=1).device(requested)


@pytest.fixture
def one_process_launch(monkeypatch):
    """The environment torchrun gives the only process of a one-process launch on a free local port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for name, value in {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": "0", "WORLD_SIZE": "1"}.items():
        monkeypatch.setenv(name, value)
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


@pytest.mark.skipif(not dist.is_gloo_available(), reason="needs the gloo backend")
def test_the_process_group_lasts_the_block_on_gloo(one_process_launch) -> None:
    with process_group("cpu"):
        assert dist.is_initialized() and dist.get_backend() == "gloo" and dist.get_world_size() == 1
    assert not dist.is_initialized()


@pytest.mark.skipif(not dist.is_gloo_available(), reason="needs the gloo backend")
def test_a_block_that_raises_ends_the_group_without_waiting(one_process_launch) -> None:
    with pytest.raises(KeyboardInterrupt), process_group("cpu"):
        raise KeyboardInterrupt
    assert not dist.is_initialized()


@pytest.mark.skipif(not dist.is_gloo_available(), reason="needs the gloo backend")
def test_a_group_started_elsewhere_is_left_as_it_is(one_process_launch) -> None:
    dist.init_process_group("gloo")
    assert start_process_group("cpu") is False
    with process_group("cpu"):
        pass
    assert dist.is_initialized()
