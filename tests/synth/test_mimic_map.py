import numpy as np
import pytest

from cmb_kd.synth.mimic_map import MIMIC_LABELS, SUB_VOXEL_MIMICS, dropout_mask, mimic_label_map


def test_label_values_are_distinct_and_fit_uint8():
    values = list(MIMIC_LABELS.values())
    assert len(set(values)) == len(values) and 0 not in values and max(values) < 256
    assert set(SUB_VOXEL_MIMICS) <= set(MIMIC_LABELS)


def test_veins_first_then_sub_voxel_mimics_in_order_then_dropout():
    vein = np.array([0.5, 0.2, 0.0, 0.0, 0.0, 0.0], np.float32)
    thin = np.array([0.9, 0.03, 0.01, 0.0, 0.0, 0.0], np.float32)
    flow = np.array([0.0, 0.9, 0.9, 0.2, 0.0, 0.0], np.float32)
    dropout = np.array([True, True, True, True, True, False])
    out = mimic_label_map(vein, {"thin_vein": thin, "flow_void": flow, "air_pocket": None}, dropout)
    assert out.dtype == np.uint8
    expected = [
        MIMIC_LABELS["vein"],  # a vein keeps its mark
        MIMIC_LABELS["thin_vein"],  # the first sub-voxel mimic over its level wins
        MIMIC_LABELS["flow_void"],  # thin vein below its 0.02 level
        MIMIC_LABELS["susceptibility_dropout"],  # flow void below its 0.3 level
        MIMIC_LABELS["susceptibility_dropout"],
        0,
    ]
    np.testing.assert_array_equal(out, expected)


def test_unknown_sub_voxel_kind_is_refused():
    with pytest.raises(ValueError, match=r"sub_voxel: unknown mimic kinds \['vessel'\]"):
        mimic_label_map(np.zeros(3), {"vessel": np.ones(3)}, np.zeros(3, bool))


def test_dropout_marks_brain_voxels_that_keep_less_than_half_their_signal():
    decay = np.full(4, 2.0, np.float32)
    gain = np.array([1.0, 1.0, 0.5, 1.0], np.float32)
    signal = np.array([900.0, 1100.0, 450.0, 100.0], np.float32) * np.exp(1j * 0.3)
    brain = np.array([1, 1, 1, 0], np.uint8)
    # half of 2 * gain * 1000 is 1000 (500 for the third voxel); the last voxel lies outside the brain
    np.testing.assert_array_equal(dropout_mask(signal, decay, gain, 1000.0, brain), [True, False, True, False])
