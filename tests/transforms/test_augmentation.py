import numpy as np
import pytest
import torch
from monai.data import MetaTensor
from monai.transforms import Compose

from cmb_kd.transforms import RandCandidateCropd, RandDegradeResolutiond, patch_augmentation


def _training_chain(seed: int) -> Compose:
    chain = Compose(
        [
            RandCandidateCropd(["image", "label"], "label", spatial_size=(48, 48, 24), num_samples=4),
            RandDegradeResolutiond("image", factors=(2, 4, 8), output_keys="image_lr"),
            patch_augmentation(["image", "image_lr", "label"], noise_keys="image_lr"),
        ]
    )
    return chain.set_random_state(seed)


def _subject() -> dict:
    g = torch.Generator().manual_seed(0)
    label = torch.zeros(1, 64, 72, 48, dtype=torch.uint8)
    label[0, 30:33, 30:33, 20:22] = 1
    affine = torch.eye(4, dtype=torch.float64)
    return {"image": MetaTensor(torch.rand(1, 64, 72, 48, generator=g), affine=affine), "label": label}


def test_composed_training_chain_keeps_pairs_aligned_and_replays():
    out = _training_chain(0)(_subject())
    again = _training_chain(0)(_subject())
    assert isinstance(out, list) and len(out) == 4
    for sample, replay in zip(out, again):
        assert sample["image"].shape == sample["image_lr"].shape == sample["label"].shape == (1, 48, 48, 24)
        assert torch.equal(sample["image_lr"], replay["image_lr"]) and torch.equal(sample["label"], replay["label"])
        assert sample["label"].dtype == torch.uint8
        # the LR input is the degraded HR patch (plus the shared noise draw), so they stay spatially aligned
        corr = np.corrcoef(sample["image"].flatten().numpy(), sample["image_lr"].flatten().numpy())[0, 1]
        assert corr > 0.3


def test_noise_probability_and_axis_swap_members():
    aug = patch_augmentation(["image"], flip_prob=0.0, swap_prob=0.0, noise_prob=0.2, noise_std=1.0)
    aug.set_random_state(1)
    x = {"image": torch.zeros(1, 8, 8, 4)}
    noisy = sum(bool(aug(x)["image"].abs().sum() > 0) for _ in range(400))
    assert 50 <= noisy <= 110  # 0.2 of 400 = 80
    swap = patch_augmentation(["image"], flip_prob=0.0, swap_prob=1.0, noise_prob=0.0).set_random_state(0)
    y = torch.arange(8 * 6 * 4, dtype=torch.float32).reshape(1, 8, 6, 4)
    shapes = {tuple(swap({"image": y})["image"].shape) for _ in range(10)}
    assert (1, 6, 8, 4) in shapes  # in-plane axes swapped, slice axis last


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"noise_prob": 1.5}, r"noise_prob: expected a probability in \[0, 1\], got 1.5"),
        ({"noise_std": -1.0}, r"noise_std: expected a standard deviation >= 0, got -1.0"),
        ({"flip_axes": (3,)}, r"flip_axes: expected spatial axes among 0, 1, 2, got \(3,\)"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        patch_augmentation(["image"], **kwargs)
