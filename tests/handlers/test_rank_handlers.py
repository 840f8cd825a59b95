import time

import pytest
import torch
import torch.multiprocessing as mp
from monai.handlers import CheckpointLoader, CheckpointSaver, StatsHandler, ValidationHandler

from cmb_kd.handlers import end_process_group, handlers_for_rank


class Custom:
    def attach(self, engine):
        pass

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


@pytest.fixture
def handlers(tmp_path):
    return [
        StatsHandler(),
        CheckpointSaver(str(tmp_path), {"x": Custom()}, save_final=True),
        ValidationHandler(interval=1),
        CheckpointLoader(str(tmp_path / "missing.pt"), {"x": Custom()}),
        Custom(),
    ]


@pytest.mark.parametrize("rank, kept", [(0, [0, 1, 2, 3, 4]), (1, [2, 3, 4]), (3, [2, 3, 4])])
def test_loggers_and_savers_on_rank_zero_only(handlers, rank, kept):
    out = handlers_for_rank(handlers, rank)
    assert [id(h) for h in out] == [id(handlers[i]) for i in kept]
    assert out is not handlers


def test_not_distributed_is_rank_zero(handlers):
    assert handlers_for_rank(handlers) == handlers


def test_none_and_custom_types(handlers):
    assert handlers_for_rank(None, 1) is None
    assert handlers_for_rank(handlers, 1, rank_zero_only=(Custom,)) == handlers[:4]


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        (("abc", 1), {}, TypeError, "handlers: expected a sequence"),
        (([], -1), {}, ValueError, "rank: expected an integer >= 0"),
        (([], 1.5), {}, ValueError, "rank: expected an integer >= 0"),
        (([], 1), {"rank_zero_only": ("StatsHandler",)}, TypeError, "rank_zero_only must hold handler classes"),
    ],
)
def test_bad_arguments(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        handlers_for_rank(*args, **kwargs)


def test_end_process_group_is_a_no_op_outside_a_distributed_run():
    assert not torch.distributed.is_initialized()
    assert end_process_group() is False


def _end_late_or_early(rank, init_file, times):
    torch.distributed.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    if rank == 0:
        time.sleep(1.0)  # rank 0 still writes the final model
    times[f"called_{rank}"] = time.monotonic()
    assert end_process_group() is True
    times[f"ended_{rank}"] = time.monotonic()
    assert not torch.distributed.is_initialized()


@pytest.mark.skipif(not torch.distributed.is_gloo_available(), reason="needs the gloo backend")
def test_end_process_group_waits_for_the_slowest_rank(tmp_path):
    with mp.Manager() as manager:
        times = manager.dict()
        mp.spawn(_end_late_or_early, args=(str(tmp_path / "init"), times), nprocs=2, join=True)
        times = dict(times)
    assert times["ended_1"] >= times["called_0"]  # rank 1 left only once rank 0 had arrived
