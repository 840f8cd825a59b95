"""Tests of load_network_weights: clear errors for missing or foreign checkpoints, untrained only on request."""

from __future__ import annotations

import pytest
import torch

from cmb_kd.inference import load_network_weights
from cmb_kd.networks import ScreeningFCN


def _net(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return ScreeningFCN(3, 1, 1, channels=(2, 2, 2, 2, 2))


@pytest.mark.parametrize("wrap", [None, "model", "state_dict"])
def test_round_trip(tmp_path, wrap: str | None) -> None:
    source = _net(0)
    path = tmp_path / "model.pt"
    torch.save(source.state_dict() if wrap is None else {wrap: source.state_dict()}, path)
    target = load_network_weights(_net(1).train(), path)
    assert not target.training
    for a, b in zip(source.state_dict().values(), target.state_dict().values()):
        assert torch.equal(a, b)


def test_missing_file_names_the_path(tmp_path) -> None:
    path = tmp_path / "models" / "model.pt"
    with pytest.raises(FileNotFoundError, match=r"models/model\.pt: network weights not found"):
        load_network_weights(_net(0), path)


def test_missing_file_allowed_untrained_warns(tmp_path) -> None:
    net = _net(0)
    before = [p.clone() for p in net.parameters()]
    with pytest.warns(UserWarning, match="UNTRAINED"):
        out = load_network_weights(net, tmp_path / "model.pt", allow_untrained=True)
    assert out is net and not out.training
    assert all(torch.equal(a, b) for a, b in zip(before, out.parameters()))


def test_foreign_or_corrupt_checkpoint(tmp_path) -> None:
    path = tmp_path / "other.pt"
    torch.save({"weight": torch.zeros(3)}, path)
    with pytest.raises(ValueError, match="not a checkpoint of this ScreeningFCN"):
        load_network_weights(_net(0), path)
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot read as a PyTorch checkpoint"):
        load_network_weights(_net(0), broken)
