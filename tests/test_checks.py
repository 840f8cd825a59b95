"""Tests of cmb_kd.checks: one tolerance for an affine, one message style, values returned in the working form."""

import numpy as np
import pytest
import torch

from cmb_kd.checks import (
    MIN_VOXEL_VOLUME_MM3,
    as_affine,
    as_option,
    as_probability,
    as_range,
    as_spacing,
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
