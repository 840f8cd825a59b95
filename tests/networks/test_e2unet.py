from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from cmb_kd.networks import E2UNet, FeatureTaps

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.:DeprecationWarning")

TINY = {"channels": (2, 4, 4, 8)}  # 4 levels: sizes divisible by (8, 8, 4) in hybrid / 3d mode, (8, 8, 1) in 2d


def _tiny(**kwargs) -> E2UNet:
    return E2UNet(3, 1, 2, **{**TINY, **kwargs})


@pytest.fixture(scope="module")
def scripted_tiny() -> torch.jit.ScriptModule:
    return torch.jit.script(_tiny().eval())


def _conv_kernels(net: nn.Module) -> dict[str, tuple[int, ...]]:
    return {n: tuple(m.kernel_size) for n, m in net.named_modules() if isinstance(m, (nn.Conv3d, nn.ConvTranspose3d))}


@pytest.mark.parametrize(
    "conv_mode, fcm, shape",
    [
        ("hybrid", True, (2, 1, 16, 16, 8)),
        ("hybrid", False, (1, 1, 24, 16, 12)),
        ("2d", True, (2, 1, 16, 24, 3)),
        ("3d", True, (2, 1, 32, 16, 8)),
    ],
)
def test_output_shape_anisotropic(conv_mode: str, fcm: bool, shape: tuple[int, ...]) -> None:
    net = _tiny(conv_mode=conv_mode, fcm=fcm)
    out = net(torch.rand(shape))
    assert out.shape == (shape[0], 2, *shape[2:])


def test_default_on_paper_patch() -> None:
    net = E2UNet(3, 1, 1).eval()
    assert net.channels == E2UNet.CHANNEL_PRESETS["compact"]
    assert net.divisors == [16, 16, 8]
    with torch.no_grad():
        assert net(torch.rand(1, 1, 48, 48, 24)).shape == (1, 1, 48, 48, 24)


def test_unet_preset_width() -> None:
    assert E2UNet(3, 1, 1, channels="unet").channels == (32, 64, 128, 256, 512)


@pytest.mark.parametrize("fcm", [True, False])
def test_gradients_reach_every_parameter(fcm: bool, all_parameters_get_gradients) -> None:
    net = _tiny(fcm=fcm)
    all_parameters_get_gradients(net, net(torch.rand(2, 1, 16, 16, 8)).square().mean())


@pytest.mark.parametrize(
    "conv_mode, semantic",
    [("hybrid", (2, 8, 2, 2, 2)), ("3d", (2, 8, 2, 2, 2)), ("2d", (2, 8, 2, 2, 8))],
)
def test_taps_documented_shapes(conv_mode: str, semantic: tuple[int, ...]) -> None:
    net = _tiny(conv_mode=conv_mode)
    assert net.feature_taps == {"geometric": "encoder.1", "semantic": "encoder.3", "decision": "head"}
    with FeatureTaps(net) as taps:
        net(torch.rand(2, 1, 16, 16, 8))
        feats = taps.collect()
    assert feats["geometric"].shape == (2, 4, 8, 8, 8)  # after one in-plane pooling
    assert feats["semantic"].shape == semantic
    assert feats["decision"].shape == (2, 2, 16, 16, 8)


def test_paper_patch_tap_shapes() -> None:
    net = E2UNet(3, 1, 1, channels=(2, 3, 4, 5, 6))
    with FeatureTaps(net, ["geometric", "semantic"]) as taps:
        net(torch.rand(1, 1, 48, 48, 24))
        feats = taps.collect()
    assert feats["geometric"].shape == (1, 3, 24, 24, 24)
    assert feats["semantic"].shape == (1, 6, 3, 3, 3)


def test_all_2d_has_no_kernel_across_slices() -> None:
    net = _tiny(conv_mode="2d")
    kernels = _conv_kernels(net)
    assert kernels and all(k[-1] == 1 for k in kernels.values())
    pools = [m for m in net.modules() if isinstance(m, nn.MaxPool3d)]
    assert pools and all(tuple(p.kernel_size)[-1] == 1 for p in pools)


def test_all_3d_has_only_cubic_level_kernels() -> None:
    kernels = _conv_kernels(_tiny(conv_mode="3d"))
    level_convs = {n: k for n, k in kernels.items() if ".convs." in n}
    assert level_convs and all(k == (3, 3, 3) for k in level_convs.values())


def test_hybrid_first_two_levels_are_2d() -> None:
    kernels = _conv_kernels(_tiny(conv_mode="hybrid"))
    for name, k in kernels.items():
        if ".convs." not in name:
            continue
        level = int(name.split(".")[1])
        level = level if name.startswith("encoder") else 2 - level  # decoder.0 mirrors encoder level 2
        assert k == ((3, 3, 1) if level < 2 else (3, 3, 3)), name


@pytest.mark.parametrize("conv_mode", ["hybrid", "2d", "3d"])
def test_fcm_switch(conv_mode: str) -> None:
    on, off = _tiny(conv_mode=conv_mode, fcm=True), _tiny(conv_mode=conv_mode, fcm=False)
    names_on = [n for n, _ in on.named_modules() if "fcm" in n.split(".")[-1]]
    assert not [n for n, _ in off.named_modules() if "fcm" in n]
    assert sum(n.endswith("fcm_down") for n in names_on) == 3  # one per adjacent encoder pair
    assert sum(n.endswith("fcm_up") for n in names_on) == 3
    assert sum(p.numel() for p in off.parameters()) < sum(p.numel() for p in on.parameters())


@pytest.mark.parametrize("conv_mode, fcm", [("hybrid", True), ("2d", False)])
def test_scripted_equals_eager(conv_mode: str, fcm: bool, scripted_equals_eager) -> None:
    scripted_equals_eager(_tiny(conv_mode=conv_mode, fcm=fcm), torch.rand(2, 1, 16, 16, 8))


def test_verify_net_in_out(verify_in_out) -> None:
    network_def = {"_target_": "cmb_kd.networks.E2UNet", "spatial_dims": 3, "in_channels": 1, "out_channels": 1}
    verify_in_out(network_def, 1, [48, 48, 24], 1)


def test_seeded_init(seeded_init_is_deterministic) -> None:
    seeded_init_is_deterministic(_tiny)


@pytest.mark.parametrize(
    "shape, match",
    [
        ((2, 1, 16, 16), "rank 5"),
        ((2, 3, 16, 16, 8), "1 input channel"),
        ((2, 1, 16, 16, 6), r"divisible by \[8, 8, 4\]"),
    ],
)
def test_bad_input_raises(shape: tuple[int, ...], match: str, scripted_tiny: torch.jit.ScriptModule) -> None:
    with pytest.raises(ValueError, match=match):
        _tiny()(torch.rand(shape))
    with pytest.raises(torch.jit.Error, match=match):
        scripted_tiny(torch.rand(shape))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"spatial_dims": 2}, "spatial_dims: expected 3"),
        ({"channels": (4, 8)}, "at least 3"),
        ({"channels": "wide"}, "wide"),
        ({"conv_mode": "2.5d"}, "2.5d"),
        ({"num_2d_layers": 4}, "num_2d_layers"),
        ({"out_channels": 0}, "out_channels"),
    ],
)
def test_bad_arguments_raise(kwargs: dict, match: str) -> None:
    args = {"spatial_dims": 3, "in_channels": 1, "out_channels": 1, **TINY, **kwargs}
    with pytest.raises(ValueError, match=match):
        E2UNet(**args)
