import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cmb_kd.synth import SynthConfig, write_cohort

BUNDLE = Path(__file__).resolve().parents[2] / "bundles" / "cmb_lr_mri_segmentation"
TINY = [
    "--network_def#channels", "[4,8,16,32,64]",
    "--patch_size", "[32,32,16]",
    "--num_samples", "1",
    "--batch_size", "1",
    "--epoch_length", "1",
    "--device", "cpu",
]  # fmt: skip


@pytest.fixture(scope="session")
def cohort(tmp_path_factory):
    out = tmp_path_factory.mktemp("kd_cohort")
    write_cohort(out, 3, 0, config=SynthConfig(shape=(96, 112, 88), spacing=2.0, cmb_p_zero=0.0))
    return out


def run_bundle(root, cohort, overlay, *extra):
    cmd = [
        sys.executable, "-m", "monai.bundle", "run",
        "--config_file", f"['configs/train.json','configs/{overlay}']",
        "--logging_file", "configs/logging.conf",
        "--bundle_root", str(root), "--dataset_dir", str(cohort), *TINY, *extra,
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=600, env=dict(os.environ))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def test_metadata_and_configs_are_json():
    for path in (BUNDLE / "configs").glob("*.json"):
        json.loads(path.read_text())
    meta = json.loads((BUNDLE / "configs" / "metadata.json").read_text())
    assert meta["version"] == "0.1.0" and meta["authors"] == "cmb_kd developers"
    assert meta["network_data_format"]["inputs"]["image"]["spatial_shape"] == [48, 48, 24]


@pytest.mark.slow
def test_teacher_then_plkd_every_stage_and_resume(tmp_path, cohort):
    root = tmp_path / "bundle"
    shutil.copytree(BUNDLE / "configs", root / "configs")
    run_bundle(root, cohort, "teacher.json", "--max_epochs", "1", "--val_interval", "100")
    assert (root / "models" / "teacher.pt").is_file()

    stages = ["--stage_epochs", "[1,1,1,1]", "--val_interval", "2"]
    first = run_bundle(root, cohort, "distill_plkd.json", *stages, "--max_epochs", "2")  # stopped mid-curriculum
    stage_dir = root / "runs" / "plkd" / "stages"
    assert sorted(p.name for p in stage_dir.iterdir()) == ["student_middle.pt", "student_primary.pt"]
    assert "loss_geometric" in first and "val_f1" in first

    second = run_bundle(root, cohort, "distill_plkd.json", *stages)
    epochs = [line.split("Epoch: ")[1].split(",")[0] for line in second.splitlines() if "Epoch: " in line]
    assert epochs == ["3/4", "4/4"]  # resumed: no finished iteration repeated
    assert sorted(p.name for p in stage_dir.iterdir()) == sorted(
        f"student_{n}.pt" for n in ("primary", "middle", "senior", "final")
    )
    assert "stage 'senior' from iteration 3: factor 8" in second
