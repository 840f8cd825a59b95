import json

import numpy as np
import pytest
from _location_cases import LANDMARKS, subject_points

from cmb_kd.location.burden import BURDEN_COLUMNS
from cmb_kd.location.locate import LESION_LOCATION_COLUMNS, assign_regions, locate
from cmb_kd.location.registration import RegistrationSettings

#: Deep inside their regions (at least ~5 mm from a border), so a registration error of a few mm keeps them there.
LESIONS = (
    ((-25.0, 3.0, 1.0), "basal_ganglia", "left"),
    ((11.0, -18.0, 7.0), "thalamus", "right"),
    ((3.0, -28.0, -30.0), "brainstem", "right"),
    ((-25.0, -70.0, -35.0), "cerebellum", "left"),
    ((-40.0, 30.0, 30.0), "frontal", "left"),
)


@pytest.mark.slow
def test_assign_regions_of_landmarks(atlas):
    regions, sides = assign_regions([point for point, _ in LANDMARKS], atlas)
    assert list(regions) == [region for _, region in LANDMARKS]
    assert list(sides) == ["left" if point[0] < 0 else "right" for point, _ in LANDMARKS]
    assert assign_regions([], atlas) == ((), ())


@pytest.mark.slow
def test_locate_lesions_of_a_deformed_subject(atlas, deformed_subject):
    image, affine, mask, params = deformed_subject
    points = subject_points(np.array([p for p, _, _ in LESIONS]), params, affine)
    result = locate(image, affine, mask, points, settings=RegistrationSettings(deformable=False), atlas=atlas)
    assert list(result.regions) == [r for _, r, _ in LESIONS]
    assert list(result.sides) == [s for _, _, s in LESIONS]
    assert result.classes == ("deep", "deep", "infratentorial", "infratentorial", "lobar")
    assert tuple(result.row()) == BURDEN_COLUMNS and result.row()["n_cmb"] == 5 and result.row()["mixed"]
    summary = json.loads(json.dumps(result.summary()))
    assert tuple(summary["lesions"][0]) == LESION_LOCATION_COLUMNS
    assert summary["burden_class"] == ">=5"


@pytest.mark.parametrize(
    "centroids, match",
    [([[1.0, 2.0]], "centroids_mm: expected \\(N, 3\\)"), ([[np.nan, 0.0, 0.0]], "centroids_mm: expected finite"),
     ("lesions", "centroids_mm: expected")],
)  # fmt: skip
def test_bad_centroids(centroids, match):
    with pytest.raises(ValueError, match=match):
        locate(np.ones((4, 4, 4)), np.eye(4), np.ones((4, 4, 4)), centroids)
