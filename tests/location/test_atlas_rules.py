import numpy as np
import pytest

from cmb_kd.location import atlas_rules as rules
from cmb_kd.location.regions import region_name


@pytest.mark.parametrize(
    "point, lobe",
    [((-38, -22, 62), "frontal"), ((40, 30, 30), "frontal"), ((25, 35, -18), "frontal"), ((-42, -40, 55), "parietal"),
     ((45, -65, 35), "parietal"), ((-55, 0, -20), "temporal"), ((40, 15, -32), "temporal"),
     ((-28, -22, -14), "temporal"),
     ((55, -55, 5), "temporal"), ((20, -95, 0), "occipital"), ((-5, -80, 30), "occipital"), ((38, 0, 5), "insula"),
     ((-36, 10, -2), "insula"), ((6, -50, 12), "parietal")],
)  # fmt: skip
def test_lobes_of_textbook_mni_points(point, lobe):
    x, y, z = (np.array([v], dtype=float) for v in point)
    assert region_name(int(rules.lobe_codes(x, y, z)[0])) == lobe


def test_lobes_are_mirror_symmetric():
    rng = np.random.default_rng(0)
    x, y, z = rng.uniform(-70, 70, 500), rng.uniform(-100, 70, 500), rng.uniform(-40, 80, 500)
    np.testing.assert_array_equal(rules.lobe_codes(x, y, z), rules.lobe_codes(-x, y, z))


def test_planes_and_masks():
    assert rules.central_sulcus_y(np.array([0.0, 30.0]))[0] == rules.central_sulcus_y(np.array([30.0]))[0]
    assert rules.central_sulcus_y(np.array([72.0]))[0] < -35
    assert rules.sylvian_z(np.array([-40.0]))[0] > rules.sylvian_z(np.array([10.0]))[0]
    assert rules.corpus_callosum_mask(np.array([0.0, 0.0]), np.array([0.0, 0.0]), np.array([20.0, 50.0])).tolist() == [
        True,
        False,
    ]
    csf, depth, x = np.array([0.9, 0.9, 0.2]), np.array([20.0, 5.0, 20.0]), np.zeros(3)
    assert rules.ventricle_mask(csf, depth, x, np.ones(3, dtype=bool)).tolist() == [True, False, False]
