from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn

from cmb_kd.networks import CandidateResNet3D, FeatureTaps

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.:DeprecationWarning")

TINY = {"channels": (2, 4, 4), "num_blocks": (1, 1, 1)}


def _tiny(in_channels: int = 2, **kwargs) -> CandidateResNet3D:
    return CandidateResNet3D(3, in_channels, 2, **{**TINY, **kwargs})


@pytest.mark.parametrize(
    "in_channels, shape",
    [(1, (2, 1, 21, 21, 21)), (2, (3, 2, 21, 21, 21)), (2, (1, 2, 15, 15, 7))],  # magnitude; + phase; anisotropic
)
def test_output_shape(in_channels: int, shape: tuple[int, ...]) -> None:
    assert _tiny(in_channels)(torch.rand(shape)).shape == (shape[0], 2)


def test_multitask_head() -> None:
    net = _tiny(segmentation_channels=1)
    logits, seg = net.forward_multitask(torch.rand(2, 2, 21, 21, 21))
    assert logits.shape == (2, 2) and seg.shape == (2, 1, 21, 21, 21)
    with pytest.raises(ValueError, match="no segmentation head"):
        _tiny().forward_multitask(torch.rand(1, 2, 21, 21, 21))


@pytest.mark.parametrize("segmentation_channels", [0, 1])
def test_gradients_reach_every_parameter(segmentation_channels: int, all_parameters_get_gradients) -> None:
    net = _tiny(segmentation_channels=segmentation_channels)
    x = torch.rand(2, 2, 9, 9, 9)
    if segmentation_channels:
        logits, seg = net.forward_multitask(x)
        loss = logits.square().mean() + seg.square().mean()
    else:
        loss = net(x).square().mean()
    all_parameters_get_gradients(net, loss)


def test_he_initialisation() -> None:
    torch.manual_seed(0)
    net = CandidateResNet3D(3, 2, 2)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv3d)]
    for conv in convs:
        fan_in = conv.weight[0].numel()
        assert conv.weight.std().item() == pytest.approx(math.sqrt(2.0 / fan_in), rel=0.25)
        assert conv.bias is None or not conv.bias.any()


def test_taps_documented_shapes() -> None:
    net = _tiny(segmentation_channels=1)
    names = {"stage1", "stage2", "stage3", "features", "decision", "segmentation"}
    assert set(net.feature_taps) == names
    assert "segmentation" not in _tiny().feature_taps
    with FeatureTaps(net) as taps:
        net.forward_multitask(torch.rand(2, 2, 21, 21, 21))
        feats = taps.collect()
    assert feats["stage1"].shape == (2, 2, 21, 21, 21)
    assert feats["stage2"].shape == (2, 4, 11, 11, 11)
    assert feats["stage3"].shape == (2, 4, 6, 6, 6)
    assert feats["features"].shape == (2, 4)
    assert feats["decision"].shape == (2, 2)
    assert feats["segmentation"].shape == (2, 1, 21, 21, 21)


def test_scripted_equals_eager(scripted_equals_eager) -> None:
    net = _tiny(segmentation_channels=1).eval()
    x = torch.rand(2, 2, 21, 21, 21)
    scripted_equals_eager(net, x)
    scripted = torch.jit.script(net)
    with torch.no_grad():
        for a, b in zip(scripted.forward_multitask(x), net.forward_multitask(x)):
            torch.testing.assert_close(a, b)


def test_verify_net_in_out(verify_in_out) -> None:
    network_def = {
        "_target_": "cmb_kd.networks.CandidateResNet3D",
        "spatial_dims": 3,
        "in_channels": 2,
        "out_channels": 2,
        **{k: list(v) for k, v in TINY.items()},
    }
    verify_in_out(network_def, 2, [21, 21, 21], 2)


def test_seeded_init(seeded_init_is_deterministic) -> None:
    seeded_init_is_deterministic(_tiny)


@pytest.mark.parametrize("shape, match", [((1, 2, 21, 21), "rank 5"), ((1, 1, 21, 21, 21), "2 input channel")])
def test_bad_input_raises(shape: tuple[int, ...], match: str, bad_input_raises) -> None:
    bad_input_raises(_tiny(), shape, match)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"spatial_dims": 2}, "spatial_dims: expected 3"),
        ({"in_channels": 3}, "in_channels: expected 1"),
        ({"channels": (4, 4)}, "channels: expected 3"),
        ({"num_blocks": (1, 0, 1)}, "num_blocks"),
        ({"segmentation_channels": -1}, "segmentation_channels"),
    ],
)
def test_bad_arguments_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        CandidateResNet3D(**{"spatial_dims": 3, "in_channels": 2, "out_channels": 2, **TINY, **kwargs})
