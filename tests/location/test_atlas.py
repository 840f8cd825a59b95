import numpy as np
import pytest
from _location_cases import LANDMARKS

from cmb_kd.location.atlas import ATLAS_MARGIN_MM, MarsAtlas
from cmb_kd.location.regions import MARS_REGIONS, REGION_CLASS, region_code, region_name

pytestmark = pytest.mark.slow  # the first test builds the atlas from the template (about 10-25 s)


def _template_points(channel: int) -> np.ndarray:
    from cmb_kd.synth.anatomy import load_template

    maps, affine = load_template()
    voxels = np.argwhere(maps[channel] > 0.5)
    return voxels @ affine[:3, :3].T + affine[:3, 3]


@pytest.mark.parametrize("channels, expected", [((4,), "deep"), ((5, 7), "infratentorial")])
def test_agrees_with_the_simulator_classes_voxel_by_voxel(atlas, channels, expected):
    for channel in channels:
        codes = atlas.lookup(_template_points(channel))
        classes = {REGION_CLASS[region_name(int(c))] for c in np.unique(codes)}
        assert classes == {expected}


def test_every_region_is_present_on_both_sides(atlas):
    inverse = np.linalg.inv(atlas.affine)
    midline = int(round(inverse[0, 3]))  # voxel of x = 0
    for code in range(1, len(MARS_REGIONS) + 1):
        assert (atlas.labels[:midline] == code).any() and (atlas.labels[midline + 1 :] == code).any(), code


@pytest.mark.parametrize("point, region", LANDMARKS)
def test_landmarks(atlas, point, region):
    assert region_name(int(atlas.lookup([point])[0])) == region


def test_corpus_callosum_and_capsules(atlas):
    codes = atlas.lookup([(0.0, 5.0, 22.0), (-18.0, -8.0, 6.0)])
    assert [region_name(int(c)) for c in codes] == ["corpus_callosum", "internal_capsule"]


def test_outside_and_margin(atlas):
    far, off_grid = (0.0, 0.0, 150.0), (500.0, 0.0, 0.0)
    assert atlas.lookup([far, off_grid]).tolist() == [0, 0]
    brain = _template_points(3)
    top = brain[np.argmax(brain[:, 2])]
    assert atlas.lookup([top + (0.0, 0.0, ATLAS_MARGIN_MM - 2)])[0] != 0


def test_bad_atlas_and_points():
    with pytest.raises(ValueError, match="labels: expected a uint8"):
        MarsAtlas(labels=np.zeros((2, 2, 2), dtype=np.int32), affine=np.eye(4))
    with pytest.raises(ValueError, match="affine: expected"):
        MarsAtlas(labels=np.zeros((2, 2, 2), dtype=np.uint8), affine=np.zeros((4, 4)))
    atlas = MarsAtlas(labels=np.full((2, 2, 2), region_code("thalamus"), dtype=np.uint8), affine=np.eye(4))
    assert atlas.lookup([(1.0, 0.4, 0.0)]).tolist() == [region_code("thalamus")]
    with pytest.raises(ValueError, match="points_mm: expected finite"):
        atlas.lookup([(1.0, 2.0)])
