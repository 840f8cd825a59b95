"""Tests of CleanupRules: defaults, every setting checked at the door, the phase sign looked up."""

import dataclasses

import pytest

from cmb_kd.inference import CLEANUP_RULES, PARAMAGNETIC_PHASE_SIGNS, CleanupRules


def test_defaults_and_rules_off() -> None:
    rules = CleanupRules()
    assert (rules.min_diameter_mm, rules.max_diameter_mm, rules.max_elongation) == (2.0, 10.0, 3.0)
    assert rules.paramagnetic_phase == "negative" and rules.reject_calcification
    off = CleanupRules(min_diameter_mm=None, max_diameter_mm=None, max_elongation=None, brain_margin_mm=None)
    assert off.min_diameter_mm is None and off.brain_margin_mm is None
    assert CLEANUP_RULES == ("min_diameter", "max_diameter", "elongation", "brain_margin", "phase_sign")
    assert PARAMAGNETIC_PHASE_SIGNS == ("negative", "positive")
    with pytest.raises(dataclasses.FrozenInstanceError):
        rules.min_diameter_mm = 1.0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"min_diameter_mm": -1.0}, "min_diameter_mm: expected a finite number > 0"),
        ({"max_diameter_mm": float("inf")}, "max_diameter_mm: expected a finite number > 0"),
        ({"min_diameter_mm": 5.0, "max_diameter_mm": 3.0}, "expected min <= max"),
        ({"max_elongation": 0.5}, "max_elongation: expected a ratio >= 1"),
        ({"brain_margin_mm": -2.0}, "brain_margin_mm: expected a finite number >= 0"),
        ({"min_inside_fraction": 0.0}, r"min_inside_fraction: expected a fraction in \(0, 1\]"),
        ({"reject_calcification": "yes"}, "reject_calcification: expected True or False"),
        ({"paramagnetic_phase": "negativ"}, "negative"),
        ({"calcification_fit": 1.0}, "calcification_fit: expected a correlation margin in \\[0, 1\\)"),
        ({"phase_max_spacing_mm": 0}, "phase_max_spacing_mm: expected a finite number > 0"),
    ],
)
def test_bad_rules(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CleanupRules(**kwargs)
