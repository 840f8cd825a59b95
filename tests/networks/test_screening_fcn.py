from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from cmb_kd.networks import FeatureTaps, ScreeningFCN

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.:DeprecationWarning")

TINY = {"channels": (2, 2, 4, 4, 4)}


def _tiny(spatial_dims: int = 3, **kwargs) -> ScreeningFCN:
    return ScreeningFCN(spatial_dims, 1, 1, **{**TINY, **kwargs})


@pytest.mark.parametrize(
    "spatial_dims, shape",
    [
        (3, (2, 1, 20, 20, 16)),  # the training patch
        (3, (1, 1, 23, 17, 9)),  # odd, anisotropic: any size works
        (3, (1, 1, 5, 40, 3)),
        (2, (2, 1, 19, 13)),
    ],
)
def test_output_keeps_input_size(spatial_dims: int, shape: tuple[int, ...]) -> None:
    out = _tiny(spatial_dims)(torch.rand(shape))
    assert out.shape == (shape[0], 1, *shape[2:])


def test_six_conv_modules_one_pooling_layer() -> None:
    net = ScreeningFCN(3, 1, 1)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv3d)]
    pools = [m for m in net.modules() if isinstance(m, nn.MaxPool3d)]
    assert len(convs) == 6 and len(pools) == 1
    assert pools[0].stride == 1  # stride-1 pooling keeps the size


def test_gradients_reach_every_parameter(all_parameters_get_gradients) -> None:
    net = _tiny()
    all_parameters_get_gradients(net, net(torch.rand(2, 1, 10, 10, 8)).square().mean())


def test_taps_documented_shapes() -> None:
    net = _tiny()
    assert net.feature_taps == {"features": "conv5", "decision": "conv6"}
    with FeatureTaps(net) as taps:
        net(torch.rand(2, 1, 12, 10, 6))
        feats = taps.collect()
    assert feats["features"].shape == (2, 4, 12, 10, 6)
    assert feats["decision"].shape == (2, 1, 12, 10, 6)


@pytest.mark.parametrize("spatial_dims, shape", [(3, (1, 1, 11, 9, 7)), (2, (2, 1, 9, 13))])
def test_scripted_equals_eager(spatial_dims: int, shape: tuple[int, ...], scripted_equals_eager) -> None:
    scripted_equals_eager(_tiny(spatial_dims), torch.rand(shape))


def test_verify_net_in_out(verify_in_out) -> None:
    network_def = {
        "_target_": "cmb_kd.networks.ScreeningFCN",
        "spatial_dims": 3,
        "in_channels": 1,
        "out_channels": 1,
        "channels": [2, 2, 4, 4, 4],
    }
    verify_in_out(network_def, 1, [20, 20, 16], 1)


def test_seeded_init(seeded_init_is_deterministic) -> None:
    seeded_init_is_deterministic(_tiny)


@pytest.mark.parametrize("shape, match", [((1, 1, 8, 8), "rank 5"), ((1, 2, 8, 8, 8), "1 input channel")])
def test_bad_input_raises(shape: tuple[int, ...], match: str, bad_input_raises) -> None:
    bad_input_raises(_tiny(), shape, match)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"spatial_dims": 1}, "spatial_dims: expected 2 or 3"),
        ({"channels": (4, 4)}, "5 positive integers"),
        ({"dilation": 0}, "dilation"),
        ({"in_channels": 0}, "in_channels"),
    ],
)
def test_bad_arguments_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ScreeningFCN(**{"spatial_dims": 3, "in_channels": 1, "out_channels": 1, **TINY, **kwargs})
