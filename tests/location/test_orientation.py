import itk
import numpy as np
import pytest

from cmb_kd.location.orientation import image_to_itk, itk_to_array, lps_to_ras, ras_to_lps


def test_ras_lps_flip_x_and_y():
    points = np.array([[10.0, -20.0, 30.0]])
    np.testing.assert_array_equal(ras_to_lps(points), [[-10.0, 20.0, 30.0]])
    np.testing.assert_array_equal(lps_to_ras(ras_to_lps(points)), points)


def _oblique_affine() -> np.ndarray:
    angle = np.deg2rad(20.0)
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    affine = np.eye(4)
    affine[:3, :3] = rotation @ np.diag([-0.5, 0.5, 4.0])  # x flipped (LAS storage), thick slices
    affine[:3, 3] = (12.0, -30.0, 5.0)
    return affine


@pytest.mark.parametrize("affine", [np.diag([1.0, 1.0, 1.0, 1.0]), np.diag([-2.0, 3.0, 4.0, 1.0]), _oblique_affine()])
def test_itk_physical_points_are_the_lps_world_of_the_voxels(affine):
    array = np.arange(4 * 5 * 3, dtype=np.float32).reshape(4, 5, 3)
    image = image_to_itk(array, affine)
    for index in [(0, 0, 0), (3, 1, 2), (1, 4, 0)]:
        ras = affine[:3, :3] @ np.array(index, dtype=float) + affine[:3, 3]
        point = np.array(image.TransformIndexToPhysicalPoint([int(i) for i in index]))
        np.testing.assert_allclose(point, ras_to_lps(ras[None])[0], atol=1e-6)
        assert image.GetPixel([int(i) for i in index]) == array[index]
    np.testing.assert_array_equal(itk_to_array(image), array)


def test_vector_images_keep_the_component_axis_last():
    field = itk.image_from_array(np.zeros((3, 5, 4, 3), dtype=np.float32), is_vector=True)
    assert itk_to_array(field).shape == (4, 5, 3, 3)


@pytest.mark.parametrize(
    "array, affine, match",
    [(np.zeros((2, 2)), np.eye(4), "array: expected a 3D"),
     (np.zeros((2, 2, 2)), np.eye(3), "affine: expected a finite"),
     (np.zeros((2, 2, 2)), np.array([[1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1.0]]), "no shear"),
     (np.zeros((2, 2, 2)), np.diag([0.0, 1, 1, 1]), "non-zero voxel sizes")],
)  # fmt: skip
def test_bad_arguments(array, affine, match):
    with pytest.raises(ValueError, match=match):
        image_to_itk(array, affine)
    with pytest.raises(ValueError, match="points: expected"):
        ras_to_lps([1.0, 2.0, 3.0])
