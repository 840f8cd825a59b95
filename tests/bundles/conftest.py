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
def bundle_dir():
    return BUNDLE


@pytest.fixture(scope="session")
def cohort(tmp_path_factory):
    out = tmp_path_factory.mktemp("kd_cohort")
    write_cohort(out, 3, 0, config=SynthConfig(shape=(96, 112, 88), spacing=2.0, cmb_p_zero=0.0), progress=False)
    return out


@pytest.fixture
def bundle_copy(tmp_path):
    """A writable bundle root holding a copy of the configs."""
    root = tmp_path / "bundle"
    shutil.copytree(BUNDLE / "configs", root / "configs")
    return root


@pytest.fixture(scope="session")
def run_bundle(cohort):
    """Run ``monai.bundle run`` on the tiny cohort with the tiny overrides; returns stdout + stderr."""

    def run(root, configs, *extra, launcher=(sys.executable,), timeout=600, tiny=TINY):
        files = ",".join(f"'configs/{name}'" for name in configs)
        cmd = [
            *launcher, "-m", "monai.bundle", "run",
            "--config_file", f"[{files}]",
            "--logging_file", "configs/logging.conf",
            "--bundle_root", str(root), "--dataset_dir", str(cohort), *tiny, *extra,
        ]  # fmt: skip
        env = dict(os.environ, OMP_NUM_THREADS="1")
        proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=timeout, env=env)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        return proc.stdout + proc.stderr

    return run


VESSEL_BUNDLE = BUNDLE.parent / "vessel_lr_mra_segmentation"
VESSEL_TINY = [
    "--network_def#embed_channels", "[2,4]",
    "--network_def#hidden_sizes", "[8,8,16]",
    "--network_def#num_heads", "[2,2,4]",
    "--patch_size", "[32,32,16]",
    "--num_samples", "1",
    "--batch_size", "1",
    "--epoch_length", "1",
    "--device", "cpu",
]  # fmt: skip
"""A KT-ViT a few hundred parameters wide on 32×32×16 patches: one iteration takes a second on the CPU."""


@pytest.fixture(scope="session")
def vessel_bundle_dir():
    return VESSEL_BUNDLE


@pytest.fixture(scope="session")
def mra_cohort(tmp_path_factory):
    """A four-subject MRA cohort in the layout of ``cmb-kd synth --kind mra`` (see ``_mra_cohort.py``)."""
    from _mra_cohort import write_mra_cohort

    out = tmp_path_factory.mktemp("mra_cohort")
    write_mra_cohort(out)
    return out


@pytest.fixture
def vessel_bundle_copy(tmp_path):
    """A writable vessel bundle root holding a copy of the configs."""
    root = tmp_path / "vessel_bundle"
    shutil.copytree(VESSEL_BUNDLE / "configs", root / "configs")
    return root
