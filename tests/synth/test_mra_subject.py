import dataclasses
import json

import numpy as np
import pytest

from cmb_kd.synth import MRAConfig, simulate_mra_subject


def test_subject_is_on_the_tubetk_spacing_with_a_binary_label(small_mra_subject):
    subject = small_mra_subject
    shape = MRAConfig.small().shape
    np.testing.assert_allclose(np.diag(subject.affine), [0.5, 0.5, 0.8, 1.0])
    for array, dtype in ((subject.image, np.float32), (subject.label, np.uint8), (subject.brain_mask, np.uint8)):
        assert array.shape == shape and array.dtype == dtype
    assert set(np.unique(subject.label)) == {0, 1} and set(np.unique(subject.brain_mask)) == {0, 1}
    assert np.all(subject.label[subject.fraction >= 0.5] == 1) and subject.image.min() >= 0.0


def test_vessels_are_bright_over_the_suppressed_brain(small_mra_subject):
    subject = small_mra_subject
    vessel = subject.image[subject.fraction >= 0.9].mean()
    brain = subject.image[(subject.brain_mask > 0) & (subject.fraction == 0)].mean()
    assert vessel > 2.5 * brain


def test_inflow_fades_along_every_vessel_from_the_start_of_its_root(small_mra_subject):
    tree = small_mra_subject.tree
    lengths = tree.path_lengths()
    for index, segment in enumerate(tree.segments):
        signal, time = small_mra_subject.inflow[index], small_mra_subject.inflow_time[index]
        assert np.all(np.diff(signal) < 0) and np.all(np.diff(time) > 0) and np.all(np.diff(lengths[index]) > 0)
        if segment.parent >= 0:
            assert signal[0] == small_mra_subject.inflow[segment.parent][segment.parent_point]
        else:
            assert signal[0] == pytest.approx(1.0)
    ends = [(lengths[i][-1], small_mra_subject.inflow[i][-1]) for i in range(len(tree))]
    far, near = (np.mean([s for length, s in ends if cut(length)]) for cut in (lambda d: d > 80, lambda d: d < 40))
    assert far < near  # the farther from the circle of Willis, the fainter


def test_same_seed_same_subject_and_the_streams_are_independent(small_mra_subject):
    config = MRAConfig.small()
    again = simulate_mra_subject(config, seed=3)
    np.testing.assert_array_equal(again.image, small_mra_subject.image)
    np.testing.assert_array_equal(again.label, small_mra_subject.label)
    assert json.dumps(again.record()) == json.dumps(small_mra_subject.record())
    noisier = simulate_mra_subject(dataclasses.replace(config, snr_range=(3.0, 4.0)), seed=3)
    np.testing.assert_array_equal(noisier.label, small_mra_subject.label)  # the physics draws leave the tree alone
    assert not np.array_equal(noisier.image, small_mra_subject.image)
    other = simulate_mra_subject(config, seed=4)
    assert not np.array_equal(other.label, small_mra_subject.label)


def test_record_describes_physics_pose_and_tree(small_mra_subject):
    record = json.loads(json.dumps(small_mra_subject.record()))
    assert record["seed"] == 3 and record["grid"]["spacing_mm"] == [0.5, 0.5, 0.8]
    assert {"repetition_time_s", "flip_angle_degrees", "snr", "noise_sigma", "value_type"} <= set(record["physics"])
    segments = record["tree"]["segments"]
    assert len(segments) == record["tree"]["n_segments"] == len(small_mra_subject.tree)
    assert segments[0]["name"] == "basilar" and segments[0]["parent"] == -1
    assert {"points_mm", "radii_mm", "parent", "parent_point", "generation", "inflow_signal"} <= set(segments[1])
    assert record["label"]["vessel_voxels"] == int(small_mra_subject.label.sum())
