import numpy as np
import pytest

from cmb_kd.location.regions import (
    LOCATION_CLASSES,
    MARS_REGIONS,
    OUTSIDE,
    REGION_CLASS,
    region_class,
    region_code,
    region_name,
    side_of,
)


def test_codes_round_trip():
    for name in (OUTSIDE, *MARS_REGIONS):
        assert region_name(region_code(name)) == name
    assert region_code(OUTSIDE) == 0 and region_code(MARS_REGIONS[0]) == 1


@pytest.mark.parametrize(
    "name, expected",
    [("frontal", "lobar"), ("insula", "lobar"), ("thalamus", "deep"), ("periventricular_white_matter", "deep"),
     ("corpus_callosum", "deep"), ("brainstem", "infratentorial"), ("cerebellum", "infratentorial"),
     (OUTSIDE, "unlocated")],
)  # fmt: skip
def test_region_class(name, expected):
    assert region_class(name) == expected


def test_every_region_has_one_of_the_three_classes():
    assert {REGION_CLASS[r] for r in MARS_REGIONS} == set(LOCATION_CLASSES)


@pytest.mark.parametrize("x, side", [(-0.1, "left"), (-40, "left"), (0.0, "right"), (np.float32(12.5), "right")])
def test_side_of(x, side):
    assert side_of(x) == side


@pytest.mark.parametrize(
    "call, match",
    [(lambda: region_code("lobe"), "region: expected one of"), (lambda: region_name(99), "code: expected"),
     (lambda: region_name(True), "code: expected"), (lambda: side_of(float("nan")), "x_mm: expected a finite"),
     (lambda: side_of("left"), "x_mm: expected"), (lambda: region_class("deep"), "region: expected")],
)  # fmt: skip
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
