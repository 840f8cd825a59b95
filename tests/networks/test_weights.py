"""Tests of cmb_kd.networks.weights: clear errors for missing or foreign checkpoints, untrained only on request."""

from __future__ import annotations

import pytest
import torch

from cmb_kd.networks import ScreeningFCN, load_network_weights


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
    with pytest.raises(FileNotFoundError, match=r"models/model\.pt: network weights not found; expected"):
        load_network_weights(_net(0), path)


def test_a_relative_path_names_the_folder_and_bundle_root(tmp_path, monkeypatch) -> None:
    # what a bundle run outside its folder without --bundle_root looks for: ./models/model.pt from the current folder
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=f"not found in {tmp_path} .*pass --bundle_root BUNDLE_FOLDER"):
        load_network_weights(_net(0), "./models/model.pt")


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


def test_weights_that_do_not_fit_give_one_line_with_the_detail_in_the_chain(tmp_path) -> None:
    path = tmp_path / "wide.pt"
    torch.manual_seed(0)
    torch.save(ScreeningFCN(3, 1, 1, channels=(4, 2, 2, 2, 2)).state_dict(), path)  # other channels
    with pytest.raises(ValueError) as info:
        load_network_weights(_net(0), path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: not a checkpoint of this ScreeningFCN (")
    assert (
        "shape mismatch(es) ('conv1.conv.weight' (4, 1, 3, 3, 3) in the file, (2, 1, 3, 3, 3) in the network" in message
    )
    assert "; expected the weights of this ScreeningFCN" in message
    assert "Error(s) in loading state_dict" in str(info.value.__cause__)  # PyTorch's many lines, kept in the chain
    assert "\n" in str(info.value.__cause__)


class _RunsACommand:
    """A pickle that would call ``os.system`` when unpickled without ``weights_only``."""

    def __reduce__(self):
        import os

        return os.system, ("touch pwned",)


def test_weights_that_would_run_code_are_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "model.pt"
    torch.save({"model": _RunsACommand()}, path)
    with pytest.raises(ValueError, match=r"model\.pt: cannot read as a PyTorch checkpoint"):
        load_network_weights(_net(0), path)
    assert not (tmp_path / "pwned").exists()
