import io
import random

import numpy as np
import pytest
import torch
from monai.transforms import Compose, RandGaussianNoise, RandGaussianNoised

from cmb_kd.handlers import PrepareLowResolutionBatch, RandomStates
from cmb_kd.transforms import patch_augmentation


def draws(chain, prepare):
    """One draw of every source of randomness a training step uses."""
    patch = chain({"image": torch.rand(1, 8, 8, 4), "label": torch.zeros(1, 8, 8, 4)})
    lr, _ = prepare({"image": torch.ones(1, 1, 8, 8, 4), "label": torch.zeros(1, 1, 8, 8, 4)})
    global_numpy = torch.from_numpy(np.random.rand(3))  # noqa: NPY002 (the global generator is what is restored)
    return [patch["image"], lr, torch.rand(3), global_numpy, torch.tensor(random.random())]


def roundtrip(state):
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def test_restored_states_replay_every_draw():
    chain = patch_augmentation(["image", "label"], "image", noise_prob=1.0).set_random_state(3)
    prepare = PrepareLowResolutionBatch(2, lr_transform=RandGaussianNoise(prob=1.0, std=0.1))
    states = RandomStates([chain, prepare])
    assert [name for name, _ in states.generators()][:2] == ["Compose", "RandFlipd"]
    assert "RandGaussianNoise" in [name for name, _ in states.generators()]
    draws(chain, prepare)
    saved = roundtrip(states.state_dict())  # what a checkpoint holds, loaded as CheckpointLoader does
    first = draws(chain, prepare)
    second = draws(chain, prepare)
    assert not all(torch.equal(a, b) for a, b in zip(first, second))
    states.load_state_dict(saved)
    for a, b in zip(first, draws(chain, prepare)):
        assert torch.equal(a, b)


def test_generators_are_found_when_asked_and_shared_ones_stay_shared():
    chain = Compose([RandGaussianNoised("image", prob=1.0)])
    states = RandomStates(chain)
    chain.set_random_state(5)  # as MONAI's DataLoader reseeds the dataset's transforms after they are built
    assert any(generator is chain.transforms[0].R for _, generator in states.generators())
    shared = np.random.RandomState(0)
    first, second = RandGaussianNoise(prob=1.0), RandGaussianNoise(prob=1.0)
    first.set_random_state(state=shared)
    second.set_random_state(state=shared)
    states = RandomStates([first, second])
    assert len(states.generators()) == 1
    saved = states.state_dict()
    expected = [first(torch.zeros(4)), second(torch.zeros(4))]
    states.load_state_dict(saved)
    assert first.R is second.R is shared
    for a, b in zip(expected, [first(torch.zeros(4)), second(torch.zeros(4))]):
        assert torch.equal(a, b)


def test_a_state_of_other_transforms_is_refused():
    saved = RandomStates([RandGaussianNoise(prob=1.0).set_random_state(1)]).state_dict()
    with pytest.raises(ValueError, match=r"holds 1 transform random states \['RandGaussianNoise'\]; expected the 0"):
        RandomStates([]).load_state_dict(saved)
    with pytest.raises(KeyError, match=r"lacks \['numpy'\]"):
        RandomStates([]).load_state_dict({k: v for k, v in saved.items() if k != "numpy"})
