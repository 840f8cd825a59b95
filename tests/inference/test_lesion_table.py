import math

import numpy as np
import pytest
from _inference_helpers import ANISOTROPIC_AFFINE

from cmb_kd.inference import as_lesions, lesion_table


def _mask():
    mask = np.zeros((10, 10, 5), dtype=np.uint8)
    mask[1:3, 1:3, 1] = 1  # A: 4 voxels, centroid (1.5, 1.5, 1)
    mask[6, 6, 3] = 1  # B: 1 voxel
    mask[8, 8, 0] = mask[9, 9, 1] = 1  # C: corner-connected pair (one component at 26-connectivity)
    mask[5, 0, 1] = 1  # D: same z as A, lower y
    return mask


def test_hand_computed_centroids_and_volumes_on_anisotropic_affine():
    probability = np.zeros((10, 10, 5))
    probability[1, 1, 1], probability[2, 2, 1] = 0.6, 0.9
    probability[6, 6, 3], probability[8, 8, 0], probability[9, 9, 1], probability[5, 0, 1] = 0.7, 0.55, 0.8, 1.0
    lesions = lesion_table(_mask(), ANISOTROPIC_AFFINE, probability)

    voxel_volume = 0.5 * 0.5 * 3.0
    expected = [  # (centroid voxel, n voxels, max probability), ordered by z, then y, then x
        ((8.5, 8.5, 0.5), 2, 0.8),
        ((5.0, 0.0, 1.0), 1, 1.0),
        ((1.5, 1.5, 1.0), 4, 0.9),
        ((6.0, 6.0, 3.0), 1, 0.7),
    ]
    assert [lesion.id for lesion in lesions] == [1, 2, 3, 4]
    for lesion, (centroid, n, p_max) in zip(lesions, expected):
        x, y, z = centroid
        assert lesion.centroid_voxel == pytest.approx(centroid)
        assert lesion.centroid_mm == pytest.approx((40.0 - 0.5 * x, -30.0 + 0.5 * y, -12.0 + 3.0 * z))
        assert lesion.n_voxels == n
        assert lesion.volume_mm3 == pytest.approx(n * voxel_volume)
        assert lesion.diameter_mm == pytest.approx((6.0 * n * voxel_volume / math.pi) ** (1.0 / 3.0))
        assert lesion.max_probability == pytest.approx(p_max)


def test_oblique_affine_volume_uses_the_determinant():
    rotation = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    affine = np.eye(4)
    affine[:3, :3] = rotation @ np.diag([0.8, 0.8, 4.0]) + np.array([[0, 0, 0.3], [0, 0, 0], [0, 0, 0]])
    affine[:3, 3] = [1.0, 2.0, 3.0]
    mask = np.zeros((4, 4, 3), dtype=bool)
    mask[1, 2, 1] = True
    (lesion,) = lesion_table(mask, affine)
    assert lesion.volume_mm3 == pytest.approx(0.8 * 0.8 * 4.0)
    assert lesion.centroid_mm == pytest.approx(tuple(affine[:3, :3] @ [1, 2, 1] + affine[:3, 3]))
    assert math.isnan(lesion.max_probability)


def test_empty_mask_gives_no_lesion():
    assert lesion_table(np.zeros((3, 3, 3)), np.eye(4)) == []


@pytest.mark.parametrize(
    "mask, affine, probability, message",
    [
        (np.zeros((3, 3)), np.eye(4), None, "mask: expected a 3D mask"),
        (np.full((3, 3, 3), 0.5), np.eye(4), None, "mask: expected a binary mask of 0 and 1"),
        (np.zeros((3, 3, 3)), np.eye(3), None, "affine: expected a finite, invertible 4x4"),
        (np.zeros((3, 3, 3)), np.zeros((4, 4)), None, "affine: expected a finite, invertible 4x4"),
        (np.zeros((3, 3, 3)), np.eye(4), np.zeros((3, 3, 4)), r"probability: expected shape \(3, 3, 3\)"),
        (np.zeros((3, 3, 3)), np.eye(4), np.full((3, 3, 3), 2.0), r"probability: expected values in \[0, 1\]"),
        (np.zeros((3, 3, 3)), np.eye(4), np.full((3, 3, 3), np.nan), "probability: expected finite values"),
    ],
)
def test_bad_arguments(mask, affine, probability, message):
    with pytest.raises(ValueError, match=message):
        lesion_table(mask, affine, probability)


def test_as_lesions_lists_lesions_and_names_an_item_that_is_not_one():
    lesions = lesion_table(_mask(), np.eye(4))
    assert as_lesions(tuple(lesions)) == lesions and as_lesions(None) == []
    with pytest.raises(ValueError, match=r"picked\[1\]: expected a Lesion \(from lesion_table\), got dict"):
        as_lesions([lesions[0], {"id": 2}], "picked")
