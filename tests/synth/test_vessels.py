import numpy as np

from cmb_kd.synth.vessels import FLOW_VOID_PATHS, draw_flow_voids, draw_thin_veins


def test_thin_veins_run_along_the_slice_axis_and_keep_away():
    allowed = np.zeros((40, 40, 40), bool)
    allowed[5:35, 5:35, 10:30] = True
    lesion = np.array([20.0, 20.0, 20.0])
    veins = draw_thin_veins(
        allowed, 1.0, np.random.default_rng(0), 40, (0.2, 0.5), (4.0, 12.0), 20.0, keep_away=[(lesion, 6.0)]
    )
    assert len(veins) == 40
    for vein in veins:
        axis = vein.points[-1] - vein.points[0]
        assert np.degrees(np.arccos(abs(axis[2]) / np.linalg.norm(axis))) <= 20.0 + 1e-6
        assert 4.0 - 0.5 <= np.linalg.norm(axis) <= 12.0 + 1e-6 and 0.2 <= vein.radius <= 0.5
        assert np.linalg.norm(vein.points - lesion, axis=1).min() >= 6.0
        assert np.all(np.diff(vein.points, axis=0) @ (axis / np.linalg.norm(axis)) <= vein.radius / 2 + 1e-9)


def test_flow_voids_follow_the_large_vessels():
    shift = np.array([60.0, 110.0, 70.0])  # a template-to-grid map: 1 mm voxels
    veins = draw_flow_voids(lambda p: p + shift, (120, 160, 120), 1.0, np.random.default_rng(1), 100, (0.8, 2.0))
    assert len(veins) == len(FLOW_VOID_PATHS)  # no more segments than vessels, each once
    assert len({v.kind for v in veins}) == len(veins)
    for vein in veins:
        start = np.array(FLOW_VOID_PATHS[vein.kind][0]) + shift
        assert np.linalg.norm(vein.points[0] - start) < 8.0  # jittered control points
        assert 0.8 <= vein.radius <= 2.0
        assert np.linalg.norm(np.diff(vein.points, axis=0), axis=1).max() <= vein.radius / 2 + 1e-9
