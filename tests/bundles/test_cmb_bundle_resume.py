"""A training run killed while it writes a checkpoint resumes and ends as the uninterrupted run does, bit for bit."""

import os
import shutil
import signal
import sys
from pathlib import Path

import pytest
import torch

from cmb_kd.handlers import is_complete_checkpoint

PROBE = Path(__file__).with_name("_training_probe.py")
PLKD = ["train.json", "distill_plkd.json"]
# four one-epoch stages of two iterations each; no validation (it draws nothing and would only cost time)
SHORT = ["--stage_epochs", "[1,1,1,1]", "--epoch_length", "2", "--val_interval", "100"]


def probed(run_bundle, root, log, kill=None):
    """Run PLKD under the probe; returns the exit code (the run is killed when ``kill`` names a checkpoint)."""
    env = {"CMB_KD_PROBE_LOG": str(log), "CMB_KD_PROBE_KILL": kill or ""}
    old = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        run_bundle(root, PLKD, *SHORT, launcher=(sys.executable, str(PROBE)))
        return 0
    except AssertionError as err:  # run_bundle asserts a zero exit code
        return -signal.SIGKILL if kill else pytest.fail(str(err))
    finally:
        for key, value in old.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)


@pytest.mark.slow
def test_plkd_killed_while_checkpointing_resumes_exactly(bundle_copy, run_bundle, tmp_path):
    first = bundle_copy
    run_bundle(first, ["train.json", "teacher.json"], "--max_epochs", "1", "--val_interval", "100")
    second = tmp_path / "second"
    shutil.copytree(first / "configs", second / "configs")
    shutil.copytree(first / "models" / "teacher", second / "models" / "teacher")

    uninterrupted = tmp_path / "uninterrupted.log"
    probed(run_bundle, first, uninterrupted)
    killed, resumed = tmp_path / "killed.log", tmp_path / "resumed.log"
    assert probed(run_bundle, second, killed, kill="checkpoint_epoch=3") == -signal.SIGKILL

    checkpoints = second / "runs" / "plkd" / "checkpoints"
    finals = sorted(p.name for p in checkpoints.iterdir() if not p.name.startswith("."))
    assert finals == ["checkpoint_epoch=2.pt"] and is_complete_checkpoint(checkpoints / finals[0])
    assert not (second / "models" / "model.pt").exists()  # a killed run has no final weights

    probed(run_bundle, second, resumed)
    patches = uninterrupted.read_text().splitlines()
    assert len(patches) == 8 and len(set(patches)) == 8
    # one seed, two processes: the same patches and LR noise until the kill; after the resume, what the
    # uninterrupted run drew in epochs 3 and 4, not a replay of epochs 1 and 2
    assert killed.read_text().splitlines() == patches[:6]
    assert resumed.read_text().splitlines() == patches[4:]
    weights = [torch.load(root / "models" / "model.pt", weights_only=True) for root in (first, second)]
    assert weights[0].keys() == weights[1].keys()
    for key in weights[0]:
        assert torch.equal(weights[0][key], weights[1][key]), key
    assert sorted(p.name for p in checkpoints.iterdir() if not p.name.startswith(".")) == ["checkpoint_epoch=4.pt"]
