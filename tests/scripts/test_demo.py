"""End-to-end test of ``scripts/demo.py`` (``make demo``) on a tiny subject with freshly initialised weights."""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import nibabel as nib
import numpy as np
import pytest
import torch
from scipy import ndimage

from cmb_kd.inference import default_bundle_dir
from cmb_kd.networks import E2UNet
from cmb_kd.synth import SynthConfig

DEMO_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "demo.py"
TINY = SynthConfig(shape=(96, 112, 88), spacing=2.0, lr_factors=(4,), cmb_p_zero=0.0)
PATH_LABELS = ("mask", "lesion table", "summary CSV", "picture", "page", "synthetic subject picture")


@pytest.fixture(scope="module")
def demo() -> Iterator[ModuleType]:
    """The demo script, imported as a module."""
    spec = importlib.util.spec_from_file_location("cmb_kd_demo_script", DEMO_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


@pytest.fixture
def bundle(tmp_path) -> Path:
    """The shipped bundle's configs with freshly initialised weights (2 mm working grid, at most 8 candidates)."""
    root = tmp_path / "bundle"
    shutil.copytree(default_bundle_dir() / "configs", root / "configs")
    config_file = root / "configs" / "inference.json"
    config = json.loads(config_file.read_text())
    config["working_spacing"] = 2.0
    config["candidate_detector"]["max_candidates"] = 8
    config_file.write_text(json.dumps(config))
    (root / "models").mkdir()
    torch.manual_seed(0)
    network = E2UNet(spatial_dims=3, in_channels=1, out_channels=1, channels="compact")
    torch.save(network.state_dict(), root / "models" / "model.pt")
    return root


@pytest.mark.slow
def test_demo_reports_counts_and_outputs(demo, bundle, tmp_path, capsys) -> None:
    result = demo.run_demo(tmp_path / "out", seed=2026, bundle=bundle, device="cpu", config=TINY)
    printed = capsys.readouterr().out

    for label in PATH_LABELS:
        match = re.search(rf"^{label}: +(\S+)$", printed, flags=re.MULTILINE)
        assert match is not None, f"no {label!r} line in the printout:\n{printed}"
        assert Path(match.group(1)).is_file()
    counts = re.search(r"found (\d+) CMB\(s\); true number (\d+); (\d+) of the found match", printed)
    assert counts is not None, printed
    n_found, n_true, n_matched = map(int, counts.groups())

    cohort = tmp_path / "out" / "cohort"
    (entry,) = json.loads((cohort / "datalist.json").read_text())["training"]
    assert result.scan == cohort / entry["image_lr_x4"]
    label = nib.load(cohort / entry["label_lr_x4"]).get_fdata() > 0
    _, n_components = ndimage.label(label, structure=np.ones((3, 3, 3)))
    assert n_true == n_components > 0
    with result.lesions.open(newline="") as handle:
        assert n_found == len(list(csv.DictReader(handle)))
    assert 0 <= n_matched <= min(n_found, n_true)
    assert re.search(r"^total wall time: \d+ s$", printed, flags=re.MULTILINE)


def test_missing_weights_stop_the_demo_with_one_line(demo, bundle, tmp_path, capsys) -> None:
    (bundle / "models" / "model.pt").unlink()
    with pytest.raises(FileNotFoundError, match="the bundle has no trained weights"):
        demo.run_demo(tmp_path / "out", bundle=bundle, config=TINY)
    assert not (tmp_path / "out").exists()

    code = demo.main(["--output", str(tmp_path / "out"), "--bundle", str(bundle)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("demo: error: ") and "models/model.pt" in err
    assert len(err.strip().splitlines()) == 1
