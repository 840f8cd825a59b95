import sys

import pytest
import torch

from cmb_kd.networks import E2UNet

CONFIGS = ["train.json", "distill_plkd.json", "multi_gpu_train.json"]
TORCHRUN = (sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2")


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


@pytest.mark.skipif(not torch.distributed.is_gloo_available(), reason="needs the gloo backend")
def test_ddp_wraps_the_network_train_json_starts_from_and_uses_the_seed(tmp_path, monkeypatch):
    from monai.bundle import ConfigParser

    from cmb_kd.inference import default_bundle_dir

    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", "29517")
    monkeypatch.setenv("LOCAL_RANK", "0")
    configs = default_bundle_dir() / "configs"
    parser = ConfigParser()
    parser.read_config([str(configs / name) for name in CONFIGS])
    parser["bundle_root"] = str(tmp_path)
    parser["seed"] = 7
    torch.distributed.init_process_group("gloo", rank=0, world_size=1)
    try:
        ddp = parser.get_parsed_content("network")
        assert "seed=@seed" in " ".join(parser["initialize"])
    finally:
        torch.distributed.destroy_process_group()
    assert isinstance(ddp, torch.nn.parallel.DistributedDataParallel)
    # the output-prior initialisation of train.json: an untrained student predicts about 0.01, not 0.5
    assert float(torch.sigmoid(ddp.module.head.conv.bias)) == pytest.approx(0.01, rel=1e-4)
