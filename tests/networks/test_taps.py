from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from cmb_kd.networks import E2UNet, FeatureTaps


class _Toy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv3d(1, 2, 3, padding=1), nn.ReLU())
        self.head = nn.Conv3d(2, 1, 1)

    @property
    def feature_taps(self) -> dict[str, str]:
        return {"hidden": "body.0", "decision": "head"}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def _x() -> torch.Tensor:
    return torch.rand(2, 1, 4, 4, 2)


@pytest.mark.parametrize(
    "taps, names",
    [
        (None, ["hidden", "decision"]),
        (["decision"], ["decision"]),
        ("hidden", ["hidden"]),
        ({"relu": "body.1"}, ["relu"]),
    ],
)
def test_records_selected_taps(taps, names: list[str]) -> None:
    net = _Toy()
    with FeatureTaps(net, taps) as recorder:
        out = net(_x())
        feats = recorder.collect()
    assert list(feats) == names
    if "decision" in feats:
        assert torch.equal(feats["decision"], out)


def test_features_keep_graph_unless_detached() -> None:
    net = _Toy()
    with FeatureTaps(net) as live, FeatureTaps(net, detach=True) as frozen:
        net(_x())
        assert live["hidden"].requires_grad
        assert not frozen["hidden"].requires_grad


def test_hooks_removed_on_exit_and_idempotent_attach() -> None:
    net = _Toy()
    taps = FeatureTaps(net)
    taps.attach()
    taps.attach()
    assert len(net.head._forward_hooks) == 1
    with taps:
        pass
    assert not taps.attached and not net.head._forward_hooks and not net.body[0]._forward_hooks
    net(_x())
    assert taps.features == {}


def test_collect_clears_and_reports_missing() -> None:
    net = _Toy()
    with FeatureTaps(net) as taps:
        net(_x())
        taps.collect()
        assert taps.features == {}
        with pytest.raises(RuntimeError, match="recorded nothing"):
            taps.collect()
        with pytest.raises(KeyError, match="no recorded feature"):
            taps["hidden"]


def test_each_forward_overwrites() -> None:
    net = _Toy()
    with FeatureTaps(net, ["decision"]) as taps:
        net(_x())
        first = taps["decision"]
        out = net(_x())
        assert taps["decision"] is not first and torch.equal(taps["decision"], out)


def test_unwraps_data_parallel() -> None:
    net = _Toy()
    with FeatureTaps(nn.DataParallel(net), ["decision"]) as taps:
        net(_x())
        assert taps["decision"].shape == (2, 1, 4, 4, 2)


def test_network_declared_taps() -> None:
    net = E2UNet(3, 1, 1, channels=(2, 2, 2))
    taps = FeatureTaps(net, ["geometric", "semantic"])
    assert taps.paths == {"geometric": "encoder.1", "semantic": "encoder.2"}
    assert taps.modules["semantic"] is net.encoder[2]


@pytest.mark.parametrize(
    "network, taps, error, match",
    [
        (_Toy(), ["nope"], ValueError, r"\['nope'\] are not declared by _Toy; valid taps: \['decision', 'hidden'\]"),
        (_Toy(), {"x": "body.7"}, ValueError, "tap 'x': module path 'body.7' does not exist in _Toy"),
        (_Toy(), [], ValueError, "at least one tap"),
        (nn.Conv3d(1, 1, 1), None, TypeError, "declares no feature_taps"),
        ("net", None, TypeError, "network: expected a torch.nn.Module"),
    ],
)
def test_bad_taps_raise(network, taps, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        FeatureTaps(network, taps)
