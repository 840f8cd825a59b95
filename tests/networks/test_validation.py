from __future__ import annotations

import pytest
import torch

from cmb_kd.networks import check_channel_counts, check_network_input, check_spatial_dims, positive_ints

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


def test_constructor_checks_name_the_argument_and_the_network() -> None:
    check_spatial_dims(3, (2, 3), "Net")
    with pytest.raises(ValueError, match=r"spatial_dims: expected 3 \(E2UNet is built for 3D\), got 2"):
        check_spatial_dims(2, (3,), "E2UNet")
    with pytest.raises(ValueError, match=r"spatial_dims: expected 2 or 3 \(Net is built for 2 or 3D\), got 4"):
        check_spatial_dims(4, (2, 3), "Net")
    check_channel_counts(1, 2)
    with pytest.raises(ValueError, match="in_channels and out_channels: expected >= 1, got 0 and 1"):
        check_channel_counts(0, 1)


@pytest.mark.parametrize(
    "values, kwargs, expected",
    [([4, 8.0, 16], {"count": 3}, (4, 8, 16)), ((2,), {}, (2,)), ((1, 2, 3, 4), {"at_least": 3}, (1, 2, 3, 4))],
)
def test_positive_ints_come_back_as_a_tuple_of_ints(values, kwargs, expected) -> None:
    out = positive_ints(values, "channels", **kwargs)
    assert out == expected and all(type(v) is int for v in out)


@pytest.mark.parametrize(
    "values, kwargs, match",
    [
        ((4, 0, 8), {"count": 3, "per": "one per stage"}, r"channels: expected 3 positive integers \(one per stage\)"),
        ((4, 8), {"count": 3}, r"channels: expected 3 positive integers, got \(4, 8\)"),
        ((4, 8), {"at_least": 3}, r"channels: expected at least 3 positive integers, got \(4, 8\)"),
        ((), {}, r"channels: expected at least 1 positive integers, got \(\)"),
    ],
)
def test_positive_ints_refuse_a_wrong_number_or_a_size_below_one(values, kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        positive_ints(values, "channels", **kwargs)
