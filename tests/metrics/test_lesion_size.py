import numpy as np
import pytest

from cmb_kd.metrics import compute_lesion_counts, equivalent_diameters, split_by_diameter


def _two_lesions():
    mask = np.zeros((20, 20, 10), np.uint8)
    mask[2, 2, 2] = 1  # one voxel of 0.5 x 0.5 x 4 mm: 1 mm^3, diameter 1.24 mm
    mask[10:14, 10:14, 4:6] = 1  # 32 voxels: 32 mm^3, diameter 3.94 mm
    return mask


def test_equivalent_diameters_are_those_of_the_sphere_of_the_volume():
    labels, diameters = equivalent_diameters(_two_lesions(), (0.5, 0.5, 4.0))
    assert labels.max() == 2
    np.testing.assert_allclose(sorted(diameters), [(6 / np.pi) ** (1 / 3), (6 * 32 / np.pi) ** (1 / 3)])


def test_split_gives_the_tpr_of_each_size_class():
    reference = _two_lesions()
    small, large = split_by_diameter(reference, (0.5, 0.5, 4.0), 2.0)
    assert small.sum() == 1 and large.sum() == 32 and not (small & large).any()
    assert np.array_equal(small | large, reference > 0)
    prediction = np.zeros_like(reference)
    prediction[11, 11, 4] = 1  # finds the large lesion only
    assert compute_lesion_counts(prediction, small).tp == 0
    assert compute_lesion_counts(prediction, large).tp == 1
    empty_small, empty_large = split_by_diameter(np.zeros((4, 4, 4)), (1, 1, 1), 2.0)
    assert not empty_small.any() and not empty_large.any()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"spacing": (1, 1)}, "spacing: expected three positive numbers"),
        ({"spacing": (1, 0, 1)}, "spacing: expected three positive numbers"),
        ({"diameter_mm": 0}, "diameter_mm: expected a positive number"),
        ({"connectivity": 4}, "connectivity: expected one of"),
    ],
)
def test_bad_arguments(kwargs, match):
    arguments = {"mask": np.zeros((4, 4, 4)), "spacing": (1, 1, 1), "diameter_mm": 2.0, **kwargs}
    with pytest.raises(ValueError, match=match):
        split_by_diameter(**arguments)
