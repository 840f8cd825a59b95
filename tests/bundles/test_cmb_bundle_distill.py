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
    assert (root / "models" / "teacher" / "model.pt").is_file()

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


@pytest.mark.slow
def test_student_trains_on_native_scans_and_hard_negatives(bundle_copy, run_bundle, cohort, tmp_path):
    """``native_lr.json`` and a datalist with hard-negative masks (as ``scripts/mine_hard_negatives.py`` writes)."""
    import nibabel as nib
    import numpy as np

    root = bundle_copy
    run_bundle(root, ["train.json", "teacher.json"], "--max_epochs", "1", "--val_interval", "100")
    lists = json.loads((cohort / "datalist.json").read_text())
    for entry in lists["training"] + lists["validation"]:
        reference = nib.load(cohort / entry["label"])
        mask = np.zeros(reference.shape, np.uint8)
        mask[40, 50, 40] = 1
        path = tmp_path / f"{entry['subject']}_hard-negatives.nii.gz"
        nib.save(nib.Nifti1Image(mask, reference.affine), path)
        entry["hard_negatives"] = str(path)
    datalist = tmp_path / "datalist.json"
    datalist.write_text(json.dumps(lists))
    out = run_bundle(
        root, ["train.json", "distill_plkd.json", "native_lr.json"],
        "--stage_epochs", "[1,1,1,1]", "--val_interval", "4", "--datalist_file", str(datalist),
        "--hard_negative_key", "hard_negatives", "--native_prob", "1.0",
    )  # fmt: skip
    assert "stage 'senior' from iteration 3: factor 8" in out and "val_f1" in out
    assert (root / "models" / "model.pt").is_file()


@pytest.mark.slow
def test_teacher_and_plkd_train_on_random_appearances_and_acquisitions(bundle_copy, run_bundle):
    """``randomised.json`` (appearance, any workflow) and ``randomised_lr.json`` (acquisition, the students)."""
    root = bundle_copy
    run_bundle(root, ["train.json", "teacher.json", "randomised.json"], "--max_epochs", "1", "--val_interval", "100")
    assert (root / "models" / "teacher" / "model.pt").is_file()
    out = run_bundle(
        root, ["train.json", "distill_plkd.json", "randomised.json", "randomised_lr.json"],
        "--stage_epochs", "[1,1,1,1]", "--val_interval", "4",
    )  # fmt: skip
    assert "stage 'final' from iteration 4: factor 4" in out and "val_f1" in out
    assert (root / "models" / "model.pt").is_file()
