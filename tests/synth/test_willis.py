import numpy as np
import pytest

from cmb_kd.synth.willis import WILLIS_ARTERIES, circle_of_willis


def _draw(seed=0, **kwargs):
    return circle_of_willis(np.random.default_rng(seed), **kwargs)


def test_every_named_artery_is_drawn_once_per_side():
    tree, variants = _draw()
    names = [s.name for s in tree.segments]
    expected = {"basilar", "anterior_communicating"}
    expected |= {f"{name}_{side}" for name in WILLIS_ARTERIES for side in "lr"} - {
        "basilar_l", "basilar_r", "anterior_communicating_l", "anterior_communicating_r"
    }  # fmt: skip
    assert variants == {} and sorted(names) == sorted(expected) and len(names) == len(set(names))
    roots = [s.name for s in tree.segments if s.parent == -1]
    assert sorted(roots) == ["basilar", "internal_carotid_l", "internal_carotid_r"]


def test_arteries_start_on_their_parent_and_communicating_arteries_end_on_the_one_they_join():
    tree, _ = _draw(seed=1)
    for segment in tree.segments:
        if segment.parent >= 0:
            parent = tree.segments[segment.parent]
            np.testing.assert_allclose(segment.points[0], parent.points[segment.parent_point], atol=1e-9)
            assert segment.generation == parent.generation + 1
            side = segment.name[-2:]
            assert parent.name == "basilar" or parent.name.endswith(side) or segment.name == "anterior_communicating"
        if segment.joins >= 0:
            joined = tree.segments[segment.joins].points
            assert np.linalg.norm(joined - segment.points[-1], axis=1).min() < 1e-9
    assert tree.segments[tree.index("anterior_communicating")].joins == tree.index("anterior_cerebral_r")
    assert tree.segments[tree.index("posterior_communicating_l")].joins == tree.index("posterior_cerebral_l")


def test_centrelines_are_smooth_and_radii_stay_in_the_arterial_range():
    tree, _ = _draw(seed=2, radius_scale=1.15, tortuosity_mm=2.0)
    for segment in tree.segments:
        steps = np.linalg.norm(np.diff(segment.points, axis=0), axis=1)
        assert steps.max() <= 0.5 + 1e-6
        assert 0.3 <= segment.radii.min() and segment.radii.max() <= 3.0
    carotid = tree.segments[tree.index("internal_carotid_r")]
    assert carotid.radii.max() > 2.0 and carotid.points[:, 0].mean() > 0  # right is +x (RAS)


def test_variants_drop_a_communicating_artery_or_make_a_fetal_posterior_cerebral_artery():
    tree, variants = _draw(seed=3, pcomm_absent_probability=1.0, acomm_absent_probability=1.0)
    names = {s.name for s in tree.segments}
    assert not names & {"posterior_communicating_l", "posterior_communicating_r", "anterior_communicating"}
    assert set(variants.values()) == {"absent"} and len(variants) == 3
    fetal, variants = _draw(seed=3, fetal_pca_probability=1.0)
    assert variants == {"posterior_cerebral_l": "fetal", "posterior_cerebral_r": "fetal"}
    for side in "lr":
        p1 = fetal.segments[fetal.index(f"posterior_cerebral_{side}")].radii[0]
        pcomm = fetal.segments[fetal.index(f"posterior_communicating_{side}")].radii[0]
        assert pcomm > 1.5 * p1


def test_a_missing_artery_changes_no_other_artery():
    full, _ = _draw(seed=4)
    missing, _ = _draw(seed=4, acomm_absent_probability=1.0)
    for segment in missing.segments:
        np.testing.assert_array_equal(segment.points, full.segments[full.index(segment.name)].points)


@pytest.mark.parametrize("seed", [0, 5])
def test_the_same_generator_state_draws_the_same_arteries(seed):
    first, second = _draw(seed)[0], _draw(seed)[0]
    assert all(np.array_equal(a.points, b.points) for a, b in zip(first.segments, second.segments, strict=True))
    other = _draw(seed + 1)[0]
    assert not np.array_equal(first.segments[0].points, other.segments[0].points)
