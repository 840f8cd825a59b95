from __future__ import annotations

import pytest
import torch

from cmb_kd.networks import check_network_input

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.:DeprecationWarning")


@pytest.mark.parametrize(
    "shape, spatial_dims, in_channels, divisors",
    [((2, 1, 8, 8, 4), 3, 1, [8, 8, 4]), ((1, 2, 6, 6), 2, 2, []), ((1, 1, 5, 7, 3), 3, 1, [])],
)
def test_valid_inputs_pass(shape, spatial_dims: int, in_channels: int, divisors: list[int]) -> None:
    check_network_input(torch.zeros(shape), spatial_dims, in_channels, divisors, "Net")


@pytest.mark.parametrize(
    "shape, spatial_dims, in_channels, divisors, match",
    [
        ((2, 1, 8, 8), 3, 1, [], r"Net expects an input of rank 5 .* got shape \[2, 1, 8, 8\]"),
        ((2, 3, 8, 8, 8), 3, 1, [], r"Net expects 1 input channel\(s\) on axis 1, got 3"),
        ((2, 1, 8, 8, 6), 3, 1, [8, 8, 4], r"divisible by \[8, 8, 4\] .* got spatial shape \[8, 8, 6\]"),
    ],
)
def test_invalid_inputs_raise(shape, spatial_dims: int, in_channels: int, divisors: list[int], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        check_network_input(torch.zeros(shape), spatial_dims, in_channels, divisors, "Net")
    scripted = torch.jit.script(check_network_input)
    with pytest.raises(torch.jit.Error, match=match):
        scripted(torch.zeros(shape), spatial_dims, in_channels, divisors, "Net")
