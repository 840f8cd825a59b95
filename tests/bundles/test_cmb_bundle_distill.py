import json

import pytest


def test_metadata_and_configs_are_json(bundle_dir):
    for path in (bundle_dir / "configs").glob("*.json"):
        json.loads(path.read_text())
    meta = json.loads((bundle_dir / "configs" / "metadata.json").read_text())
    assert meta["version"] in meta["changelog"] and meta["authors"] == "cmb_kd developers"
    assert next(iter(meta["changelog"])) == meta["version"]  # newest entry first
    assert meta["network_data_format"]["inputs"]["image"]["spatial_shape"] == [48, 48, 24]


@pytest.mark.slow
def test_teacher_then_plkd_every_stage_and_resume(bundle_copy, run_bundle):
    root = bundle_copy
    run_bundle(root, ["train.json", "teacher.json"], "--max_epochs", "1", "--val_interval", "100")
    assert (root / "models" / "teacher.pt").is_file()

    stages = ["--stage_epochs", "[1,1,1,1]", "--val_interval", "2"]
    # stopped mid-curriculum
    first = run_bundle(root, ["train.json", "distill_plkd.json"], *stages, "--max_epochs", "2")
    stage_dir = root / "runs" / "plkd" / "stages"
    assert sorted(p.name for p in stage_dir.iterdir()) == ["student_middle.pt", "student_primary.pt"]
    assert "loss_geometric" in first and "val_f1" in first

    second = run_bundle(root, ["train.json", "distill_plkd.json"], *stages)
    epochs = [line.split("Epoch: ")[1].split(",")[0] for line in second.splitlines() if "Epoch: " in line]
    assert epochs == ["3/4", "4/4"]  # resumed: no finished iteration repeated
    assert sorted(p.name for p in stage_dir.iterdir()) == sorted(
        f"student_{n}.pt" for n in ("primary", "middle", "senior", "final")
    )
    assert "stage 'senior' from iteration 3: factor 8" in second
