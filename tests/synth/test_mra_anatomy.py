import numpy as np
import pytest

from cmb_kd.synth.anatomy import GRID_CENTRE
from cmb_kd.synth.mra_anatomy import HeadPose, brain_distance, draw_pose, mra_grid_affine, pose_template

IDENTITY = HeadPose((0.0, 0.0, 0.0), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0))
SHAPE, SPACING, CENTRE = (96, 112, 60), (2.0, 2.0, 3.2), (0.0, -18.0, 10.0)  # the whole head


def test_grid_affine_is_ras_at_the_spacing_centred_on_the_field_of_view():
    affine = mra_grid_affine((448, 448, 128), (0.5, 0.5, 0.8), (0.0, -18.0, 10.0))
    np.testing.assert_allclose(np.diag(affine), [0.5, 0.5, 0.8, 1.0])
    np.testing.assert_allclose(affine @ [223.5, 223.5, 63.5, 1.0], [0.0, -18.0, 10.0, 1.0])


def test_pose_maps_template_points_by_rotation_scale_and_shift_about_the_brain_centre():
    points = np.array([[10.0, 20.0, 30.0], GRID_CENTRE])
    np.testing.assert_allclose(IDENTITY.to_subject(points), points)
    pose = HeadPose((0.0, 0.0, 90.0), (2.0, 2.0, 2.0), (1.0, 0.0, 0.0))
    moved = pose.to_subject(points)
    np.testing.assert_allclose(moved[1], np.array(GRID_CENTRE) + [1.0, 0.0, 0.0])
    x, y, z = points[0] - GRID_CENTRE
    np.testing.assert_allclose(moved[0] - moved[1], [-2.0 * y, 2.0 * x, 2.0 * z], atol=1e-9)  # 90 degrees about z
    assert pose.radius_scale == pytest.approx(2.0) and IDENTITY.record()["scale"] == [1.0, 1.0, 1.0]


def test_drawn_poses_stay_in_their_ranges():
    rng = np.random.default_rng(0)
    for _ in range(20):
        pose = draw_pose(rng, 6.0, (0.92, 1.06), 4.0)
        assert max(map(abs, pose.rotation_degrees)) <= 6.0 and max(map(abs, pose.translation_mm)) <= 4.0
        assert 0.92 * 0.97 <= min(pose.scale) and max(pose.scale) <= 1.06 * 1.03


def test_brain_distance_is_positive_inside_negative_outside_and_points_inward():
    inside = brain_distance()
    points = np.array([[30.0, -18.0, 30.0], [0.0, -18.0, 88.0], [90.0, -18.0, 10.0]])  # white matter, above, beside
    depth, gradient = inside(points)
    assert depth[0] > 10.0 and depth[1] < -5.0 and depth[2] < -10.0
    towards = np.array(GRID_CENTRE) - points[1:]
    towards /= np.linalg.norm(towards, axis=1, keepdims=True)
    assert np.all((gradient[1:] * towards).sum(axis=1) > 0.8)
    np.testing.assert_allclose(np.linalg.norm(gradient, axis=1), 1.0, atol=1e-6)


def test_posed_template_has_consistent_fractions_and_moves_with_the_head():
    anatomy = pose_template(SHAPE, SPACING, CENTRE, IDENTITY)
    for name in ("gm", "wm", "csf", "brain", "outside_distance"):
        array = getattr(anatomy, name)
        assert array.shape == SHAPE and array.dtype == np.float32 and array.min() >= 0.0
    assert anatomy.brain.max() <= 1.0 and np.all(anatomy.gm + anatomy.wm <= anatomy.brain + anatomy.csf + 1e-5)
    assert anatomy.brain[63, 48, 37] == pytest.approx(1.0) and np.all(anatomy.outside_distance[anatomy.brain > 0.9] < 1)
    shifted = pose_template(SHAPE, SPACING, CENTRE, HeadPose((0.0, 0.0, 0.0), (1.0, 1.0, 1.0), (10.0, 0.0, 0.0)))
    x = np.arange(SHAPE[0]) * SPACING[0]
    centroid = [float((b.sum(axis=(1, 2)) * x).sum() / b.sum()) for b in (anatomy.brain, shifted.brain)]
    assert centroid[1] - centroid[0] == pytest.approx(10.0, abs=0.5)
