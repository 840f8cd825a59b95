"""Export and import of the vessel bundle's network with MONAI's own commands: ``ckpt_export`` to TorchScript with
the metadata and configs inside, loaded back and compared with the eager network, and ``verify_net_in_out``.

The bundle ships no weights yet, so the checkpoint exported is a freshly initialised one, saved in a copy of the
bundle (as the weights the configs write would be); the export is never written into the repository.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from monai.bundle import ConfigParser

# TorchScript is the format MONAI's ckpt_export writes and bundle users load
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.:DeprecationWarning")


def _monai_bundle(command: str, *args: str, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "monai.bundle", command, *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


def _network(configs: Path) -> torch.nn.Module:
    parser = ConfigParser()
    parser.read_config(str(configs / "inference.json"))
    return parser.get_parsed_content("network_def")


@pytest.mark.slow
def test_ckpt_export_round_trips_the_network_with_its_metadata(tmp_path, vessel_bundle_dir) -> None:
    copy = tmp_path / "bundle"
    shutil.copytree(vessel_bundle_dir / "configs", copy / "configs")
    (copy / "models").mkdir()
    torch.manual_seed(0)
    eager = _network(copy / "configs").eval()
    torch.save(eager.state_dict(), copy / "models" / "model.pt")
    _monai_bundle(
        "ckpt_export", "network_def", "--filepath", "models/model.ts", "--ckpt_file", "models/model.pt",
        "--meta_file", "configs/metadata.json", "--config_file", "configs/inference.json", cwd=copy,
    )  # fmt: skip
    extra = {"metadata.json": "", "inference.json": ""}
    scripted = torch.jit.load(str(copy / "models" / "model.ts"), map_location="cpu", _extra_files=extra)
    configs = vessel_bundle_dir / "configs"
    assert json.loads(extra["metadata.json"]) == json.loads((configs / "metadata.json").read_text())
    assert json.loads(extra["inference.json"]) == json.loads((configs / "inference.json").read_text())
    x = torch.rand(1, 1, 64, 64, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(scripted(x), eager(x), rtol=0.0, atol=1e-5)


@pytest.mark.slow
def test_verify_net_in_out_command_line(vessel_bundle_dir) -> None:
    log = _monai_bundle(
        "verify_net_in_out", "network_def", "--meta_file", "configs/metadata.json", "--config_file",
        "configs/inference.json", "--device", "cpu", "--bundle_root", ".", cwd=vessel_bundle_dir,
    )  # fmt: skip
    assert "data shape of network is verified with no error" in log
