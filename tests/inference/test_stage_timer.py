"""Tests of StageTimer: every stage present in order, time added up per stage, each start announced."""

import time

import pytest

from cmb_kd.inference import STAGES, StageTimer


def test_every_stage_starts_at_zero_in_pipeline_order() -> None:
    timer = StageTimer()
    assert list(timer.seconds) == list(STAGES) and set(timer.seconds.values()) == {0.0}
    assert STAGES[0] == "load" and STAGES[-1] == "cleanup"


def test_time_adds_up_per_stage_and_each_start_is_announced() -> None:
    heard = []
    timer = StageTimer(heard.append)
    with timer("brain_mask"):
        time.sleep(0.01)
    with timer("working_grid"):
        pass
    with timer("brain_mask"):
        time.sleep(0.01)
    assert heard == ["brain_mask", "working_grid", "brain_mask"]
    assert timer.seconds["brain_mask"] >= 0.02
    assert timer.seconds["brain_mask"] > timer.seconds["working_grid"]
    assert timer.seconds["load"] == 0.0


def test_a_stage_that_raises_is_still_timed() -> None:
    timer = StageTimer()
    with pytest.raises(RuntimeError, match="stop"), timer("segmentation"):
        time.sleep(0.01)
        raise RuntimeError("stop")
    assert timer.seconds["segmentation"] >= 0.01
