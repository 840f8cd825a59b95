"""Tests of the preprocessing transforms: scan checks, the brain's source, the brain box, the candidates."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _inference_helpers import PHANTOM_AFFINE, head_phantom
from monai.data import MetaTensor

from cmb_kd.inference import (
    BRAIN_INPUT,
    BRAIN_WORKING,
    CANDIDATE_VOXELS,
    CANDIDATES,
    FINITE,
    META_BRAIN_SOURCE,
    META_WARNINGS,
    BrainBoxd,
    CheckScand,
    InputBraind,
    InputError,
    InputGridBraind,
    StageCandidatesd,
)
from cmb_kd.transforms import ResampleToWorkingGridd


def _image(volume: np.ndarray, affine: np.ndarray = PHANTOM_AFFINE, filename: str | None = None) -> MetaTensor:
    meta = {} if filename is None else {"filename_or_obj": filename}
    return MetaTensor(torch.from_numpy(volume)[None], affine=torch.as_tensor(affine), meta=meta)


def test_check_sets_nan_to_zero_and_records_the_voxels_with_a_value() -> None:
    volume, brain = head_phantom("brain-nan")
    d = CheckScand()({"image": _image(volume)})
    assert not torch.isnan(d["image"]).any() and float(d["image"][0][~brain].abs().max()) == 0.0
    assert np.array_equal(d[FINITE], brain)
    assert [w.startswith("slices of 6 mm are thicker") for w in d["image"].meta[META_WARNINGS]] == [True]
    assert FINITE not in CheckScand()({"image": _image(head_phantom("head")[0])})


def test_check_refuses_a_mask_naming_its_file_or_the_array() -> None:
    mask = head_phantom("head")[1].astype(np.float32)
    with pytest.raises(InputError, match="sub-9_T2S.nii.gz"):
        CheckScand()({"image": _image(mask, filename="sub-9_T2S.nii.gz")})
    with pytest.raises(ValueError, match="^image:"):
        CheckScand()({"image": _image(mask)})


@pytest.mark.parametrize(
    ("kind", "given", "source"),
    [("head", True, "given"), ("brain-zero", False, "pre-masked"), ("head", False, "skull-strip")],
)
def test_the_input_brain_comes_from_the_given_mask_or_the_pre_masked_test(kind, given, source) -> None:
    volume, brain = head_phantom(kind)
    d = {"image": _image(volume)}
    if given:
        d["brain_mask"] = brain
    d = InputBraind()(CheckScand()(d))
    assert d["image"].meta[META_BRAIN_SOURCE] == source
    if source == "skull-strip":
        assert "brain" not in d and BRAIN_INPUT not in d
    else:
        assert np.array_equal(d[BRAIN_INPUT], brain) and np.array_equal(d["brain"][0].numpy() != 0, brain)


def _working(kind: str = "brain-zero") -> dict:
    volume, _ = head_phantom(kind)
    d = InputBraind()(CheckScand()({"image": _image(volume)}))
    return ResampleToWorkingGridd(["image", "brain"], spacing=4.0, mode=["cubic", "nearest"])(d)


def test_the_brain_box_is_the_brain_plus_half_a_patch_and_inverts_with_zeros() -> None:
    d = _working()
    box = BrainBoxd(patch_size=(8, 8, 4))
    cut = box(d)
    brain = d["brain"][0].numpy() != 0
    lows = [int(np.flatnonzero(brain.any(axis=tuple(a for a in range(3) if a != k)))[0]) for k in range(3)]
    starts = [max(0, low - m) for low, m in zip(lows, (4, 4, 2))]
    assert np.array_equal(cut[BRAIN_WORKING], brain)
    assert np.array_equal(
        cut["image"].numpy(),
        d["image"].numpy()[(slice(None), *(slice(s, s + n) for s, n in zip(starts, cut["image"].shape[1:])))],
    )
    assert np.allclose(
        cut["image"].affine[:3, 3].numpy(),
        d["image"].affine.numpy()[:3, :3] @ starts + d["image"].affine.numpy()[:3, 3],
    )
    back = BrainBoxd("image", patch_size=(8, 8, 4)).inverse({"image": cut["image"]})["image"]
    assert back.shape == d["image"].shape and np.allclose(back.affine.numpy(), d["image"].affine.numpy())
    inside = back.numpy() != 0
    assert np.array_equal(back.numpy()[inside], d["image"].numpy()[inside])


def test_an_empty_brain_box_is_refused() -> None:
    d = _working()
    d["brain"] = torch.zeros_like(d["brain"])
    with pytest.raises(ValueError, match="no brain voxel"):
        BrainBoxd()(d)


def test_the_input_brain_is_mapped_back_when_skull_stripping_found_it() -> None:
    d = BrainBoxd(patch_size=(8, 8, 4))(_working())
    kept = InputGridBraind()(d)
    assert kept[BRAIN_INPUT] is d[BRAIN_INPUT]  # the pre-masked scan keeps its own
    del d[BRAIN_INPUT]
    mapped = InputGridBraind()(d)[BRAIN_INPUT]
    assert mapped.shape == head_phantom("brain-zero")[0].shape
    assert np.mean(mapped == head_phantom("brain-zero")[1]) > 0.95


def test_candidates_are_recorded_for_the_inferer() -> None:
    volume, _ = head_phantom("brain-zero")
    d = BrainBoxd(patch_size=(8, 8, 4))(_working())
    d = StageCandidatesd()(d)
    voxels = d["image"].meta[CANDIDATE_VOXELS]
    assert voxels.shape == (len(d[CANDIDATES]), 3)
    assert voxels.tolist() == [list(c.voxel) for c in d[CANDIDATES]]
