import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import pytest
import torch

from cmb_kd.networks import E2UNet
from cmb_kd.synth import SynthConfig, simulate_subject

CONFIGS = ["train.json", "distill_plkd.json", "multi_gpu_train.json"]
TORCHRUN = (sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2")
INITIAL_WEIGHTS = Path(__file__).with_name("_initial_weights.py")
TINY_NETWORK = [4, 8, 16, 32, 64]


@pytest.mark.slow
@pytest.mark.skipif(not torch.distributed.is_gloo_available(), reason="needs the gloo backend")
def test_plkd_student_under_ddp_on_cpu_with_gloo(bundle_copy, run_bundle):
    root = bundle_copy
    teacher = E2UNet(3, 1, 1, channels=[4, 8, 16, 32, 64])
    (root / "models" / "teacher").mkdir(parents=True)
    torch.save({"model": teacher.state_dict()}, root / "models" / "teacher" / "model.pt")

    out = run_bundle(
        root, CONFIGS, "--backend", "gloo", "--stage_epochs", "[1,1,1,1]", "--val_interval", "2",
        launcher=TORCHRUN, timeout=300,
    )  # fmt: skip

    assert (root / "models" / "model.pt").is_file()
    stage_dir = root / "runs" / "plkd" / "stages"
    assert sorted(p.name for p in stage_dir.iterdir()) == sorted(
        f"student_{n}.pt" for n in ("primary", "middle", "senior", "final")
    )
    assert [p.name for p in (root / "runs" / "plkd" / "checkpoints").iterdir()] == ["checkpoint_epoch=4.pt"]
    events = list((root / "runs" / "plkd").glob("events.out.tfevents.*"))
    assert events and len({p.name.split(".")[-2] for p in events}) == 1  # TensorBoard: one process (rank 0)
    assert (root / "models" / "best_model.pt").is_file()  # validation ran on both ranks, saved on rank 0
    for epoch in range(1, 5):  # each iteration logged once: StatsHandler on rank 0 only
        assert out.count(f"Epoch: {epoch}/4, Iter: 1/1 -- ") == 1, out[-3000:]
    assert out.count("stage 'final' finished at iteration 4") == 1  # stage checkpoints written by rank 0 only
    assert out.count("stage 'final' from iteration 4") == 2  # the curriculum runs on both ranks
    assert "loss_geometric" in out


def _initial_network(configs: list[str], bundle_root: Path, seed: int) -> torch.nn.Module:
    """The network a run of ``configs`` starts from: the configs' ``initialize`` run, then ``network`` built."""
    from monai.bundle import ConfigParser

    from cmb_kd.inference import default_bundle_dir

    parser = ConfigParser()
    parser.read_config([str(default_bundle_dir() / "configs" / name) for name in configs])
    parser.update({"bundle_root": str(bundle_root), "seed": seed, "network_def#channels": TINY_NETWORK})
    parser.get_parsed_content("initialize")
    return parser.get_parsed_content("network")


def _same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[key].cpu(), b[key].cpu()) for key in a)


@pytest.fixture
def single_process_weights(tmp_path):
    """The weights ``train.json`` alone starts from with seed 7 (the global seeds reset afterwards)."""
    from monai.utils import set_determinism

    try:
        yield _initial_network(["train.json"], tmp_path, seed=7).state_dict()
    finally:
        set_determinism(seed=None)


@pytest.mark.skipif(not torch.distributed.is_gloo_available(), reason="needs the gloo backend")
def test_ddp_wraps_the_network_train_json_starts_from_and_uses_the_seed(tmp_path, monkeypatch, single_process_weights):
    from monai.utils import set_determinism

    for name, value in {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29517", "RANK": "0", "WORLD_SIZE": "1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LOCAL_RANK", "0")
    torch.manual_seed(12345)  # a global random state other than the seed's: initialize must seed it
    try:
        ddp = _initial_network(CONFIGS, tmp_path, seed=7)  # initialize starts the (one-process) group
    finally:
        torch.distributed.destroy_process_group()
        set_determinism(seed=None)
    assert isinstance(ddp, torch.nn.parallel.DistributedDataParallel)
    # the output-prior initialisation of train.json: an untrained student predicts about 0.01, not 0.5
    assert float(torch.sigmoid(ddp.module.head.conv.bias.detach())) == pytest.approx(0.01, rel=1e-4)
    assert _same_weights(ddp.module.state_dict(), single_process_weights)  # one process starts where train.json does


@pytest.mark.slow
@pytest.mark.skipif(not torch.distributed.is_gloo_available(), reason="needs the gloo backend")
def test_both_processes_of_a_ddp_run_start_from_the_weights_of_one_process(tmp_path, single_process_weights):
    command = [*TORCHRUN, str(INITIAL_WEIGHTS), str(tmp_path), "7", *CONFIGS]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank-{rank}.pt", weights_only=True) for rank in (0, 1)]
    assert _same_weights(ranks[0], ranks[1])  # DDP's broadcast of rank 0's parameters
    assert _same_weights(ranks[0], single_process_weights)  # seeded and initialised as train.json alone


def test_multi_gpu_inference_json_wires_only_the_stable_ids_of_inference_json(bundle_dir):
    overlay = json.loads((bundle_dir / "configs" / "multi_gpu_inference.json").read_text())
    assert set(overlay) == {"device", "initialize", "inference", "run", "finalize"}
    referenced = set(re.findall(r"@([A-Za-z_][\w#]*)", json.dumps(overlay)))
    assert referenced <= {"device", "inputs", "output_dir", "detector", "report", "progress", "use_phase", "inference"}
    base = json.loads((bundle_dir / "configs" / "inference.json").read_text())
    assert referenced - {"inference"} <= set(base)


def _scans(folder: Path) -> Path:
    """Two generated subjects' native x4 scans and a file that is not gzip, in ``folder``."""
    folder.mkdir()
    for seed in (1, 2):
        lr = simulate_subject(SynthConfig(shape=(96, 112, 88), spacing=2.0, lr_factors=(4,)), seed=seed).lr["x4"]
        nib.save(nib.Nifti1Image(lr.magnitude, lr.affine), folder / f"sub-00{seed}_T2S_lr-x4.nii.gz")
    (folder / "broken.nii.gz").write_bytes(b"not gzip")
    return folder


@pytest.mark.slow
@pytest.mark.skipif(not torch.distributed.is_gloo_available(), reason="needs the gloo backend")
def test_multi_gpu_inference_shares_the_scans_and_gathers_one_summary(bundle_dir, tmp_path):
    data, out = _scans(tmp_path / "data"), tmp_path / "out"
    files = "['configs/inference.json','configs/multi_gpu_inference.json']"
    fast = ["--working_spacing", "2.0", "--candidate_detector#max_candidates", "8", "--progress", "False"]
    command = [*TORCHRUN, "-m", "monai.bundle", "run", "--config_file", files, "--logging_file", "configs/logging.conf"]
    command += ["--dataset_dir", str(data), "--output_dir", str(out), *fast]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run(command, cwd=bundle_dir, capture_output=True, text=True, timeout=600, env=env)
    log = done.stdout + done.stderr
    assert done.returncode != 0, log[-3000:]  # the broken file fails the run, after the scans were written
    with open(out / "cmb_summary.csv", newline="") as handle:
        rows = [(row["name"], row["status"]) for row in csv.DictReader(handle)]
    assert rows == [("broken", "failed"), ("sub-001_T2S_lr-x4", "ok"), ("sub-002_T2S_lr-x4", "ok")], log[-3000:]
    assert sorted(p.name for p in out.glob("*_cmb_mask.nii.gz")) == [f"{name}_cmb_mask.nii.gz" for name, _ in rows[1:]]
    for name, _ in rows[1:]:  # each scan detected once, by one of the processes
        assert len(re.findall(rf"{name}\.nii\.gz: \d+ CMB\(s\) in ", log)) == 1, log[-3000:]
    assert not (out / "cmb_summary_shards").exists()
