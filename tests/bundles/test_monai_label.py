"""MONAI Label 0.8.5 serves and trains the bundle for real: its ``monaibundle`` sample app as an HTTP server.

The server runs in a virtual environment of its own (``scripts/monai_label_env.sh``), kept in ``.venv-monailabel``
at the repository root: made on the first run (several minutes, about 8 GB), reused after. It listens on 127.0.0.1
with a free port, over a datastore of two synthetic scans and their CMB labels in MONAI Label's layout
(``labels/final``), with the bundle copied into the app's ``model/`` folder (nothing downloaded from the zoo).
See docs/monai_label.md.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch

from cmb_kd.io import PREDICTION_SUFFIX, nifti_stem
from cmb_kd.metrics import compute_lesion_counts
from cmb_kd.synth import SynthConfig, write_cohort

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "bundles" / "cmb_lr_mri_segmentation"
MODEL = BUNDLE.name
ENV_SCRIPT = ROOT / "scripts" / "monai_label_env.sh"
VENV = ROOT / ".venv-monailabel"
SUBJECTS = 2
COHORT_SEED = 3
"""Seed of the datastore's cohort; the shipped student finds CMBs in its first scan (4 with ``cmb-kd infer``)."""


@pytest.fixture(scope="module")
def monai_label_python() -> Path:
    """The MONAI Label environment's Python, made by ``scripts/monai_label_env.sh`` unless it is up to date."""
    check = subprocess.run(["bash", str(ENV_SCRIPT), "--check", str(VENV)], capture_output=True, text=True)
    if check.returncode != 0:
        pip_index = [sys.executable, "-m", "pip", "index", "versions", "monailabel"]
        index = subprocess.run(pip_index, capture_output=True, text=True, timeout=300)
        if index.returncode != 0 or "0.8.5" not in index.stdout:
            pytest.skip(f"PyPI unreachable, cannot make {VENV.name}: {(index.stdout + index.stderr)[-500:]}")
        made = subprocess.run(["bash", str(ENV_SCRIPT), str(VENV)], capture_output=True, text=True, timeout=3600)
        assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    return VENV / "bin" / "python"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, monai_label_python) -> dict[str, Path]:
    """The sample app with the bundle in its ``model/`` folder, and a datastore: scans beside ``labels/final``."""
    root = tmp_path_factory.mktemp("monai_label")
    cohort = root / "cohort"
    config = SynthConfig(shape=(96, 112, 88), spacing=2.0, lr_factors=(4,), cmb_p_zero=0.0)
    lists = json.loads(write_cohort(cohort, SUBJECTS, COHORT_SEED, config=config, progress=False).read_text())
    studies = root / "studies"
    (studies / "labels" / "final").mkdir(parents=True)
    for entry in lists["training"] + lists["validation"] + lists.get("test", []):
        name = Path(entry["image"]).name
        shutil.copy(cohort / entry["image"], studies / name)
        shutil.copy(cohort / entry["label"], studies / "labels" / "final" / name)
    apps = root / "apps"
    subprocess.run(
        [str(monai_label_python), "-m", "monailabel.main", "apps", "--download", "--name", "monaibundle",
         "--output", str(apps)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    bundle = apps / "monaibundle" / "model" / MODEL
    shutil.copytree(BUNDLE, bundle, ignore=shutil.ignore_patterns("runs", "eval", "data", "__pycache__"))
    return {"root": root, "app": apps / "monaibundle", "studies": studies, "bundle": bundle}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get_json(url: str, timeout: float = 60) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


def _post(url: str, body: bytes, content_type: str, timeout: float) -> bytes:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


@pytest.fixture(scope="module")
def server(workspace, monai_label_python):
    """``monailabel start_server`` on 127.0.0.1 and a free port; stopped (its whole process group) at the end."""
    port = _free_port()
    log_path = workspace["root"] / "server.log"
    env = dict(os.environ, OMP_NUM_THREADS="1", MONAI_LABEL_SESSION_PATH=str(workspace["root"] / "sessions"))
    cmd = [
        str(monai_label_python), "-m", "monailabel.main", "start_server",
        "--app", str(workspace["app"]), "--studies", str(workspace["studies"]),
        "--conf", "models", MODEL, "--conf", "zoo_source", "github", "--conf", "sam2", "false",
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
            try:
                _get_json(f"{url}/info/", timeout=10)
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    pytest.fail(f"no answer on {url}/info/ in 300 s:\n{log_path.read_text()[-4000:]}")
                time.sleep(2)
        yield {"url": url, "log": log_path}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.mark.slow
def test_info_reports_the_bundle_its_labels_and_its_trainer(server) -> None:
    info = _get_json(f"{server['url']}/info/")
    assert info["version"] == "0.8.5"
    model = info["models"][MODEL]
    assert model["type"] == "segmentation" and model["dimension"] == 3
    # metadata.json's output channel_def {"0": "background", "1": "CMB"}: MONAI Label lowers the names and leaves
    # background (0) out of a segmentation model's labels
    assert model["labels"] == {"cmb": 1} and info["labels"] == ["cmb"]
    assert model["version"] == json.loads((BUNDLE / "configs" / "metadata.json").read_text())["version"]
    assert set(info["models"]) == {MODEL} and set(info["trainers"]) == {MODEL}  # no SAM2
    assert info["datastore"]["total"] == SUBJECTS and info["datastore"]["label_tags"] == {"final": SUBJECTS}


def _multipart(fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = "cmb-kd-form-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields.items()]
    return ("".join(parts) + f"--{boundary}--\r\n").encode(), f"multipart/form-data; boundary={boundary}"


@pytest.mark.slow
def test_inference_over_http_writes_the_cmbs_cmb_kd_infer_finds_on_the_scans_grid(server, workspace) -> None:
    # BundleInferTask runs preprocessing (its own LoadImaged), inferer(inputs, network) and postprocessing (without
    # SaveImaged, then its Restored) of inference.json, and writes the label with the scan's affine
    image = sorted(workspace["studies"].glob("*.nii.gz"))[0]
    body, content_type = _multipart({"params": json.dumps({"device": "cpu"})})
    query = f"image={nifti_stem(image)}&output=image"
    served = workspace["root"] / "served_label.nii.gz"
    served.write_bytes(_post(f"{server['url']}/infer/{MODEL}?{query}", body, content_type, timeout=1200))

    label, scan = nib.load(served), nib.load(image)
    assert label.shape == scan.shape
    np.testing.assert_allclose(label.affine, scan.affine, atol=1e-4)  # ITK writes the header in float32
    served_mask = np.asanyarray(label.dataobj)
    assert set(np.unique(served_mask).tolist()) <= {0, 1}

    out = workspace["root"] / "cli"
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "cmb_kd", "infer", str(image), "--output", str(out), "--bundle",
           str(workspace["bundle"]), "--device", "cpu", "--quiet"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    cli_mask = np.asanyarray(nib.load(out / f"{nifti_stem(image)}{PREDICTION_SUFFIX}.nii.gz").dataobj)
    counts = compute_lesion_counts(served_mask, cli_mask)
    assert counts.n_ref > 0, "cmb-kd infer finds no CMB in the scan: the comparison would say nothing"
    assert counts.n_pred == counts.n_ref and counts.f1 == 1.0, f"served vs cmb-kd infer: {counts}"


@pytest.mark.slow
def test_training_over_http_runs_an_epoch_and_writes_the_model(server, workspace) -> None:
    model_file = workspace["bundle"] / "models" / "model.pt"
    before = model_file.stat().st_mtime_ns
    params = {"max_epochs": 1, "val_split": 0.5, "device": "cpu", "multi_gpu": False}
    started = json.loads(
        _post(f"{server['url']}/train/{MODEL}", json.dumps(params).encode(), "application/json", timeout=60)
    )
    assert started["status"] == "SUBMITTED", started

    deadline = time.monotonic() + 1200
    status = started
    while status["status"] in ("SUBMITTED", "RUNNING") and time.monotonic() < deadline:
        time.sleep(5)
        status = _get_json(f"{server['url']}/train/")
    details = "\n".join(status.get("details", []))  # the last 20 lines of the training process
    assert status["status"] == "DONE", f"{status['status']}:\n{details}\n{server['log'].read_text()[-4000:]}"
    log = server["log"].read_text()
    assert "Epoch: 1/1, Iter: 1/1 -- loss:" in log and "Total Records for Training: 1" in log
    assert f"Train completed, saved final checkpoint: {model_file}" in details
    assert model_file.stat().st_mtime_ns > before
    state = torch.load(model_file, map_location="cpu", weights_only=True)
    shipped = torch.load(BUNDLE / "models" / "model.pt", map_location="cpu", weights_only=True)
    assert {k: v.shape for k, v in state.items()} == {k: v.shape for k, v in shipped.items()}
    assert any(not torch.equal(state[k], shipped[k]) for k in shipped)  # one step of Adam moved the weights
