"""Tests of PreMaskedBrain on head phantoms of realistic size: stripped brains are recognised, heads are not."""

from __future__ import annotations

import re

import numpy as np
import pytest
from _inference_helpers import PHANTOM_AFFINE, head_phantom

from cmb_kd.inference import PreMaskedBrain


@pytest.mark.parametrize(
    ("kind", "options", "pre_masked", "reason"),
    [
        ("brain-zero", {}, True, r"^83% of the voxels are 0 or NaN, non-zero region 1.05 L, 0% of the voxels 2-12 mm"),
        ("brain-nan", {}, True, r"non-zero region 1.05 L"),
        ("head", {}, False, r"^0% of the voxels are 0 or NaN, fewer than 25%$"),
        (
            "head-zero-air",
            {},
            False,
            r"region 2.01 L, 41% of the voxels .* dark: a skull \(25% or more dark\), so a head$",
        ),
        ("brain-zero", {"max_volume_ml": 1000.0}, False, r"1.05 L, outside a brain's 0.25-1 L$"),
        ("brain-zero", {"min_volume_ml": 1100.0}, False, r"1.05 L, outside a brain's 1.1-2.8 L$"),
        ("brain-zero", {"min_background_share": 0.9}, False, r"^83% of the voxels are 0 or NaN, fewer than 90%$"),
    ],
)
def test_stripped_brains_are_recognised_and_heads_are_not(kind, options, pre_masked, reason) -> None:
    image, brain = head_phantom(kind)
    before = image.copy()
    mask, why = PreMaskedBrain(**options)(image, PHANTOM_AFFINE)
    assert (mask is not None) is pre_masked
    assert re.search(reason, why), why
    if pre_masked:
        # the finite non-zero region, its zero-valued CMB core filled in: the brain itself
        assert mask.dtype == np.bool_ and np.array_equal(mask, brain) and mask[22, 26, 14]
    np.testing.assert_array_equal(image, before)  # the scan is only read


def test_a_head_cut_to_a_brains_volume_is_told_by_its_skull() -> None:
    image, _ = head_phantom("head-zero-air", brain_axes_mm=(70.0, 86.0, 60.0))
    mask, why = PreMaskedBrain()(image, PHANTOM_AFFINE)
    assert mask is None and "2.69 L" in why and "a skull" in why  # within the volume bounds: the skull decides


def test_a_region_too_small_for_a_brain_is_not_trusted() -> None:
    image, _ = head_phantom("brain-zero", brain_axes_mm=(30.0, 40.0, 30.0))
    mask, why = PreMaskedBrain()(image, PHANTOM_AFFINE)
    assert mask is None and why.endswith("non-zero region 0.15 L, outside a brain's 0.25-2.8 L")


def test_holes_are_filled_in_3d_and_slice_wise() -> None:
    image, brain = head_phantom("brain-nan")
    image[20:24, 24:28, 10:20] = np.nan  # a NaN hole inside the brain
    image[20:24, 24:28, 14:] = np.nan  # ... opened up to the top of the brain: filled slice by slice
    mask, _ = PreMaskedBrain()(image, PHANTOM_AFFINE)
    assert mask is not None and np.array_equal(mask, brain)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"min_background_share": 0.0}, r"min_background_share: expected a share in \(0, 1\], got 0.0"),
        ({"dark_ratio": 1.5}, r"dark_ratio: expected a share in \(0, 1\]"),
        ({"max_dark_share": True}, "max_dark_share: expected a share"),
        ({"min_volume_ml": -1.0}, "min_volume_ml: expected a positive finite number, got -1.0"),
        ({"min_volume_ml": 3000.0}, "min_volume_ml, max_volume_ml: expected min < max"),
        ({"rim_mm": (12.0, 2.0)}, r"rim_mm: expected depths in mm with 0 <= inner < outer, got \(12.0, 2.0\)"),
        ({"rim_mm": 5.0}, r"rim_mm: expected two depths in mm \(inner, outer\), got 5.0"),
    ],
)
def test_bad_options(options, match) -> None:
    with pytest.raises(ValueError, match=match):
        PreMaskedBrain(**options)


def test_bad_arguments() -> None:
    image, _ = head_phantom("brain-zero")
    with pytest.raises(ValueError, match=r"data: expected a real 3D volume \(X, Y, Z\), got shape \(44, 52\)"):
        PreMaskedBrain()(image[..., 0], PHANTOM_AFFINE)
    with pytest.raises(ValueError, match="affine: expected a finite, invertible 4x4"):
        PreMaskedBrain()(image, np.eye(3))
