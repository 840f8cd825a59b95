import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial import cKDTree

from cmb_kd.synth import MRAConfig, simulate_mra_subject
from cmb_kd.synth.mra_anatomy import brain_distance
from cmb_kd.synth.mra_vessels import draw_vessel_tree, grid_paths, rasterise_tree, vessel_label
from cmb_kd.synth.vessel_tree import VesselSegment, VesselTree
from cmb_kd.synth.willis import WILLIS_ARTERIES

#: A grid holding the whole brain (coarser than the MRA's, anisotropic too): the whole tree is drawn on it.
WHOLE = MRAConfig(
    shape=(176, 224, 112), spacing=(1.0, 1.0, 1.6), centre_mm=(0.0, -18.0, 8.0), samples=8,
    pcomm_absent_probability=0.0, acomm_absent_probability=0.0,
)  # fmt: skip


@pytest.fixture(scope="module")
def whole_tree_subject():
    return simulate_mra_subject(WHOLE, seed=5)


def _centreline_voxels(segment, affine, shape):
    """The grid voxels of a segment's centreline, in order, and whether each lies inside the grid."""
    voxels = np.round(grid_paths(VesselTree([segment]), affine)[0]).astype(int)
    inside = np.all((voxels >= 0) & (voxels < np.array(shape)), axis=1)
    return voxels, inside


def _components(label):
    return ndimage.label(label, structure=np.ones((3, 3, 3)))[0]


@pytest.fixture(scope="module")
def named_arteries_subject():
    """The small grid's subject with the named arteries only (no grown branch crowds them)."""
    return simulate_mra_subject(MRAConfig.small(branch_density_range=(0.0, 0.0)), seed=3)


def _isolated_points(tree, shape, affine, min_radius=1.0, gap=1.0):
    """``(point, tangent, radius)`` of centreline points of radius >= ``min_radius`` whose vessel's surface lies at
    least ``gap`` mm from every other vessel's surface (and 3 mm inside the grid)."""
    to_voxel = np.linalg.inv(affine)
    spacing = np.abs(np.diag(affine)[:3])
    for index, segment in enumerate(tree.segments):
        others = [s for i, s in enumerate(tree.segments) if i != index]
        points, radii = np.concatenate([s.points for s in others]), np.concatenate([s.radii for s in others])
        near_other = cKDTree(points)
        for k in range(6, len(segment.points) - 6, 3):
            point, radius = segment.points[k], segment.radii[k]
            voxel = to_voxel[:3, :3] @ point + to_voxel[:3, 3]
            margin = (radius + 3.0) / spacing
            if radius < min_radius or np.any(voxel < margin) or np.any(voxel > np.array(shape) - 1 - margin):
                continue
            near = near_other.query_ball_point(point, radius + gap + radii.max())
            if any(np.linalg.norm(points[j] - point) - radii[j] < radius + gap for j in near):
                continue
            tangent = segment.points[k + 2] - segment.points[k - 2]
            yield point, tangent / np.linalg.norm(tangent), radius


def test_thick_vessels_have_their_described_radius_in_the_label_and_the_partial_volume(named_arteries_subject):
    """Cross-sections of the label, and the partial volume summed around centreline points, of vessels of radius
    >= 1 mm (two voxels and more) away from other vessels match the radius the tree describes."""
    subject = named_arteries_subject
    to_voxel = np.linalg.inv(subject.affine)
    errors, volume_ratio = [], []
    for point, tangent, radius in _isolated_points(subject.tree, subject.label.shape, subject.affine):
        errors.append(_label_radius(subject.label, to_voxel, point, tangent, radius + 1.0) - radius)
        volume_ratio.append(_tube_volume(subject.fraction, subject.affine, point, tangent, radius))
    assert len(errors) >= 20
    errors = np.array(errors)
    assert np.abs(np.median(errors)) < 0.1 and np.abs(errors).max() < 0.3  # mm; voxels are 0.5×0.5×0.8 mm
    assert np.median(volume_ratio) == pytest.approx(1.0, abs=0.05) and np.ptp(volume_ratio) < 0.3


def _label_radius(label, to_voxel, point, tangent, reach, step=0.05):
    """Equivalent radius sqrt(area / π) of the label in the plane through ``point`` normal to ``tangent``."""
    u = np.cross(tangent, [1.0, 0.0, 0.0] if abs(tangent[0]) < 0.9 else [0.0, 1.0, 0.0])
    u /= np.linalg.norm(u)
    v = np.cross(tangent, u)
    grid = np.arange(-reach, reach + 1e-9, step)
    a, b = (x.reshape(-1, 1) for x in np.meshgrid(grid, grid, indexing="ij"))
    disk = (a**2 + b**2 <= reach**2)[:, 0]
    samples = (point + a * u + b * v)[disk]
    voxels = np.round(samples @ to_voxel[:3, :3].T + to_voxel[:3, 3]).astype(int)
    return float(np.sqrt(label[tuple(voxels.T)].sum() * step**2 / np.pi))


def _tube_volume(fraction, affine, point, tangent, radius, half_length=1.5):
    """Partial volume summed over the voxels whose centres lie within a cylinder around the vessel, over the
    cylinder of the vessel's own radius (the ends' partial voxels average out along the vessel)."""
    to_voxel = np.linalg.inv(affine)
    spacing = np.abs(np.diag(affine)[:3])
    centre = to_voxel[:3, :3] @ point + to_voxel[:3, 3]
    reach = np.ceil((radius + 2.5) / spacing).astype(int)
    lo = np.round(centre).astype(int) - reach
    box = np.stack(np.meshgrid(*[np.arange(a, a + 2 * r + 1) for a, r in zip(lo, reach)], indexing="ij"), -1)
    box = box.reshape(-1, 3)
    offset = box * spacing + affine[:3, 3] - point
    along = offset @ tangent
    across = np.linalg.norm(offset - along[:, None] * tangent, axis=1)
    chosen = box[(np.abs(along) <= half_length) & (across <= radius + 1.0)]
    return float(fraction[tuple(chosen.T)].sum() * spacing.prod() / (np.pi * radius**2 * 2 * half_length))


def test_every_segment_is_connected_to_its_parent_and_the_tree_is_one_component(whole_tree_subject):
    subject = whole_tree_subject
    components = _components(subject.label)
    shape = subject.label.shape
    seen = {}
    for index, segment in enumerate(subject.tree.segments):
        voxels, inside = _centreline_voxels(segment, subject.affine, shape)
        assert inside.all(), f"segment {index} ({segment.name}) leaves the whole-brain grid"
        found = set(components[tuple(voxels.T)].tolist())
        assert found == {seen.get(segment.parent, next(iter(found)))} and 0 not in found, (index, segment.name)
        seen[index] = next(iter(found))
    assert len(set(seen.values())) == 1  # the circle of Willis joins the basilar and both carotid systems
    assert int(components.max()) == 1  # and nothing else is labelled


def test_in_a_slab_each_segment_is_connected_to_its_parent_until_it_leaves_the_grid(small_mra_subject):
    subject = small_mra_subject
    components = _components(subject.label)
    shape = subject.label.shape
    checked = 0
    for segment in subject.tree.segments:
        if segment.parent < 0:
            continue
        parent = subject.tree.segments[segment.parent]
        start, start_inside = _centreline_voxels(parent, subject.affine, shape)
        if not start_inside[segment.parent_point]:
            continue
        own = components[tuple(start[segment.parent_point])]
        voxels, inside = _centreline_voxels(segment, subject.affine, shape)
        run = voxels[: np.argmin(inside)] if not inside.all() else voxels  # until it first leaves the grid
        assert own > 0 and set(components[tuple(run.T)].tolist()) == {own}
        checked += 1
    assert checked >= 20


def test_the_label_is_the_half_covered_voxels_and_the_centrelines():
    tree = VesselTree()
    z = np.arange(2.0, 14.01, 0.5)
    tree.add(VesselSegment("thick", np.stack([0 * z + 5.0, 0 * z + 5.0, z], 1), np.full(len(z), 1.2)))
    tree.add(VesselSegment("thin", np.stack([0 * z + 11.0, 0 * z + 5.2, z], 1), np.full(len(z), 0.15)))
    affine = np.diag([0.5, 0.5, 0.8, 1.0])
    signals = [np.ones(len(z)), np.ones(len(z))]
    fraction, blood = rasterise_tree(tree, signals, affine, (32, 20, 20))
    plain = vessel_label(fraction, tree, affine, 0.5, centrelines=False)
    np.testing.assert_array_equal(plain, fraction >= 0.5)
    full = vessel_label(fraction, tree, affine, 0.5)
    assert full.dtype == np.uint8 and np.all(full >= plain)
    assert plain[22].sum() == 0 and full[22, 10, 4:16].all()  # the thin vessel: its centreline only
    np.testing.assert_allclose(blood, fraction, atol=1e-6)
    assert not rasterise_tree(tree, signals, np.diag([0.5, 0.5, 0.8, 1.0]) @ _shift(100.0), (8, 8, 8))[0].any()


def _shift(mm):
    matrix = np.eye(4)
    matrix[:3, 3] = mm / np.array([0.5, 0.5, 0.8])
    return matrix


def test_drawn_tree_record_counts_its_branches():
    tree, record = draw_vessel_tree(np.random.default_rng(0), MRAConfig.small(), brain_distance())
    named = sum(1 for s in tree.segments if s.name != "branch")
    assert named == 2 * len(WILLIS_ARTERIES) - 2 - len(record["variants"])
    assert record["n_segments"] == len(tree) == named + sum(record["branches_per_order"].values())
    assert 0.15 <= record["growth"]["stop_radius"] <= 0.2
