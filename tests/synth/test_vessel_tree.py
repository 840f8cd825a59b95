import json

import numpy as np
import pytest

from cmb_kd.synth.vessel_tree import VesselSegment, VesselTree, resample_path


def _line(start, end, n, radius=(1.0, 0.5)):
    points = np.linspace(start, end, n)
    return points, np.linspace(*radius, n)


def _tree() -> VesselTree:
    """A root along x (10 mm), a child leaving its 5 mm point along y (4 mm), a grandchild along z (2 mm)."""
    tree = VesselTree()
    tree.add(VesselSegment("root", *_line((0, 0, 0), (10, 0, 0), 21)))
    tree.add(VesselSegment("child", *_line((5, 0, 0), (5, 4, 0), 9, (0.5, 0.4)), parent=0, parent_point=10))
    tree.add(VesselSegment("branch", *_line((5, 4, 0), (5, 4, 2), 5, (0.3, 0.3)), parent=1, parent_point=8))
    return tree


def test_resample_path_keeps_the_ends_and_bounds_the_step():
    points = np.array([[0.0, 0.0, 0.0], [3.0, 0.0, 0.0], [3.0, 4.0, 0.0]])
    dense = resample_path(points, 0.5)
    np.testing.assert_allclose(dense[[0, -1]], points[[0, -1]])
    steps = np.linalg.norm(np.diff(dense, axis=0), axis=1)
    assert steps.max() <= 0.5 + 1e-9 and steps.sum() == pytest.approx(7.0, abs=0.1)
    np.testing.assert_array_equal(resample_path(points[:1], 0.5), points[:1])


def test_path_lengths_add_up_from_the_root_through_the_branch_points():
    lengths = _tree().path_lengths()
    np.testing.assert_allclose(lengths[0][[0, 10, -1]], [0.0, 5.0, 10.0])
    np.testing.assert_allclose(lengths[1][[0, -1]], [5.0, 9.0])
    np.testing.assert_allclose(lengths[2][-1], 11.0)
    assert all(np.all(np.diff(values) >= 0) for values in lengths)


def test_children_index_and_transform():
    tree = _tree()
    assert tree.children(0) == [1] and tree.children(1) == [2] and tree.index("branch") == 2
    moved = tree.transformed(2.0 * np.eye(3), np.array([1.0, 0.0, 0.0]), 2.0)
    np.testing.assert_allclose(moved.segments[1].points[-1], [11.0, 8.0, 0.0])
    np.testing.assert_allclose(moved.segments[1].radii, 2.0 * tree.segments[1].radii)
    assert moved.segments[2].parent == 1 and moved.path_lengths()[2][-1] == pytest.approx(22.0)
    with pytest.raises(KeyError, match="no segment called 'vein'"):
        tree.index("vein")


def test_record_round_trips_at_the_stored_resolution():
    tree = _tree()
    record = json.loads(json.dumps(tree.record(step_mm=1.0)))
    assert [s["name"] for s in record] == ["root", "child", "branch"]
    assert record[0]["points_mm"][0] == [0.0, 0.0, 0.0] and record[0]["points_mm"][-1] == [10.0, 0.0, 0.0]
    again = VesselTree.from_record(record)
    child = again.segments[1]
    np.testing.assert_allclose(again.segments[0].points[child.parent_point], child.points[0])
    assert again.segments[2].parent == 1 and record[1]["length_mm"] == pytest.approx(4.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"parent": 3, "parent_point": 0}, "parent 3 of 'x' is not in the tree yet"),
        ({"parent": 0, "parent_point": 40}, "parent_point 40 of 'x' is out of range"),
    ],
)
def test_add_rejects_a_child_without_its_parent(kwargs, message):
    tree = _tree()
    with pytest.raises(ValueError, match=message):
        tree.add(VesselSegment("x", *_line((0, 0, 0), (1, 0, 0), 3), **kwargs))


@pytest.mark.parametrize(
    "points, radii, message",
    [
        (np.zeros((1, 3)), np.ones(1), "at least 2 points"),
        (np.zeros((3, 3)), np.ones(2), "one radius per point"),
        (np.zeros((3, 3)), np.array([1.0, 0.0, 1.0]), "positive radii"),
    ],
)
def test_segment_rejects_bad_geometry(points, radii, message):
    with pytest.raises(ValueError, match=message):
        VesselSegment("x", points, radii)
