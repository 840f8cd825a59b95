"""The skeleton on shapes whose skeleton is known: a curve, straight tubes, a ball, a torus."""

import numpy as np
import pytest
import torch
from scipy import ndimage

from cmb_kd.metrics import skeletonize

CUBE = np.ones((3, 3, 3), dtype=bool)


def _tube_along_z(shape: tuple[int, int, int], centre: float, radius: float, z: tuple[int, int]) -> np.ndarray:
    x, y, k = np.mgrid[: shape[0], : shape[1], : shape[2]]
    return ((x - centre) ** 2 + (y - centre) ** 2 <= radius**2) & (k >= z[0]) & (k < z[1])


def _components(mask: np.ndarray) -> int:
    return ndimage.label(mask, CUBE)[1]


def test_a_thin_curve_is_its_own_skeleton() -> None:
    curve = np.zeros((12, 12, 12), dtype=bool)
    for t in range(10):  # a staircase: 26-connected, one voxel thin
        curve[1 + t, 1 + t // 2, 5] = True
    assert np.array_equal(skeletonize(curve), curve)


@pytest.mark.parametrize("radius", [1.0, 2.0, 3.0, 4.0])
def test_a_voxel_centred_straight_tube_gives_its_axis(radius: float) -> None:
    tube = _tube_along_z((24, 24, 40), 12.0, radius, (2, 38))
    skeleton = skeletonize(tube)
    axis = np.argwhere(skeleton)
    assert (axis[:, 0] == 12).all() and (axis[:, 1] == 12).all()  # on the axis only
    z = axis[:, 2]
    # one voxel per slice, without gap, shortened at each end by about the radius
    assert len(z) == len(set(z)) == z.max() - z.min() + 1
    assert z.min() == 2 + int(radius) and z.max() == 37 - int(radius)


@pytest.mark.parametrize("radius", [1.5, 2.5])
def test_a_tube_between_voxel_rows_gives_the_four_rows_around_its_axis(radius: float) -> None:
    skeleton = skeletonize(_tube_along_z((24, 24, 40), 11.5, radius, (2, 38)))
    rows = {tuple(v) for v in np.argwhere(skeleton)[:, :2]}
    assert rows == {(11, 11), (11, 12), (12, 11), (12, 12)}
    assert _components(skeleton) == 1


def test_a_ball_gives_its_centre() -> None:
    x, y, z = np.mgrid[:21, :21, :21]
    ball = (x - 10) ** 2 + (y - 10) ** 2 + (z - 10) ** 2 <= 36
    assert np.argwhere(skeletonize(ball)).tolist() == [[10, 10, 10]]


def test_a_torus_gives_one_loop_along_its_centre_circle() -> None:
    x, y, z = np.mgrid[:40, :40, :12].astype(float)
    rho = np.hypot(x - 19.5, y - 19.5)
    torus = (rho - 12.0) ** 2 + (z - 5.5) ** 2 <= 2.5**2
    skeleton = skeletonize(torus)
    assert _components(skeleton) == 1 and (skeleton <= torus).all()
    points = np.argwhere(skeleton).astype(float)
    assert np.abs(np.hypot(points[:, 0] - 19.5, points[:, 1] - 19.5) - 12.0).max() <= 1.6
    assert np.abs(points[:, 2] - 5.5).max() <= 1.6
    # the loop goes all the way round: every 10-degree sector holds skeleton voxels
    angles = np.degrees(np.arctan2(points[:, 1] - 19.5, points[:, 0] - 19.5)) % 360
    assert set((angles // 10).astype(int)) == set(range(36))
    assert skeleton.sum() < torus.sum() / 2


def test_the_skeleton_lies_inside_the_mask_and_keeps_each_piece() -> None:
    rng = np.random.default_rng(0)
    mask = ndimage.gaussian_filter(rng.random((30, 30, 20)), 1.5) > 0.52  # blobs of many shapes
    skeleton = skeletonize(mask)
    assert (skeleton <= mask).all()
    labels, n = ndimage.label(mask, CUBE)
    assert n > 3 and set(np.unique(labels[skeleton])) == set(range(1, n + 1))


def test_inputs_of_every_kind_give_the_same_skeleton() -> None:
    tube = _tube_along_z((16, 16, 20), 8.0, 2.0, (2, 18))
    expected = skeletonize(tube)
    for given in (tube.astype(np.uint8), tube.astype(np.float32) * 0.9, torch.from_numpy(tube)):
        assert np.array_equal(skeletonize(given), expected)
    assert not skeletonize(np.zeros((4, 4, 4))).any()


@pytest.mark.parametrize(
    "mask, match", [(np.zeros((4, 4)), "expected a 3D mask"), (np.array([[["a"]]]), "numbers or booleans")]
)
def test_bad_masks_raise(mask: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        skeletonize(mask, name="y")
