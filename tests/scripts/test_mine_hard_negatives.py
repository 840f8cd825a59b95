"""Tests of scripts/mine_hard_negatives.py: the distance rule and a run on a tiny cohort."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from monai.bundle import ConfigParser

from cmb_kd.synth import SynthConfig, write_cohort

ROOT = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location("mine_hard_negatives", ROOT / "scripts" / "mine_hard_negatives.py")
mine = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(mine)


def test_hard_negatives_are_the_centres_far_from_every_cmb_voxel() -> None:
    affine = np.diag([1.0, 1.0, 4.0, 1.0])
    affine[:3, 3] = [10.0, 20.0, 30.0]
    label = np.zeros((20, 20, 10), bool)
    label[5, 5, 5] = True
    voxels = np.array([[5, 5, 5], [5, 8, 5], [5, 5, 6], [15, 15, 2], [25, 5, 5], [-1, 0, 0]])
    centres_mm = (affine @ np.c_[voxels, np.ones(len(voxels))].T).T[:, :3]
    kept = mine.hard_negative_voxels(centres_mm, label, affine, min_distance_mm=3.0)
    # the CMB itself, 3 mm away in-plane (not farther) and outside the grid are dropped; one slice away is 4 mm
    assert kept.tolist() == [[5, 5, 6], [15, 15, 2]]
    # without CMB every centre inside the grid is a hard negative
    assert mine.hard_negative_voxels(centres_mm, np.zeros_like(label), affine, 3.0).tolist() == voxels[:4].tolist()


def test_mines_training_and_validation_and_leaves_the_cohort_alone(tmp_path, capsys) -> None:
    cohort = tmp_path / "cohort"
    write_cohort(cohort, 3, 0, config=SynthConfig(shape=(96, 112, 88), spacing=2.0, cmb_p_zero=0.0), progress=False)
    before = (cohort / "datalist.json").read_text()
    bundle = tmp_path / "bundle"
    (bundle / "configs").mkdir(parents=True)
    inference = ConfigParser.load_config_file(
        str(ROOT / "bundles" / "cmb_lr_mri_segmentation" / "configs" / "inference.json")
    )
    inference.update(working_spacing=2.0)
    inference["candidate_detector"]["max_candidates"] = 20
    (bundle / "configs" / "inference.json").write_text(json.dumps(inference))
    out = tmp_path / "hard"
    argv = ["--cohort", str(cohort), "--out", str(out), "--factors", "4", "--bundle", str(bundle)]
    assert mine.main(argv) == 0
    lists = json.loads((out / "datalist.json").read_text())
    assert (cohort / "datalist.json").read_text() == before
    assert all("hard_negatives" not in e for e in lists["test"])
    for entry in lists["training"] + lists["validation"]:
        mask = nib.load(entry["hard_negatives"])
        label = nib.load(cohort / entry["label"])
        assert mask.shape == label.shape and np.allclose(mask.affine, label.affine)
        marked = np.argwhere(np.asanyarray(mask.dataobj) > 0)
        assert 0 < len(marked) <= 20
        cmb = np.argwhere(np.asanyarray(label.dataobj) > 0)
        distance = np.sqrt((((marked[:, None] - cmb[None]) * 2.0) ** 2).sum(-1)).min(1)
        assert (distance > 3.0).all()
    # a second run reuses the masks
    stamp = {p: p.stat().st_mtime_ns for p in out.glob("*.nii.gz")}
    assert mine.main(argv) == 0
    assert {p: p.stat().st_mtime_ns for p in out.glob("*.nii.gz")} == stamp
    with pytest.raises(SystemExit):
        mine.main(["--cohort", str(cohort), "--out", str(cohort)])
    assert "expected a folder other than the cohort's" in capsys.readouterr().err
