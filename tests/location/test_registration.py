import numpy as np
import pytest
from _location_cases import subject_points

from cmb_kd.location.registration import RegistrationSettings, brain_grid, register_to_template

#: MNI points spread over the brain: deep nuclei, brainstem, cortex of every lobe, both sides.
POINTS = np.array(
    [[25, 3, 1], [-25, 3, 1], [11, -18, 7], [-11, -18, 7], [0, -30, -30], [40, -60, 20], [-40, 20, 30], [0, 50, 0],
     [-50, -20, -10], [30, -80, 0]],
    dtype=float,
)  # fmt: skip


def _flipped_copy(image, affine, mask):
    """The same scan stored with x reversed and y and z swapped: another voxel order, the same world."""
    flip = np.eye(4)
    flip[0, 0], flip[0, 3] = -1.0, image.shape[0] - 1
    swap = np.eye(4)[[0, 2, 1, 3]]
    new_affine = affine @ flip @ swap
    return image[::-1].transpose(0, 2, 1), new_affine, mask[::-1].transpose(0, 2, 1)


@pytest.mark.slow
def test_affine_registration_recovers_a_known_deformation(deformed_subject):
    image, affine, mask, params = deformed_subject
    transform = register_to_template(image, affine, mask, RegistrationSettings(deformable=False))
    error = np.linalg.norm(transform.apply(subject_points(POINTS, params, affine)) - POINTS, axis=1)
    assert error.mean() < 1.5 and error.max() < 3.0, error  # measured: mean 0.6, max 0.8 mm


@pytest.mark.slow
def test_deformable_registration_and_a_flipped_copy(deformed_subject):
    """Also the RAS/LPS test: the deformation shifts and rotates the head, so a mirrored world would miss by cm."""
    image, affine, mask, params = deformed_subject
    points = subject_points(POINTS, params, affine)
    transform = register_to_template(image, affine, mask)
    error = np.linalg.norm(transform.apply(points) - POINTS, axis=1)
    assert error.mean() < 1.5 and error.max() < 3.0, error  # measured: mean 0.3, max 0.7 mm
    flipped = register_to_template(*_flipped_copy(image, affine, mask), RegistrationSettings(deformable=False))
    mapped = flipped.apply(points)
    assert np.linalg.norm(mapped - POINTS, axis=1).mean() < 1.5
    lateral = np.abs(POINTS[:, 0]) >= 10
    np.testing.assert_array_equal(np.sign(mapped[lateral, 0]), np.sign(POINTS[lateral, 0]))


def test_brain_grid_covers_the_mask_in_any_orientation():
    mask = np.zeros((20, 30, 10), dtype=bool)
    mask[5:15, 5:25, 2:8] = True
    affine = np.array([[0.0, -1.0, 0.0, 10.0], [2.0, 0.0, 0.0, -5.0], [0.0, 0.0, 4.0, 0.0], [0, 0, 0, 1]])
    grid, shape = brain_grid(affine, mask, 3.0)
    corners = np.argwhere(mask)[[0, -1]] @ affine[:3, :3].T + affine[:3, 3]
    low, high = grid[:3, 3], grid[:3, 3] + 3.0 * (np.array(shape) - 1)
    assert np.all(corners >= low) and np.all(corners <= high)


@pytest.mark.parametrize(
    "args, match",
    [((np.zeros((4, 4)), np.eye(4), np.ones((4, 4))), "volume: expected a 3D"),
     ((np.zeros((4, 4, 4)), np.eye(3), np.ones((4, 4, 4))), "affine: expected"),
     ((np.zeros((4, 4, 4)), np.eye(4), np.ones((4, 4, 5))), "brain_mask: expected the image's shape"),
     ((np.zeros((4, 4, 4)), np.eye(4), np.zeros((4, 4, 4))), "brain_mask: expected at least one voxel")],
)  # fmt: skip
def test_bad_inputs(args, match):
    with pytest.raises(ValueError, match=match):
        register_to_template(*args)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"spacing_mm": 0}, "spacing_mm"), ({"affine_iterations": 0}, "affine_iterations: expected an integer"),
     ({"sampling": 1.5}, "sampling: expected a fraction"), ({"step_mm": -1.0}, "step_mm")],
)  # fmt: skip
def test_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RegistrationSettings(**kwargs)
    with pytest.raises(TypeError, match="settings: expected RegistrationSettings"):
        register_to_template(np.ones((4, 4, 4)), np.eye(4), np.ones((4, 4, 4)), settings={"spacing_mm": 4})
