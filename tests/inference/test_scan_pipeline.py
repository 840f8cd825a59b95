"""Tests of the pipeline's Composes: their order, the stages they are timed as, collation, a whole round trip."""

from __future__ import annotations

import numpy as np
import torch
from _inference_helpers import PHANTOM_AFFINE, head_phantom
from monai.data import MetaTensor
from monai.transforms import Compose, Invertd, LoadImaged, SaveImaged

from cmb_kd.inference import (
    CANDIDATES,
    STAGES,
    BrainBoxd,
    CandidatePatchInferer,
    CheckScand,
    LesionCleanupd,
    StageTimer,
    ThresholdDetectionsd,
    collate_scans,
    find_transform,
    run_stages,
    scan_postprocessing,
    scan_preprocessing,
    stage_of,
    without_io,
)
from cmb_kd.transforms import BrainStandardisationd, ResampleToWorkingGridd


def test_the_composes_hold_the_documented_steps_in_order() -> None:
    pre = scan_preprocessing()
    names = [type(t).__name__ for t in pre.transforms]
    assert names[:4] == ["LoadImaged", "CheckScand", "InputBraind", "ResampleToWorkingGridd"]
    assert names[-2:] == ["StageCandidatesd", "BrainStandardisationd"]
    assert not isinstance(scan_preprocessing(load=False).transforms[0], LoadImaged)
    post = scan_postprocessing(pre)
    assert [type(t) for t in post.transforms] == [Invertd, ThresholdDetectionsd, LesionCleanupd]
    assert post.transforms[0].transform is pre  # Invertd undoes this very preprocessing


def test_without_io_and_find_transform() -> None:
    steps = [LoadImaged("image"), CheckScand(), SaveImaged("pred")]
    assert [type(t) for t in without_io(Compose(steps))] == [CheckScand]
    assert isinstance(find_transform(steps, CheckScand), CheckScand) and find_transform(steps, BrainBoxd) is None


def test_every_step_is_timed_as_one_of_the_stages() -> None:
    for transform in [*scan_preprocessing().transforms, *scan_postprocessing(scan_preprocessing()).transforms]:
        assert stage_of(transform) in STAGES
    assert stage_of(ResampleToWorkingGridd("image")) == "working_grid"
    assert stage_of(BrainStandardisationd("image")) == "standardise"
    timer = StageTimer()
    assert run_stages([lambda d: {**d, "x": 1}], {}, timer) == {"x": 1} and timer.seconds["load"] >= 0.0


def test_collation_leaves_the_candidate_objects_out() -> None:
    item = {"image": MetaTensor(torch.zeros(1, 4, 4, 2)), CANDIDATES: ("a", "b")}
    batch = collate_scans([item])
    assert CANDIDATES not in batch and batch["image"].shape == (1, 1, 4, 4, 2)


def test_a_scan_goes_through_and_comes_back_on_its_own_grid() -> None:
    volume, brain = head_phantom("brain-zero")
    pre = scan_preprocessing(spacing=4.0, patch_size=(8, 8, 4), load=False)
    data = pre({"image": MetaTensor(torch.from_numpy(volume)[None], affine=torch.as_tensor(PHANTOM_AFFINE))})
    inferer = CandidatePatchInferer((8, 8, 4), sigmoid=False)
    data["pred"] = inferer(data["image"][None], lambda x: torch.ones_like(x))[0]  # 1 in every candidate's crop
    out = scan_postprocessing(pre, threshold=0.5)(data)
    assert out["pred"].shape == (1, *volume.shape) and np.allclose(out["pred"].affine.numpy(), PHANTOM_AFFINE)
    assert out["probability"].max() == 1.0 and not out["pred"][0][~brain].any()  # nothing outside the brain
