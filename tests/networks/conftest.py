"""Shared checks for the network tests (fixtures returning small check functions)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import torch
import torch.nn as nn


def _verify_net_in_out(
    tmp_path: Path,
    network_def: dict,
    in_channels: int,
    spatial_shape: Sequence[int],
    out_channels: int,
) -> None:
    from monai.bundle import verify_net_in_out

    meta = {
        "network_data_format": {
            "inputs": {
                "image": {"num_channels": in_channels, "spatial_shape": list(spatial_shape), "dtype": "float32"}
            },
            "outputs": {"pred": {"num_channels": out_channels, "dtype": "float32"}},
        }
    }
    meta_file, config_file = tmp_path / "metadata.json", tmp_path / "inference.json"
    meta_file.write_text(json.dumps(meta))
    config_file.write_text(json.dumps({"network_def": network_def}))
    verify_net_in_out(net_id="network_def", meta_file=str(meta_file), config_file=str(config_file), device="cpu")


@pytest.fixture
def verify_in_out(tmp_path: Path) -> Callable[..., None]:
    """``verify_in_out(network_def, in_channels, spatial_shape, out_channels)`` runs MONAI's bundle check."""

    def run(network_def: dict, in_channels: int, spatial_shape: Sequence[int], out_channels: int) -> None:
        _verify_net_in_out(tmp_path, network_def, in_channels, spatial_shape, out_channels)

    return run


def _scripted_equals_eager(net: nn.Module, x: torch.Tensor) -> None:
    net = net.eval()
    scripted = torch.jit.script(net)
    buffer = io.BytesIO()
    torch.jit.save(scripted, buffer)
    buffer.seek(0)
    loaded = torch.jit.load(buffer)
    with torch.no_grad():
        expected = net(x)
        torch.testing.assert_close(scripted(x), expected, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(loaded(x), expected, rtol=1e-5, atol=1e-5)


@pytest.fixture
def scripted_equals_eager() -> Callable[[nn.Module, torch.Tensor], None]:
    """Script, save and reload a network; its outputs must equal eager mode's."""
    return _scripted_equals_eager


def _all_parameters_get_gradients(net: nn.Module, loss: torch.Tensor) -> None:
    net.zero_grad(set_to_none=True)
    loss.backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, f"parameters without a finite gradient: {missing}"


@pytest.fixture
def all_parameters_get_gradients() -> Callable[[nn.Module, torch.Tensor], None]:
    """Back-propagate ``loss`` and check that every parameter of ``net`` received a finite gradient."""
    return _all_parameters_get_gradients


def _seeded_init_is_deterministic(factory: Callable[[], nn.Module]) -> None:
    torch.manual_seed(123)
    a = factory().state_dict()
    torch.manual_seed(123)
    b = factory().state_dict()
    torch.manual_seed(321)
    c = factory().state_dict()
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)
    assert any(not torch.equal(a[k], c[k]) for k in a if a[k].is_floating_point())


@pytest.fixture
def seeded_init_is_deterministic() -> Callable[[Callable[[], nn.Module]], None]:
    """Build a network twice after the same seed (identical weights) and once after another (different)."""
    return _seeded_init_is_deterministic


def _bad_input_raises(net: nn.Module, shape: Sequence[int], match: str) -> None:
    """A bad input raises ValueError in eager mode and the same message as a TorchScript error when scripted."""
    net = net.eval()
    with pytest.raises(ValueError, match=match):
        net(torch.rand(shape))
    with pytest.raises(torch.jit.Error, match=match):
        torch.jit.script(net)(torch.rand(shape))


@pytest.fixture
def bad_input_raises() -> Callable[[nn.Module, Sequence[int], str], None]:
    return _bad_input_raises


@pytest.fixture(autouse=True, scope="session")
def _single_thread():
    """Tiny inputs run fastest on one thread, and the test machine's cores are shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
