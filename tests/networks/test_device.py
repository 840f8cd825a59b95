"""Tests of as_device: CPU and CUDA devices accepted, anything else refused with the value named."""

import pytest
import torch

from cmb_kd.networks import as_device


@pytest.mark.parametrize("device", ["cpu", torch.device("cpu")])
def test_cpu_is_accepted_as_a_torch_device(device) -> None:
    resolved = as_device(device)
    assert isinstance(resolved, torch.device) and resolved.type == "cpu"


@pytest.mark.parametrize("device", ["tpu", "meta", 3.5, None, "cpu:x"])
def test_other_devices_are_refused(device) -> None:
    with pytest.raises(ValueError, match=r"device: expected 'cpu', 'cuda' or 'cuda:N', got"):
        as_device(device)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_gpu_is_refused() -> None:
    with pytest.raises(ValueError, match=r"device: 'cuda:0' requested but no CUDA device is available"):
        as_device("cuda:0")
