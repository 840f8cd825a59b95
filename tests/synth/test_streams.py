import numpy as np
import pytest

from cmb_kd.synth.streams import FEATURE_STREAMS, feature_stream


def test_each_feature_has_its_own_spawned_stream():
    for name, key in FEATURE_STREAMS.items():
        expected = np.random.default_rng(np.random.SeedSequence(17, spawn_key=(key,))).random(4)
        np.testing.assert_array_equal(feature_stream(17, name).random(4), expected)


def test_streams_differ_between_features_and_from_the_main_stream():
    main = np.random.default_rng(np.random.SeedSequence(17)).random(4)
    draws = {name: tuple(feature_stream(17, name).random(4)) for name in FEATURE_STREAMS}
    assert len(set(draws.values())) == len(FEATURE_STREAMS)
    assert tuple(main) not in draws.values()
    assert len(set(FEATURE_STREAMS.values())) == len(FEATURE_STREAMS)


def test_unknown_feature_names_the_valid_ones():
    with pytest.raises(ValueError, match=r"name: expected one of \['air', .*got 'colour'"):
        feature_stream(0, "colour")
