import numpy as np
import pytest
from conftest import ball_inside

from cmb_kd.synth.vessel_growth import GrowthParameters, grow_branches
from cmb_kd.synth.vessel_tree import VesselSegment, VesselTree


def _params(**overrides) -> GrowthParameters:
    values = dict(
        branch_density=0.2, murray_share_range=(0.005, 0.35), max_branch_radius=0.8, branch_angle_range=(35.0, 85.0),
        branch_length_range=(25.0, 60.0), taper_range=(0.5, 0.85), tortuosity=0.15, stop_radius=0.17, max_order=4,
    )  # fmt: skip
    return GrowthParameters(**{**values, **overrides})


def _grown(seed=0, **overrides):
    """Branches grown on one 80 mm artery of radius 1 mm across a ball brain of radius 60 mm."""
    tree = VesselTree()
    z = np.arange(-40.0, 40.01, 0.5)
    tree.add(VesselSegment("artery", np.stack([np.zeros_like(z), np.zeros_like(z), z], 1), np.full(len(z), 1.0)))
    counts = grow_branches(tree, ball_inside(radius=60.0), _params(**overrides), np.random.default_rng(seed))
    return tree, counts


def test_branches_follow_murrays_law_and_stop_at_the_stop_radius():
    tree, counts = _grown()
    assert len(tree) > 20 and sum(counts.values()) == len(tree) - 1
    for segment in tree.segments[1:]:
        parent = tree.segments[segment.parent]
        start = segment.radii[0]
        assert start <= np.cbrt(0.35) * parent.radii[segment.parent_point] + 1e-9 and start <= 0.8 + 1e-9
        assert segment.radii.min() >= 0.17 - 1e-9 and np.all(np.diff(segment.radii) <= 1e-12)  # tapers
        np.testing.assert_allclose(segment.points[0], parent.points[segment.parent_point])
        assert segment.generation == parent.generation + 1 and segment.generation <= 4
        assert segment.name == "branch"


def test_branches_stay_inside_the_brain_and_leave_at_the_drawn_angles():
    tree, _ = _grown(seed=1)
    for segment in tree.segments[1:]:
        assert np.linalg.norm(segment.points, axis=1).max() <= 60.0 + 1e-6
        steps = np.linalg.norm(np.diff(segment.points, axis=0), axis=1)
        np.testing.assert_allclose(steps, 0.5, atol=1e-9)
        parent = tree.segments[segment.parent]
        i = segment.parent_point
        tangent = parent.points[min(i + 1, len(parent.points) - 1)] - parent.points[max(i - 1, 0)]
        first = segment.points[1] - segment.points[0]
        cosine = tangent @ first / np.linalg.norm(tangent) / np.linalg.norm(first)
        assert (
            np.degrees(np.arccos(np.clip(abs(cosine), 0, 1))) > 20.0
        )  # 35-85 degrees, bent a little by the first step


def test_lengths_scale_with_the_square_root_of_the_radius():
    tree, _ = _grown(seed=2, tortuosity=0.0)
    for segment in tree.segments[1:]:
        assert segment.length <= 60.0 * np.sqrt(segment.radii[0]) + 0.5


def test_no_branch_on_a_vessel_too_thin_to_have_one_and_the_same_seed_grows_the_same_tree():
    tree, counts = _grown(seed=3, stop_radius=0.75)  # the largest branch of a 1 mm artery is 0.705 mm
    assert len(tree) == 1 and counts == {}
    first, again = _grown(seed=4)[0], _grown(seed=4)[0]
    assert len(first) == len(again)
    assert all(np.array_equal(a.points, b.points) for a, b in zip(first.segments, again.segments, strict=True))


def test_record_is_json_ready():
    record = _params().record()
    assert record["max_order"] == 4 and record["murray_share_range"] == [0.005, 0.35]
    with pytest.raises(TypeError):
        GrowthParameters(branch_density=0.1)
