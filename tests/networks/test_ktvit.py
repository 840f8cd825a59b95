from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from cmb_kd.networks import FeatureTaps, KTViT

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.:DeprecationWarning")

TINY = {"embed_channels": (2, 4), "hidden_sizes": (8, 8, 16), "num_heads": (2, 2, 4)}


def _tiny(spatial_dims: int = 3, **kwargs) -> KTViT:
    return KTViT(spatial_dims, 1, 2, **{"patch_size": 2, **TINY, **kwargs})


@pytest.mark.parametrize(
    "spatial_dims, patch_size, shape",
    [
        (3, 2, (2, 1, 16, 8, 8)),
        (3, (2, 2, 1), (1, 1, 16, 24, 4)),  # anisotropic tokens for thick-slice patches
        (3, 1, (1, 1, 8, 4, 12)),
        (2, 2, (2, 1, 16, 24)),
    ],
)
def test_output_shape_anisotropic(spatial_dims: int, patch_size, shape: tuple[int, ...]) -> None:
    out = _tiny(spatial_dims, patch_size=patch_size)(torch.rand(shape))
    assert out.shape == (shape[0], 2, *shape[2:])


def test_two_d_variant_uses_2d_layers() -> None:
    net = _tiny(2)
    assert not [m for m in net.modules() if isinstance(m, (nn.Conv3d, nn.MaxPool3d))]
    assert all(m.kernel_size == (3, 3) for n, m in net.named_modules() if isinstance(m, nn.Conv2d) and "joint" in n)


@pytest.mark.parametrize("spatial_dims", [2, 3])
def test_gradients_reach_every_parameter(spatial_dims: int, all_parameters_get_gradients) -> None:
    net = _tiny(spatial_dims)
    x = torch.rand((2, 1) + (8,) * spatial_dims)
    all_parameters_get_gradients(net, net(x).square().mean())


def test_taps_documented_shapes() -> None:
    net = _tiny(patch_size=(2, 2, 1))
    assert set(net.feature_taps) == {"feature1", "feature2", "feature3", "feature4", "decision"}
    with FeatureTaps(net) as taps:
        net(torch.rand(2, 1, 16, 8, 4))
        feats = taps.collect()
    assert feats["feature1"].shape == (2, 4, 16, 8, 4)  # conv embedding, full resolution
    assert feats["feature2"].shape == (2, 8, 8, 4, 4)  # joint conv embedding 1, H/P
    assert feats["feature3"].shape == (2, 16, 4, 2, 2)  # joint conv embedding 2, H/2P
    assert feats["feature4"].shape == (2, 4, 16, 8, 4)  # last light decoder level
    assert feats["decision"].shape == (2, 2, 16, 8, 4)


def _millions(net: nn.Module) -> float:
    return round(sum(p.numel() for p in net.parameters()) / 1e6, 1)


@pytest.mark.parametrize(
    "kwargs, millions",
    [
        ({}, 1.0),  # the default width is the compact one
        ({"width": "compact"}, 1.0),
        ({"width": "paper"}, 16.1),  # the paper reports 25.5 M without giving its widths
        ({"width": "paper", "depths": (2, 2, 2)}, 20.3),
    ],
)
def test_parameter_counts_of_the_named_widths(kwargs: dict, millions: float) -> None:
    """The figures quoted in the docstring and docs/networks.md."""
    assert _millions(KTViT(3, 1, 1, **kwargs)) == millions


def test_named_widths_set_the_three_widths_and_explicit_values_win() -> None:
    paper = KTViT(3, 1, 1, width="paper")
    assert paper.conv_embedding[-1].conv.out_channels == 64 and paper.head.in_channels == 64
    assert [s.norm.normalized_shape[0] for s in paper.stages] == [128, 256, 512]
    mixed = KTViT(3, 1, 1, width="paper", embed_channels=(4, 8))
    assert mixed.conv_embedding[-1].conv.out_channels == 8
    assert [s.norm.normalized_shape[0] for s in mixed.stages] == [128, 256, 512]
    compact = KTViT(3, 1, 1)
    assert [s.layers[0].self_attn.num_heads for s in compact.stages] == [2, 4, 8]


@pytest.mark.parametrize("spatial_dims", [2, 3])
def test_scripted_equals_eager(spatial_dims: int, scripted_equals_eager) -> None:
    scripted_equals_eager(_tiny(spatial_dims), torch.rand((2, 1) + (8,) * spatial_dims))


def test_verify_net_in_out(verify_in_out) -> None:
    network_def = {"_target_": "cmb_kd.networks.KTViT", "spatial_dims": 3, "in_channels": 1, "out_channels": 1}
    network_def.update({**TINY, "embed_channels": [2, 4], "patch_size": [4, 4, 2]})
    verify_in_out(network_def, 1, [48, 48, 24], 1)


def test_seeded_init(seeded_init_is_deterministic) -> None:
    seeded_init_is_deterministic(_tiny)


@pytest.mark.parametrize(
    "shape, match",
    [
        ((1, 1, 8, 8), "rank 5"),
        ((1, 3, 8, 8, 8), "1 input channel"),
        ((1, 1, 8, 8, 12), r"divisible by \[8, 8, 8\]"),
    ],
)
def test_bad_input_raises(shape: tuple[int, ...], match: str, bad_input_raises) -> None:
    bad_input_raises(_tiny(), shape, match)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"spatial_dims": 4}, "spatial_dims: expected 2 or 3"),
        ({"num_heads": (3, 2, 4)}, "must divide"),
        ({"depths": (1, 1)}, "depths: expected 3"),
        ({"patch_size": 0}, "patch_size"),
        ({"mlp_ratio": 0.0}, "mlp_ratio"),
        ({"width": "wide"}, "wide"),
    ],
)
def test_bad_arguments_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        KTViT(**{"spatial_dims": 3, "in_channels": 1, "out_channels": 1, **TINY, **kwargs})
