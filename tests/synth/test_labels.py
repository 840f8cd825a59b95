import numpy as np
import pytest
from scipy import ndimage

from cmb_kd.synth.labels import lesion_labels, merged_cluster_members, visible_extent
from cmb_kd.synth.lesions import Lesion
from cmb_kd.synth.mimic_map import MIMIC_LABELS

CONNECTIVITY = np.ones((3, 3, 3), dtype=bool)
BOX = (slice(0, 16), slice(0, 16), slice(0, 16))


def _cube(shape, lo, hi):
    out = np.zeros(shape, bool)
    out[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))] = True
    return out


def _lesion(kind, centre, extra=None):
    return Lesion(kind, "deep", 0.5, (1.0, 1.0, 1.0), np.eye(3), centre=np.asarray(centre, float), extra=extra or {})


def test_visible_extent_is_the_dark_component_at_the_centre():
    ratio = np.ones((16, 16, 16), np.float32)
    ratio[_cube(ratio.shape, (6, 6, 6), (9, 9, 9))] = 0.2
    ratio[_cube(ratio.shape, (12, 12, 12), (14, 14, 14))] = 0.1  # another dark blob, not connected
    mask, visible = visible_extent(ratio, np.array([7.2, 7.0, 6.8]), BOX, 0.5)
    assert visible and mask.shape == ratio.shape
    np.testing.assert_array_equal(mask, _cube(ratio.shape, (6, 6, 6), (9, 9, 9)))


def test_a_faint_lesion_keeps_its_darkest_voxel_next_to_the_centre():
    ratio = np.ones((16, 16, 16), np.float32)
    ratio[8, 8, 8], ratio[8, 8, 9] = 0.8, 0.7
    mask, visible = visible_extent(ratio, np.array([8.0, 8.0, 8.0]), BOX, 0.5)
    assert not visible and mask.sum() == 1 and mask[8, 8, 9]


def test_search_box_offsets_the_mask():
    ratio = np.ones((16, 16, 16), np.float32)
    ratio[10, 10, 10] = 0.0
    box = (slice(8, 13), slice(8, 13), slice(8, 13))
    mask, visible = visible_extent(ratio, np.array([10.0, 10.0, 10.0]), box, 0.5)
    assert visible and mask.shape == (5, 5, 5) and mask[2, 2, 2] and mask.sum() == 1


def test_lesion_labels_on_the_hr_and_thick_slice_grids():
    shape = (16, 16, 16)
    background = np.full(shape, 100.0 + 0j, np.complex64)
    clean = background.copy()
    cmb = _cube(shape, (3, 3, 4), (6, 6, 8))  # 3 x 3 x 4 voxels, z 4..7: exactly one x4 slice
    calc = _cube(shape, (10, 10, 9), (12, 12, 11))
    clean[cmb] *= 0.1
    clean[calc] *= 0.3
    placed = [_lesion("cmb", (4.0, 4.0, 5.5)), _lesion("calcification", (10.5, 10.5, 9.5))]
    boxes = [(slice(0, 9), slice(0, 9), slice(1, 11)), (slice(7, 15), slice(7, 15), slice(6, 14))]
    mimic = np.zeros(shape, np.uint8)
    cmb_label, lr, masks = lesion_labels(clean, background, placed, boxes, mimic, 2.0, (2, 4), 0.5)
    assert cmb_label.dtype == np.uint8
    np.testing.assert_array_equal(cmb_label > 0, cmb)
    np.testing.assert_array_equal(mimic == MIMIC_LABELS["calcification"], calc)
    assert placed[0].visible_diameter == pytest.approx((6.0 * 36 * 8.0 / np.pi) ** (1.0 / 3.0))
    assert placed[0].extra == {"visible_hr": True, "visible_lr-x2": True, "visible_lr-x4": True}
    assert placed[1].extra == {"visible_hr": True}  # calcifications get no thick-slice label
    assert sorted(lr) == [2, 4] and [len(m) for m in masks] == [1, 1, 1]
    for factor, (lr_clean, lr_label) in lr.items():
        assert lr_clean.shape == lr_label.shape == (16, 16, 16 // factor)
        np.testing.assert_allclose(lr_clean, clean.reshape(16, 16, 16 // factor, factor).mean(axis=3), rtol=1e-6)
        assert ndimage.label(lr_label, CONNECTIVITY)[1] == 1
    np.testing.assert_array_equal(np.argwhere(lr[4][1])[:, 2], 1)  # the x4 label lies in slice 1 only


@pytest.mark.parametrize(
    "extras, expected",
    [
        (({}, {"cluster": 0}), {1}),  # a member merging with a CMB goes
        (({"cluster": 0}, {"cluster": 0, "cluster_seed": True}), {0}),  # the member, not the seed
        (({}, {}), set()),  # two CMBs outside clusters both stay
    ],
)
def test_merged_cluster_members(extras, expected):
    label = np.zeros((8, 8, 8), np.uint8)
    label[2:6, 3, 3] = 1
    masks = [[((slice(2, 4), slice(3, 4), slice(3, 4)), np.ones((2, 1, 1), bool))] * 2]
    cmbs = [_lesion("cmb", (2, 3, 3), extra) for extra in extras]
    assert merged_cluster_members(cmbs, [label], masks) == expected


def test_separate_components_merge_nothing():
    label = np.zeros((8, 8, 8), np.uint8)
    label[1, 1, 1] = label[6, 6, 6] = 1
    one = np.ones((1, 1, 1), bool)
    masks = [[((slice(1, 2),) * 3, one), ((slice(6, 7),) * 3, one)]]
    cmbs = [_lesion("cmb", (1, 1, 1), {"cluster": 0}), _lesion("cmb", (6, 6, 6), {"cluster": 0})]
    assert merged_cluster_members(cmbs, [label], masks) == set()
