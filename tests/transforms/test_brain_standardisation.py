"""Tests of BrainStandardisation(d): statistics from brain voxels only, applied to the whole volume."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.data import MetaTensor

from cmb_kd.transforms import BrainStandardisation, BrainStandardisationd


def _scan() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    image = rng.normal(500.0, 20.0, size=(20, 20, 10)).astype(np.float32)
    brain = np.zeros(image.shape, dtype=bool)
    brain[4:16, 4:16, 2:8] = True
    image[~brain] = 3000.0  # bright scalp must not move the statistics
    image[10, 10, 5] = 0.0  # a dark CMB must not either (robust)
    return image, brain


@pytest.mark.parametrize("method", ["robust", "zscore"])
def test_brain_is_centred_and_scaled(method: str) -> None:
    image, brain = _scan()
    out = BrainStandardisation(method)(image, brain)
    assert out.dtype == np.float32 and out.shape == image.shape
    values = out[brain]
    centre = np.median(values) if method == "robust" else values.mean()
    assert abs(centre) < 1e-3
    assert 0.5 < values.std() < (1.5 if method == "robust" else 1.0001)
    assert out[0, 0, 0] > 50  # outside voxels kept, on the same scale


def test_flat_brain_falls_back_to_unit_scale() -> None:
    image = np.full((6, 6, 6), 7.0, dtype=np.float32)
    out = BrainStandardisation()(image, np.ones(image.shape, dtype=bool))
    assert np.allclose(out, 0.0)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="median"):
        BrainStandardisation("median")
    with pytest.raises(ValueError, match="eps"):
        BrainStandardisation(eps=0)
    image, brain = _scan()
    with pytest.raises(ValueError, match="empty mask"):
        BrainStandardisation()(image, np.zeros_like(brain))
    with pytest.raises(ValueError, match="shape"):
        BrainStandardisation()(image, brain[:5])


def test_the_shipped_detector_standardises_with_this_class() -> None:
    from cmb_kd.inference import CMBDetector, find_transform

    standardise = find_transform(CMBDetector.from_bundle().preprocessing, BrainStandardisationd)
    assert type(standardise.standardise) is BrainStandardisation and standardise.standardise.method == "robust"


def test_dictionary_wrapper_matches_the_array_transform_and_keeps_meta() -> None:
    image, brain = _scan()
    affine = torch.diag(torch.tensor([0.5, 0.5, 3.0, 1.0], dtype=torch.float64))
    data = {
        "image": MetaTensor(torch.from_numpy(image)[None], affine=affine),
        "image_hr": np.stack([image, 2 * image]),
        "brainmask": torch.from_numpy(brain)[None].to(torch.uint8),
    }
    out = BrainStandardisationd(["image", "image_hr"], brain_key="brainmask")(data)
    expected = BrainStandardisation()(image, brain)
    assert isinstance(out["image"], MetaTensor) and torch.equal(out["image"].affine, affine)
    np.testing.assert_allclose(out["image"][0].numpy(), expected, atol=1e-6)
    assert isinstance(out["image_hr"], np.ndarray) and out["image_hr"].dtype == np.float32
    np.testing.assert_allclose(out["image_hr"][1], expected, atol=1e-5)  # scale-free: 2x gives the same result
    assert out["brainmask"] is data["brainmask"]


def test_dictionary_wrapper_bad_input() -> None:
    image, brain = _scan()
    with pytest.raises(ValueError, match="brainmask"):
        BrainStandardisationd("image")({"image": image[None]})
    with pytest.raises(ValueError, match="'image'.*grid of 'brainmask'"):
        BrainStandardisationd("image")({"image": image[None, :5], "brainmask": brain[None]})


def test_zero_key_records_where_a_raw_zero_lands() -> None:
    image, brain = _scan()
    image[0, 0, 0] = 0.0  # a raw zero outside the brain
    data = {"image": image[None], "brainmask": brain[None].astype(np.uint8)}
    out = BrainStandardisationd("image", brain_key="brainmask", zero_key="zero_level")(data)
    values = image[brain].astype(np.float64)
    centre = np.median(values)
    scale = 1.4826 * np.median(np.abs(values - centre))
    assert out["zero_level"] == pytest.approx(-centre / scale, rel=1e-6)
    assert out["image"][0, 0, 0, 0] == pytest.approx(out["zero_level"], rel=1e-5)
    assert "zero_level" not in BrainStandardisationd("image", brain_key="brainmask")(data)
