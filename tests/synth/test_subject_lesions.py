import dataclasses

import numpy as np
import pytest
from scipy import ndimage

from cmb_kd.synth.config import SynthConfig
from cmb_kd.synth.subject_lesions import draw_subject_lesions, randomise_lesions, region_candidates

CONFIG = SynthConfig(
    shape=(32, 32, 32), spacing=2.0, cmb_p_zero=0.0, cmb_count_mean=4.0, cmb_location_weights=(0.0, 1.0, 0.0),
    cmb_min_separation=2.0, calcification_count_range=(0, 0),
)  # fmt: skip


@pytest.fixture(scope="module")
def inside(toy_anatomy):
    return ndimage.distance_transform_edt(toy_anatomy.brain >= 0.5, sampling=2.0).astype(np.float32)


def _at(mask, voxels):
    return mask[tuple(np.asarray(voxels).T)] if len(voxels) else np.zeros(0, bool)


def test_candidates_lie_in_their_regions_and_away_from_veins(toy_anatomy, inside):
    vein = np.zeros(toy_anatomy.brain.shape, np.float32)
    vein[16, 16, 21] = 1.0  # a vein through the deep region
    candidates, tissue = region_candidates(toy_anatomy, inside, vein, CONFIG)
    assert set(candidates) == {"lobar", "deep", "infratentorial", "basal_ganglia", "choroid_plexus"}
    assert len(candidates["deep"]) > 0 and _at(toy_anatomy.deep_region > 0.5, candidates["deep"]).all()
    assert _at(inside >= 4.0, candidates["deep"]).all()
    assert np.min(np.abs(candidates["deep"] - [16, 16, 21]).max(axis=1)) > 2  # outside the vein's 5-voxel filter
    assert len(candidates["choroid_plexus"]) > 0 and _at(toy_anatomy.csf > 0.6, candidates["choroid_plexus"]).all()
    assert len(candidates["lobar"]) == 0  # the toy brain has no mixed grey-white voxel
    assert not tissue[16, 16, 21] and tissue.sum() > 0


def test_juxtacortical_and_posterior_fossa_classes_exist_when_switched_on(toy_anatomy, inside):
    config = dataclasses.replace(CONFIG, cmb_juxtacortical_fraction=0.2, cmb_posterior_fossa_fraction=0.2)
    candidates, _ = region_candidates(toy_anatomy, inside, np.zeros_like(inside), config)
    juxta, fossa = candidates["juxtacortical"], candidates["posterior_fossa"]
    assert len(juxta) > 0 and _at((inside >= 1.0) & (inside <= 3.0) & (toy_anatomy.gm > 0.5), juxta).all()
    assert _at(toy_anatomy.posterior_fossa < 0.5, juxta).all()
    assert len(fossa) > 0 and _at((toy_anatomy.posterior_fossa > 0.5) & (inside >= 1.5), fossa).all()


def test_lesions_are_drawn_in_their_class_and_replay_with_the_seed(toy_anatomy, inside):
    vein = np.zeros_like(inside)
    first = draw_subject_lesions(np.random.default_rng(2), CONFIG, 2, toy_anatomy, inside, vein, 3.0, 0.02)
    again = draw_subject_lesions(np.random.default_rng(2), CONFIG, 2, toy_anatomy, inside, vein, 3.0, 0.02)
    assert len(first) > 0 and [lesion.record() for lesion in first] == [lesion.record() for lesion in again]
    candidates, _ = region_candidates(toy_anatomy, inside, vein, CONFIG)
    for lesion in first:
        assert lesion.kind == "cmb" and lesion.location == "deep"
        assert np.min(np.abs(candidates["deep"] - lesion.centre).max(axis=1)) <= 0.5  # a candidate voxel, jittered
        np.testing.assert_allclose(lesion.centre_mm, toy_anatomy.affine[:3, :3] @ lesion.centre - 32.0)


def test_randomisation_off_keeps_the_lesions_and_tiny_cmbs_keep_their_centres(toy_anatomy, inside):
    vein = np.zeros_like(inside)
    placed = draw_subject_lesions(np.random.default_rng(5), CONFIG, 5, toy_anatomy, inside, vein, 3.0, 0.02)
    candidates, tissue = region_candidates(toy_anatomy, inside, vein, CONFIG)
    records = [lesion.record() for lesion in placed]
    kept = randomise_lesions(list(placed), candidates, tissue, toy_anatomy.affine, CONFIG, 3.0, 0.02, 5)
    assert [lesion.record() for lesion in kept] == records
    tiny_config = dataclasses.replace(CONFIG, cmb_tiny_fraction=1.0)
    tiny = randomise_lesions(list(placed), candidates, tissue, toy_anatomy.affine, tiny_config, 3.0, 0.02, 5)
    assert len(tiny) == len(placed)
    for small, big in zip(tiny, placed, strict=True):
        assert small.extra == {"tiny": True} and small.centre is big.centre
        low, high = tiny_config.cmb_tiny_diameter_range
        assert low <= small.target_diameter <= high
