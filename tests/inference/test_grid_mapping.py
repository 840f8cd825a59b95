"""Tests of grid mapping: input grid to working grid and back, the brain box, its affine, and candidates in it."""

import numpy as np
import pytest
import torch

from cmb_kd.candidates import Candidate
from cmb_kd.inference import (
    DEFAULT_BOX_PATCH,
    PreparedScan,
    box_affine,
    brain_box,
    from_box,
    from_box_volume,
    probability_to_input_grid,
    to_box,
    to_input_grid,
    to_working_grid,
)
from cmb_kd.transforms import ResampleToWorkingGrid


@pytest.mark.parametrize(
    ("low", "high", "patch", "expected"),
    [
        ((10, 10, 10), (20, 20, 20), (8, 8, 4), ((6, 24), (6, 24), (8, 22))),
        ((1, 2, 0), (5, 39, 29), (8, 8, 4), ((0, 9), (0, 40), (0, 30))),
        ((10, 10, 10), (11, 11, 11), DEFAULT_BOX_PATCH, ((0, 35), (0, 35), (0, 23))),
    ],
)
def test_brain_box_grows_by_half_a_patch_within_the_volume(low, high, patch, expected) -> None:
    brain = np.zeros((40, 40, 30), dtype=bool)
    brain[tuple(slice(a, b) for a, b in zip(low, high))] = True
    box = brain_box(brain, patch)
    assert [(s.start, s.stop) for s in box] == [tuple(e) for e in expected]


def test_the_box_affine_puts_the_box_origin_where_the_volume_has_it() -> None:
    affine = np.array([[-0.5, 0, 0, 90.0], [0, 0.7, 0.1, -120.0], [0, 0, 3.0, -60.0], [0, 0, 0, 1]])
    box = (slice(4, 20), slice(7, 30), slice(2, 9))
    moved = box_affine(affine, box)
    np.testing.assert_allclose(moved[:3, :3], affine[:3, :3])
    np.testing.assert_allclose(moved @ [0, 0, 0, 1], affine @ [4, 7, 2, 1])
    np.testing.assert_allclose(moved @ [3, 1, 5, 1], affine @ [7, 8, 7, 1])


def test_candidates_and_volumes_in_and_out_of_the_box() -> None:
    box = (slice(3, 13), slice(5, 9), slice(0, 4))
    inside = [Candidate(voxel=(1, 2, 3), mm=(1.0, 2.0, 3.0), score=4.0, sources=("frst",))]
    moved = from_box(inside, box)
    assert moved[0].voxel == (4, 7, 3) and moved[0].mm == (1.0, 2.0, 3.0) and moved[0].sources == ("frst",)
    assert to_box(moved, box) == [(1, 2, 3)]
    crop = torch.ones((10, 4, 4))
    volume = from_box_volume(crop, box, (20, 10, 6))
    assert volume.dtype == np.float32 and volume.sum() == 160 and volume[box].all()


def test_a_mask_goes_to_the_working_grid_and_back_unchanged() -> None:
    affine = np.diag([-2.0, 2.0, 4.0, 1.0])
    mask = np.zeros((10, 12, 6), dtype=np.uint8)
    mask[3:6, 4:9, 2:4] = 1
    work, work_affine, volume = to_working_grid(ResampleToWorkingGrid(2.0), mask, affine, mode="nearest")
    assert volume.dtype == np.float32 and volume.shape == tuple(work.shape[1:]) == (10, 12, 12)
    assert volume.sum() == mask.sum() * 2
    back = to_input_grid(volume, "nearest", affine, mask.shape, work_affine)
    np.testing.assert_array_equal(back != 0, mask != 0)


def test_the_probability_goes_back_by_maximum_and_is_zero_where_the_input_is_nan() -> None:
    affine = np.diag([2.0, 2.0, 4.0, 1.0])
    work_affine = np.diag([2.0, 2.0, 2.0, 1.0])
    work_affine[2, 3] = -1.0  # two working slices per input slice
    probability = np.zeros((4, 4, 8), dtype=np.float32)
    probability[1, 1, 3] = 0.9
    finite = np.ones((4, 4, 4), dtype=bool)
    prepared = PreparedScan(
        input_shape=(4, 4, 4),
        input_affine=affine,
        working_shape=(4, 4, 8),
        working_affine=work_affine,
        brain_box=(slice(0, 4),) * 3,
        image=torch.zeros(1, 1, 4, 4, 8),
        brain_working=np.ones((4, 4, 8), dtype=bool),
        brain_input=finite,
        phase=None,
        candidates=(),
        timings={},
    )
    moved = probability_to_input_grid(probability, prepared)
    assert moved.dtype == np.float32 and moved[1, 1, 1] == np.float32(0.9) and moved.sum() == np.float32(0.9)
    finite[1, 1, 1] = False
    nan_input = PreparedScan(**{**prepared.__dict__, "finite_input": finite})
    assert probability_to_input_grid(probability, nan_input).sum() == 0.0
