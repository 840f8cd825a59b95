"""Tests of cmb_kd.checks: one tolerance for an affine, one message style, values returned in the working form."""

import numpy as np
import pytest
import torch

from cmb_kd.checks import (
    MIN_VOXEL_VOLUME_MM3,
    as_affine,
    as_factor_triple,
    as_option,
    as_probability,
    as_range,
    as_spacing,
    as_triple,
    check_finite,
    check_ndim,
    check_not_all_zero,
    output_keys_for,
    require_keys,
    spacing_of,
)


def test_an_affine_is_finite_4x4_and_invertible_by_one_tolerance():
    affine = np.diag([0.5, 0.5, 3.0, 1.0])
    checked = as_affine(torch.as_tensor(affine, dtype=torch.float32))
    assert checked.dtype == np.float64 and np.array_equal(checked, affine) and spacing_of(checked) == (0.5, 0.5, 3.0)
    tiny = np.diag([1e-4, 1e-4, 0.09, 1.0])  # |det| = 9e-10, below the tolerance
    assert abs(np.linalg.det(tiny[:3, :3])) < MIN_VOXEL_VOLUME_MM3
    for bad, got in ((np.eye(3), "got shape (3, 3)"), (np.full((4, 4), np.nan), "non-finite"), (tiny, "|det| = 9e-10")):
        with pytest.raises(ValueError, match=r"affine: expected a finite, invertible 4x4 voxel-to-world matrix, got"):
            as_affine(bad)
        with pytest.raises(ValueError) as info:
            as_affine(bad, "grid")
        assert str(info.value).startswith("grid: expected") and got in str(info.value)


def test_ranges_probabilities_spacings_and_options_name_the_argument():
    assert as_range("snr", [10, 60], 1.0, 100.0) == (10.0, 60.0)
    assert as_probability("p", 1) == 1.0 and as_spacing([0.5, 0.5, 3]) == (0.5, 0.5, 3.0)
    assert as_option("mode", "plkd", ("plkd", "no_kd")) == "plkd"
    for call, message in (
        (
            lambda: as_range("snr", (60, 10), 1.0, 100.0),
            r"snr: expected \(min, max\) with 1.0 <= min <= max <= 100.0, got \(60, 10\)",
        ),
        (lambda: as_probability("p", True), r"p: expected a probability in \[0, 1\], got True"),
        (lambda: as_spacing((1, 1)), r"spacing: expected three positive voxel sizes"),
        (lambda: as_range("snr", ("10", 60), 1.0, 100.0), r"snr: expected \(min, max\)"),
        (lambda: as_range("snr", 10, 1.0, 100.0), r"snr: expected \(min, max\)"),
        (lambda: as_probability("p", "0.5"), r"p: expected a probability"),
        (lambda: as_option("mode", "plk", ("plkd", "no_kd")), "mode: .*plkd"),
    ):
        with pytest.raises(ValueError, match=message):
            call()


@pytest.mark.parametrize(
    "factor, expected",
    [(4, (1, 1, 4)), (np.int64(2), (1, 1, 2)), ([2, 2, 1], (2, 2, 1)), ((1, 1, 1), (1, 1, 1))],
)
def test_a_factor_is_an_int_for_the_slice_axis_or_three_ints(factor, expected):
    triple = as_factor_triple(factor)
    assert triple == expected and all(type(v) is int for v in triple)


@pytest.mark.parametrize(
    "factor, message",
    [
        (2.0, r"factor: expected an integer or three integers \(one per spatial axis\), got 2.0"),
        ([1, 1, 2.5], r"got \[1, 1, 2.5\]"),
        ([2, 2], r"got \[2, 2\]"),
        (True, "got True"),
        (0, r"factor: expected integers >= 1, got 0"),
        ((1, -1, 1), r"expected integers >= 1, got \(1, -1, 1\)"),
    ],
)
def test_a_bad_factor_is_refused_by_name(factor, message):
    with pytest.raises(ValueError, match=message):
        as_factor_triple(factor)


def test_triples_and_output_keys():
    assert as_triple(3, "size", "sizes") == (3, 3, 3) and as_triple([1, 2, 3], "size", "sizes") == (1, 2, 3)
    with pytest.raises(ValueError, match=r"size: expected one or three sizes, got \[1, 2\]"):
        as_triple([1, 2], "size", "sizes")
    assert output_keys_for(("a", "b"), None) == ("a", "b") and output_keys_for(("a",), "c") == ("c",)
    with pytest.raises(ValueError, match=r"output_keys: expected 2 key\(s\) to match keys \('a', 'b'\), got \('c',\)"):
        output_keys_for(("a", "b"), "c")


def test_tensor_checks_name_the_array_and_count_what_is_wrong():
    check_ndim(np.zeros((1, 2, 2, 2)), (4, 5), "img", "channel-first")
    message = r"img: expected a channel-first array \(4 or 5 dimensions\), got shape \(2, 2\)"
    with pytest.raises(ValueError, match=message):
        check_ndim(torch.zeros(2, 2), (4, 5), "img", "channel-first")
    values = torch.zeros(1, 4, 4, 4)
    values[0, 1, 2, 3] = float("nan")
    values[0, 0, 0, 0] = float("inf")
    with pytest.raises(ValueError, match=r"img: expected finite values, got 2 NaN/Inf voxel\(s\)"):
        check_finite(values, "img")
    check_finite(torch.zeros(2, dtype=torch.int64), "labels")  # integers are finite by construction
    with pytest.raises(ValueError, match="img: expected an image with signal, got an all-zero array of shape"):
        check_not_all_zero(torch.zeros(1, 2, 2, 2), "img")
    check_not_all_zero(torch.tensor([0.0, 1e-12]), "img")


def test_require_keys_lists_what_the_data_holds():
    require_keys({"image": 1}, ["image"])
    require_keys({}, ["image"], allow_missing=True)
    message = r"key 'label' is missing from the data; expected keys \['image', 'label'\], got \['image'\]"
    with pytest.raises(ValueError, match=message):
        require_keys({"image": 1}, ["image", "label"])
