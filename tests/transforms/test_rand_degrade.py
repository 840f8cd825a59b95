import pytest
import torch

from cmb_kd.transforms import DegradeResolution, RandDegradeResolution, RandDegradeResolutiond


def test_draws_from_set_and_replays():
    t = RandDegradeResolution(factors=(2, 4, 8)).set_random_state(seed=0)
    x = torch.randn(1, 8, 8, 16)
    seen = set()
    for _ in range(30):
        out = t(x)
        seen.add(t.factor)
        assert torch.equal(t(x, randomize=False), out)
        assert torch.allclose(out, DegradeResolution(t.factor)(x))
    assert seen == {(1, 1, 2), (1, 1, 4), (1, 1, 8)}


def test_set_random_state_reproduces_sequence():
    a = RandDegradeResolution((2, 4, 8)).set_random_state(seed=5)
    b = RandDegradeResolution((2, 4, 8)).set_random_state(seed=5)
    x = torch.randn(1, 4, 4, 16)
    for _ in range(5):
        a(x)
        b(x)
        assert a.factor == b.factor


@pytest.mark.parametrize("weights, expected", [((0, 1, 0), (1, 1, 4)), ((1, 0, 0), (1, 1, 2))])
def test_weights_select_factor(weights, expected):
    t = RandDegradeResolution((2, 4, 8), weights=weights)
    t(torch.randn(1, 4, 4, 16))
    assert t.factor == expected


def test_prob_zero_returns_input():
    x = torch.randn(1, 4, 4, 16)
    assert RandDegradeResolution(prob=0.0)(x) is x


def test_dict_draws_once_per_sample_for_every_key_and_curriculum_setter():
    t = RandDegradeResolutiond(["a", "b"], factors=(2, 4, 8), output_keys=["a_lr", "b_lr"]).set_random_state(1)
    x = torch.randn(1, 6, 6, 16)
    for _ in range(10):
        d = t({"a": x, "b": x.clone()})
        assert torch.equal(d["a_lr"], d["b_lr"])
        assert d["a_lr"].shape == x.shape
    t.set_factors([8])
    t({"a": x, "b": x})
    assert t.factor == (1, 1, 8)


def test_dict_replay():
    t = RandDegradeResolutiond("image", factors=(2, 4, 8)).set_random_state(3)
    x = {"image": torch.randn(1, 4, 4, 16)}
    first = t(x)["image"]
    assert torch.equal(t(x, randomize=False)["image"], first)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"factors": ()}, r"factors: expected a non-empty sequence of factors, got \(\)"),
        ({"factors": (2, 0)}, r"factors: expected integers >= 1, got 0"),
        ({"factors": (2, 4), "weights": (1,)}, r"weights: expected 2 non-negative values"),
        ({"factors": (2, 4), "weights": (1, -1)}, r"weights: expected 2 non-negative values"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RandDegradeResolution(**kwargs)


def test_replay_without_draw_raises():
    with pytest.raises(ValueError, match="randomize=False: expected a previous draw"):
        RandDegradeResolution()(torch.zeros(1, 2, 2, 8), randomize=False)


def test_missing_key_raises():
    with pytest.raises(ValueError, match="key 'image' is missing"):
        RandDegradeResolutiond("image")({"img": torch.zeros(1, 2, 2, 8)})
