"""Tests of cmb_kd.evaluation.shift_domains: the held-out domains name existing physics and scanner presets."""

from __future__ import annotations

from cmb_kd.evaluation import DOMAINS, PHYSICS, physics_config


def test_domains_name_existing_physics_and_scanner_presets() -> None:
    from cmb_kd.synth import SCANNER_PRESETS

    assert len(DOMAINS) >= 6
    for domain in DOMAINS.values():
        assert domain.physics in PHYSICS and domain.scanner in SCANNER_PRESETS
        physics_config(domain.physics, "small")  # a valid simulator config
