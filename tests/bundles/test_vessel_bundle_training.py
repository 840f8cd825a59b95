"""One-iteration training runs of the vessel bundle through ``python -m monai.bundle run``: the H-net (resumed,
then evaluated) and the L-net with transfer from a frozen H-net."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import VESSEL_TINY

from cmb_kd.networks import KTViT

TINY_WIDTHS = {"embed_channels": (2, 4), "hidden_sizes": (8, 8, 16), "num_heads": (2, 2, 4)}
"""The widths of ``VESSEL_TINY``."""


def _run(root: Path, cohort: Path, configs: list[str], *extra: str) -> str:
    files = ",".join(f"'configs/{name}'" for name in configs)
    cmd = [
        sys.executable, "-m", "monai.bundle", "run", "--config_file", f"[{files}]",
        "--logging_file", "configs/logging.conf", "--bundle_root", str(root), "--dataset_dir", str(cohort),
        *VESSEL_TINY, *extra,
    ]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


def _epochs(log: str) -> list[str]:
    return [line.split("Epoch: ")[1].split(",")[0] for line in log.splitlines() if "Epoch: " in line]


@pytest.mark.slow
def test_hnet_trains_on_hr_patches_resumes_and_is_evaluated(vessel_bundle_copy, mra_cohort) -> None:
    root = vessel_bundle_copy
    first = _run(root, mra_cohort, ["train.json"], "--max_epochs", "1", "--val_interval", "1")
    assert (root / "models" / "hnet" / "model.pt").is_file()
    assert "val_dice" in first and "val_cldice" in first and "val_fragment_ratio" in first
    assert "loss_" not in first  # no transfer terms without the overlay
    checkpoints = sorted(p.name for p in (root / "runs" / "hnet" / "checkpoints").glob("*.pt"))
    assert checkpoints == ["checkpoint_epoch=1.pt"]

    second = _run(root, mra_cohort, ["train.json"], "--max_epochs", "2", "--val_interval", "100")
    assert _epochs(second) == ["2/2"]  # resumed after epoch 1 with the optimiser, scheduler and random states

    evaluation = _run(root, mra_cohort, ["train.json", "evaluate.json"])
    metrics = (root / "runs" / "hnet" / "eval" / "metrics.csv").read_text()
    for name in ("val_dice", "val_sensitivity", "val_precision", "val_cldice", "val_fragment_ratio"):
        assert name in metrics and name in evaluation
    per_subject = (root / "runs" / "hnet" / "eval" / "val_dice_raw.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in per_subject[1:]] == ["sub-004"]  # the test list, one row per subject


@pytest.mark.slow
def test_lnet_trains_with_transfer_from_the_frozen_hnet(vessel_bundle_copy, mra_cohort) -> None:
    root = vessel_bundle_copy
    hnet = root / "models" / "hnet" / "model.pt"
    hnet.parent.mkdir(parents=True)
    torch.manual_seed(1)
    torch.save(KTViT(3, 1, 1, **TINY_WIDTHS).state_dict(), hnet)
    digest = hashlib.sha256(hnet.read_bytes()).hexdigest()

    log = _run(root, mra_cohort, ["train.json", "lnet_transfer.json"], "--max_epochs", "1", "--val_interval", "100")
    assert "knowledge transfer: total = 1·supervised + 1·(0.25·feature1[FeatureMSELoss](feature1)" in log
    for term in ("supervised", "transfer", "feature1", "feature2", "feature3", "feature4", "decision"):
        assert f"loss_{term}" in log, term
    assert hashlib.sha256(hnet.read_bytes()).hexdigest() == digest  # the H-net stays frozen
    assert (root / "models" / "model.pt").is_file()
    state = torch.load(root / "runs" / "lnet_transfer" / "checkpoints" / "checkpoint_epoch=1.pt", weights_only=True)
    assert "distillation" in state and "lr_scheduler" in state
