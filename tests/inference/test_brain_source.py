"""Tests of the brain source: a given mask wins, a pre-masked scan brings its own, else skull stripping; the mask
on the working grid and back on the input grid."""

import numpy as np
import pytest
import torch
from _inference_helpers import PHANTOM_AFFINE, head_phantom
from monai.data import MetaTensor

from cmb_kd.inference import (
    BRAIN_SOURCES,
    PreMaskedBrain,
    input_brain,
    input_grid_brain,
    to_working_grid,
    working_brain,
)
from cmb_kd.transforms import ResampleToWorkingGrid


class _Strip:
    """Stand-in skull strip: the voxels brighter than 60, recording its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, work: MetaTensor) -> MetaTensor:
        self.calls += 1
        return (work > 60).to(torch.uint8)


def test_a_given_mask_wins_and_is_never_brain_where_the_scan_is_nan() -> None:
    image, brain = head_phantom("brain-nan")
    finite = np.isfinite(image)
    given = np.ones(image.shape, dtype=bool)
    found = input_brain(given, np.nan_to_num(image), PHANTOM_AFFINE, PreMaskedBrain(), finite)
    assert found.source == "given" and found.message == "brain mask given, no skull stripping"
    assert np.array_equal(found.mask, finite)


@pytest.mark.parametrize(
    ("kind", "source", "start"),
    [
        ("brain-zero", "pre-masked", "pre-masked scan: its non-zero region is the brain mask, no skull stripping ("),
        ("head", "skull-strip", "brain mask by skull stripping, not pre-masked: "),
        ("head-zero-air", "skull-strip", "brain mask by skull stripping, not pre-masked: "),
    ],
)
def test_without_a_mask_the_pre_masked_test_decides(kind, source, start) -> None:
    image, brain = head_phantom(kind)
    found = input_brain(None, image, PHANTOM_AFFINE, PreMaskedBrain())
    assert found.source == source and source in BRAIN_SOURCES and found.message.startswith(start)
    if source == "pre-masked":
        assert np.array_equal(found.mask, brain)
    else:
        assert found.mask is None


def test_the_working_grid_brain_is_resampled_or_skull_stripped_and_goes_back() -> None:
    image, brain = head_phantom("head")
    affine = np.diag([4.0, 4.0, 4.0, 1.0])  # the working grid itself: resampling keeps every voxel
    grid = ResampleToWorkingGrid(4.0)
    work, work_affine, _ = to_working_grid(grid, image, affine)
    strip = _Strip()
    given = input_brain(brain, image, affine, PreMaskedBrain())
    on_work = working_brain(given, work, affine, grid, strip)
    assert strip.calls == 0 and np.array_equal(on_work, brain)
    assert input_grid_brain(given, on_work, affine, image.shape, work_affine) is given.mask
    stripped = input_brain(None, image, affine, PreMaskedBrain())
    on_work = working_brain(stripped, work, affine, grid, strip)
    assert strip.calls == 1 and np.array_equal(on_work, image > 60)
    finite = np.ones(image.shape, dtype=bool)
    finite[:, :, 14:] = False
    back = input_grid_brain(stripped, on_work, affine, image.shape, work_affine, finite)
    assert np.array_equal(back, (image > 60) & finite) and (image > 60)[:, :, 14:].any()


def test_no_brain_on_the_working_grid_is_refused() -> None:
    image, _ = head_phantom("head")
    grid = ResampleToWorkingGrid(4.0)
    work, _, _ = to_working_grid(grid, image, PHANTOM_AFFINE)
    empty = input_brain(np.zeros(image.shape, dtype=bool), image, PHANTOM_AFFINE, PreMaskedBrain())
    with pytest.raises(ValueError, match="brain_mask: no brain voxel found on the working grid"):
        working_brain(empty, work, PHANTOM_AFFINE, grid, _Strip())
