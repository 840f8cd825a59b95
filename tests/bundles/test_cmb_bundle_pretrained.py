"""Checks of the trained weights shipped in the CMB bundle's ``models/``, through MONAI's own bundle commands.

The weights are part of the product: a missing file FAILS these tests (it is never skipped), naming the file.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from monai.bundle import ConfigParser

from cmb_kd.io import PREDICTION_SUFFIX, nifti_stem
from cmb_kd.metrics import LesionCounts, compute_lesion_counts
from cmb_kd.synth import SynthConfig, write_cohort

# TorchScript is the format MONAI's ckpt_export writes and bundle users load
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")

MAX_WEIGHTS_BYTES = 20 * 1024 * 1024
"""Upper size of each shipped weights file."""

WEIGHTS = {"model.pt": "network_def", "teacher/model.pt": "network_def", "screening/model.pt": "screening_def"}
"""Weights file under ``models/`` -> id of its network definition in ``configs/inference.json``.

The HR teacher has the student's architecture (``distill_plkd.json``: ``"teacher_def": "%network_def"``). Only the
student lies in ``models/`` itself: MONAI Label offers every ``models/*.pt`` as a choice of the bundle's weights.
"""

PATCH_SHAPE = (1, 1, 48, 48, 24)
"""One stage-2 patch, the ``network_data_format`` input of ``configs/metadata.json``."""

SUBJECT_SEED = 7
"""Seed of the scored synthetic subject; the training cohort uses 2026, so the subject is unseen."""

F1_FLOOR = 0.5
# Lesion-level F1 on one unseen subject. Neither a random mask nor an untrained network reaches it: a random mask
# of the same volume as the reference hits almost none of the few CMBs, and an untrained E²U-Net leaves nothing
# after the threshold and the clean-up (F1 0.000 on this subject; the test runs it too). The shipped student finds
# all 4 CMBs of this subject with 1 false positive on the magnitude alone (F1 0.889) and with none when the phase
# image is beside the scan (F1 1.000), so the floor sits between the untrained and the trained network.


def _weights_file(bundle_dir: Path, name: str) -> Path:
    path = bundle_dir / "models" / name
    if not path.is_file():
        pytest.fail(
            f"{path}: trained weights missing; the bundle ships models/{name} (a state dict saved with torch.save)",
            pytrace=False,
        )
    return path


def _network(bundle_dir: Path, net_id: str) -> torch.nn.Module:
    parser = ConfigParser()
    parser.read_config(str(bundle_dir / "configs" / "inference.json"))
    return parser.get_parsed_content(net_id, instantiate=True)


def _trained_network(bundle_dir: Path, name: str) -> torch.nn.Module:
    net = _network(bundle_dir, WEIGHTS[name])
    net.load_state_dict(torch.load(_weights_file(bundle_dir, name), map_location="cpu", weights_only=True), strict=True)
    return net.eval()


def _listing(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


def _monai_bundle(command: str, *args: str, cwd: Path, timeout: int = 300) -> str:
    """Run ``python -m monai.bundle COMMAND ARGS`` in ``cwd``; asserts it succeeds and returns stdout + stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "monai.bundle", command, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


@pytest.mark.parametrize("name", list(WEIGHTS))
def test_weights_are_small_finite_state_dicts_of_their_network(bundle_dir, name) -> None:
    path = _weights_file(bundle_dir, name)
    size = path.stat().st_size
    assert size < MAX_WEIGHTS_BYTES, f"{path}: {size / 2**20:.1f} MB, expected < {MAX_WEIGHTS_BYTES / 2**20:.0f} MB"
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert all(isinstance(value, torch.Tensor) for value in state.values()), f"{path}: not a plain state dict"
    assert all(torch.isfinite(value).all() for value in state.values() if value.is_floating_point()), path
    _network(bundle_dir, WEIGHTS[name]).load_state_dict(state, strict=True)


def test_teacher_and_student_have_the_same_architecture(bundle_dir) -> None:
    student = torch.load(_weights_file(bundle_dir, "model.pt"), map_location="cpu", weights_only=True)
    teacher = torch.load(_weights_file(bundle_dir, "teacher/model.pt"), map_location="cpu", weights_only=True)
    assert {k: v.shape for k, v in teacher.items()} == {k: v.shape for k, v in student.items()}


def test_only_the_student_is_offered_as_the_bundles_model(bundle_dir) -> None:
    # MONAI Label's BundleInferTask lists glob(models/*.pt) as the weights a user may pick for network_def
    assert sorted(path.name for path in (bundle_dir / "models").glob("*.pt")) == ["model.pt"]
    assert sorted(str(path.relative_to(bundle_dir / "models")) for path in (bundle_dir / "models").rglob("*.pt")) == (
        sorted(WEIGHTS)
    )


def _parsed(bundle_dir: Path, configs: tuple[str, ...], key: str) -> object:
    parser = ConfigParser()
    parser.read_config([str(bundle_dir / "configs" / name) for name in configs])
    parser["bundle_root"] = str(bundle_dir)
    return parser.get_parsed_content(key)


@pytest.mark.parametrize(
    ("configs", "key", "name"),
    [
        (("inference.json",), "model_path", "model.pt"),
        (("inference.json",), "screening_path", "screening/model.pt"),
        (("train.json", "distill_plkd.json"), "teacher_ckpt", "teacher/model.pt"),
    ],
)
def test_the_configs_read_the_shipped_weights(bundle_dir, configs, key, name) -> None:
    assert Path(_parsed(bundle_dir, configs, key)) == _weights_file(bundle_dir, name)


@pytest.mark.parametrize(
    ("configs", "name"),
    [
        (("train.json", "distill_plkd.json"), "model.pt"),
        (("train.json", "teacher.json"), "teacher/model.pt"),
        (("train.json", "screening.json"), "screening/model.pt"),
    ],
)
def test_training_writes_the_final_weights_where_the_bundle_keeps_them(bundle_dir, configs, name) -> None:
    final = Path(_parsed(bundle_dir, configs, "model_dir")) / _parsed(bundle_dir, configs, "model_filename")
    assert final == bundle_dir / "models" / name


@pytest.mark.parametrize("net_id", ["network_def", "network"])  # the architecture, then with models/model.pt loaded
def test_verify_net_in_out_command_line(bundle_dir, net_id) -> None:
    _weights_file(bundle_dir, "model.pt")
    log = _monai_bundle(
        "verify_net_in_out", net_id, "--meta_file", "configs/metadata.json", "--config_file", "configs/inference.json",
        "--device", "cpu", "--bundle_root", ".", cwd=bundle_dir,
    )  # fmt: skip
    assert "data shape of network is verified with no error" in log


def test_ckpt_export_torchscript_equals_the_eager_model_and_carries_the_metadata(tmp_path, bundle_dir) -> None:
    """The export lands where MONAI Label looks for it (``models/model.ts``), in a copy: it is never committed."""
    _weights_file(bundle_dir, "model.pt")
    copy = tmp_path / "bundle"
    shutil.copytree(bundle_dir / "configs", copy / "configs")
    (copy / "models").mkdir()
    shutil.copy(bundle_dir / "models" / "model.pt", copy / "models")
    exported = copy / "models" / "model.ts"
    before = _listing(bundle_dir)
    # a plain state dict needs no --key_in_ckpt (MONAI loads the checkpoint itself into the network when it is "")
    _monai_bundle(
        "ckpt_export", "network_def", "--filepath", "models/model.ts", "--ckpt_file", "models/model.pt",
        "--meta_file", "configs/metadata.json", "--config_file", "configs/inference.json", cwd=copy,
    )  # fmt: skip
    assert _listing(bundle_dir) == before and exported.is_file()

    extra = {"metadata.json": "", "inference.json": ""}
    scripted = torch.jit.load(str(exported), map_location="cpu", _extra_files=extra)
    configs = bundle_dir / "configs"
    assert json.loads(extra["metadata.json"]) == json.loads((configs / "metadata.json").read_text())
    assert json.loads(extra["inference.json"]) == json.loads((configs / "inference.json").read_text())

    x = torch.rand(PATCH_SHAPE, generator=torch.Generator().manual_seed(0))
    eager = _trained_network(bundle_dir, "model.pt")
    with torch.no_grad():
        torch.testing.assert_close(scripted(x), eager(x), rtol=0.0, atol=1e-5)


@pytest.fixture(scope="module")
def subject(tmp_path_factory) -> tuple[Path, Path]:
    """One full-size synthetic subject with CMBs, not of the training cohort: its native x4 scan, label and phase."""
    folder = tmp_path_factory.mktemp("subject")
    config = SynthConfig(lr_factors=(4,), cmb_p_zero=0.0)
    datalist = write_cohort(folder, 1, seed=SUBJECT_SEED, config=config, progress=False)
    (entry,) = json.loads(datalist.read_text())["training"]
    return folder / entry["image_lr_x4"], folder / entry["label_lr_x4"], folder / entry["phase_lr_x4"]


def _bundle_inference(bundle_dir: Path, inputs: Path, output_dir: Path, label: Path, *overrides: str) -> LesionCounts:
    """Lesion counts of the mask ``monai.bundle run`` of ``inference.json`` writes for the one scan in ``inputs``."""
    _monai_bundle(
        "run", "--config_file", str(bundle_dir / "configs" / "inference.json"), "--bundle_root", str(bundle_dir),
        "--inputs", str(inputs), "--output_dir", str(output_dir), "--device", "cpu", "--progress", "False",
        *overrides, cwd=output_dir.parent,
    )  # fmt: skip
    (scan,) = [path for path in inputs.iterdir() if "phase" not in path.name]
    mask = np.asanyarray(nib.load(output_dir / f"{nifti_stem(scan)}{PREDICTION_SUFFIX}.nii.gz").dataobj)
    counts = compute_lesion_counts(mask, np.asanyarray(nib.load(label).dataobj))
    print(f"{output_dir.name}: {counts}, F1 {counts.f1:.3f}")  # shown when the test fails
    return counts


@pytest.mark.slow
def test_bundle_inference_finds_the_cmbs_of_an_unseen_subject(tmp_path, bundle_dir, subject) -> None:
    _weights_file(bundle_dir, "model.pt")
    image, label, phase = subject
    inputs, with_phase = tmp_path / "inputs", tmp_path / "inputs_with_phase"
    inputs.mkdir()
    shutil.copy(image, inputs)
    shutil.copytree(inputs, with_phase)
    shutil.copy(phase, with_phase)
    untrained = tmp_path / "untrained.pt"
    with torch.random.fork_rng():
        torch.manual_seed(SUBJECT_SEED)
        torch.save(_network(bundle_dir, "network_def").state_dict(), untrained)
    before = _listing(bundle_dir)

    trained = _bundle_inference(bundle_dir, inputs, tmp_path / "trained", label)
    trained_phase = _bundle_inference(bundle_dir, with_phase, tmp_path / "trained_phase", label)
    fresh = _bundle_inference(bundle_dir, inputs, tmp_path / "untrained", label, "--model_path", str(untrained))

    assert _listing(bundle_dir) == before
    assert trained.n_ref > 0
    assert fresh.f1 < F1_FLOOR, f"the untrained network reaches F1 {fresh.f1:.3f} >= {F1_FLOOR}: {fresh}"
    for name, counts in (("magnitude only", trained), ("with the phase", trained_phase)):
        assert counts.f1 >= F1_FLOOR, (
            f"{name}: F1 {counts.f1:.3f} on {counts.n_ref} CMBs, expected >= {F1_FLOOR}: {counts} "
            f"(untrained F1 {fresh.f1:.3f})"
        )
