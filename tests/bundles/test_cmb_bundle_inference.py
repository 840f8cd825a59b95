"""Smoke tests of the CMB bundle's inference.json and evaluate.json through ``python -m monai.bundle run``."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from cmb_kd.synth import SynthConfig, write_cohort

BUNDLE = Path(__file__).resolve().parents[2] / "bundles" / "cmb_lr_mri_segmentation"
FAST = ["--allow_untrained", "True", "--working_spacing", "2.0", "--candidate_detector#max_candidates", "8"]


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    """A one-subject cohort on a 2 mm HR grid with its native x4 scans."""
    folder = tmp_path_factory.mktemp("cohort")
    config = SynthConfig(shape=(96, 112, 88), spacing=2.0, lr_factors=(4,))
    write_cohort(folder, n_subjects=1, seed=5, config=config, overwrite=True, progress=False)
    return folder


def _bundle_run(config_files: list[str], *overrides: str) -> subprocess.CompletedProcess:
    files = [f"configs/{name}" for name in config_files]
    config_arg = files[0] if len(files) == 1 else repr(files)
    command = [sys.executable, "-m", "monai.bundle", "run", "--config_file", config_arg, *overrides]
    return subprocess.run(command, cwd=BUNDLE, capture_output=True, text=True, timeout=600)


def _mask_names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*_cmb_mask.nii.gz"))


@pytest.mark.slow
def test_inference_config_runs_over_a_dataset_folder(tmp_path, cohort) -> None:
    data = tmp_path / "data"
    data.mkdir()
    scan = cohort / "sub-001" / "sub-001_T2S_lr-x4.nii.gz"
    shutil.copy(scan, data)
    (data / "broken.nii.gz").write_bytes(b"not gzip")
    out = tmp_path / "out"
    done = _bundle_run(
        ["inference.json"], "--dataset_dir", str(data), "--output_dir", str(out), "--progress", "False", *FAST
    )
    assert done.returncode != 0, done.stderr[-2000:]  # the broken file fails the run ...
    assert "broken.nii.gz" in done.stdout + done.stderr  # logged by the bundle's logging.conf
    assert _mask_names(out) == ["sub-001_T2S_lr-x4_cmb_mask.nii.gz"]  # ... after the good scan was written
    mask = nib.load(out / "sub-001_T2S_lr-x4_cmb_mask.nii.gz")
    assert mask.shape == nib.load(scan).shape and mask.get_data_dtype() == np.uint8
    with open(out / "cmb_summary.csv") as handle:
        statuses = {row["name"]: row["status"] for row in csv.DictReader(handle)}
    assert statuses == {"broken": "failed", "sub-001_T2S_lr-x4": "ok"}


@pytest.mark.slow
def test_evaluate_config_infers_native_x4_scans_then_scores_them(tmp_path, cohort) -> None:
    out = tmp_path / "eval"
    done = _bundle_run(
        ["inference.json", "evaluate.json"], "--dataset_dir", str(cohort), "--output_dir", str(out), *FAST
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert _mask_names(out) == ["sub-001_T2S_lr-x4_cmb_mask.nii.gz"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert "sub-001" in json.dumps(metrics["subjects"]) and (out / "metrics_per_subject.csv").is_file()
