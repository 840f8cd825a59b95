import numpy as np
import pytest
from scipy import ndimage

from cmb_kd.synth import MIMIC_LABELS, simulate_subject, thick_slices

pytestmark = pytest.mark.slow

CONNECTIVITY = np.ones((3, 3, 3), dtype=bool)


def test_seed_reproduces_subject_bit_for_bit(small_config, small_subject):
    again = simulate_subject(small_config, seed=11)
    for name in ("magnitude", "phase", "swi", "cmb_label", "mimic_label", "brain_mask"):
        np.testing.assert_array_equal(getattr(again, name), getattr(small_subject, name), err_msg=name)
    for key, lr in small_subject.lr.items():
        np.testing.assert_array_equal(again.lr[key].magnitude, lr.magnitude)
    assert again.record() == small_subject.record()


def test_other_seed_gives_other_subject(small_config, small_subject):
    other = simulate_subject(small_config, seed=12)
    assert not np.array_equal(other.brain_mask, small_subject.brain_mask)  # anatomy is deformed per subject


def test_shapes_dtypes_and_affines(small_config, small_subject):
    s = small_subject
    assert s.magnitude.shape == small_config.shape and s.magnitude.dtype == np.float32
    assert s.cmb_label.dtype == np.uint8 and s.brain_mask.dtype == np.uint8
    np.testing.assert_allclose(np.abs(np.diag(s.affine)[:3]), 2.0)
    assert sorted(s.lr) == ["x2", "x4", "x8"]
    for key, lr in s.lr.items():
        f = lr.factor
        assert key == f"x{f}"
        assert lr.magnitude.shape == (96, 112, 88 // f)
        np.testing.assert_allclose(lr.affine[:3, :3], s.affine[:3, :3] @ np.diag([1, 1, f]))


def test_native_thick_slices_are_complex_slab_means(small_subject):
    s = small_subject
    for lr in s.lr.values():
        np.testing.assert_allclose(lr.clean, thick_slices(s.clean, lr.factor), rtol=1e-5, atol=1e-3)
        z = 3
        f = lr.factor
        manual = s.clean[:, :, z * f : (z + 1) * f].mean(axis=2)
        np.testing.assert_allclose(lr.clean[:, :, z], manual, rtol=1e-5, atol=1e-3)


def test_one_label_component_per_cmb_on_every_grid(small_subject):
    s = small_subject
    assert len(s.lesions) >= 2
    _, n_hr = ndimage.label(s.cmb_label, CONNECTIVITY)
    assert n_hr == len(s.lesions)
    for lr in s.lr.values():
        labels, n_lr = ndimage.label(lr.cmb_label, CONNECTIVITY)
        assert n_lr == len(s.lesions)
        for lesion in s.lesions:  # each component sits at its lesion
            c = lesion.centre
            z = (c[2] - (lr.factor - 1) / 2) / lr.factor
            x, y, z = np.clip(np.round([c[0], c[1], z]).astype(int), 0, np.array(lr.cmb_label.shape) - 1)
            assert labels[x - 2 : x + 3, y - 2 : y + 3, max(z - 1, 0) : z + 2].any()


def test_cmbs_darken_the_magnitude_and_lie_in_the_brain(small_subject):
    s = small_subject
    clean, background = np.abs(s.clean), np.abs(s.clean_without_lesions)
    label = s.cmb_label > 0
    assert (clean[label] / background[label]).max() < 0.5 + 1e-6
    assert s.brain_mask[label].all()
    for lesion in s.lesions:
        assert lesion.location in ("lobar", "deep", "infratentorial")
        assert 2.0 <= lesion.visible_diameter <= 12.0


def test_head_has_dark_skull_and_bright_scalp(small_subject):
    s = small_subject
    brain = ndimage.binary_erosion(s.brain_mask > 0, iterations=2)
    distance = ndimage.distance_transform_edt(s.brain_mask == 0, sampling=2.0)
    brain_level = np.median(np.abs(s.clean)[brain])
    # going out from the brain: CSF (bright), skull (dark), scalp (bright), air (no signal)
    profile = [np.median(np.abs(s.clean)[(distance > d) & (distance <= d + 2)]) for d in range(0, 24, 2)]
    skull = int(np.argmin(profile[:5]))
    assert profile[0] > 0.6 * brain_level
    assert profile[skull] < 0.3 * brain_level
    assert max(profile[skull:]) > 0.6 * brain_level
    assert profile[-1] < 0.05 * brain_level


def test_mimics_are_recorded_and_marked(small_subject):
    s = small_subject
    assert (s.mimic_label == MIMIC_LABELS["vein"]).sum() > 50
    kinds = {m.get("kind") for m in s.mimics if m["type"] == "vein"}
    assert {"cortical", "medullary", "sagittal_sinus"} <= kinds
    assert not np.any((s.mimic_label > 0) & (s.cmb_label > 0) & (s.mimic_label == MIMIC_LABELS["calcification"]))
