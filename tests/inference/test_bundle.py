"""Tests of cmb_kd.inference.bundle: the shipped bundle found (the environment variable first, then beside the
package), the inference config found or named missing, a component built with settings, the error of a component
surfaced as itself."""

import json

import pytest

from cmb_kd.inference import (
    BUNDLE_ENV,
    BUNDLE_NAME,
    INFERENCE_CONFIG,
    CleanupRules,
    build_bundle_component,
    default_bundle_dir,
    inference_config_file,
)


def _bundle(tmp_path, config: dict):
    (tmp_path / "configs").mkdir()
    (tmp_path / INFERENCE_CONFIG).write_text(json.dumps(config))
    return tmp_path


def test_the_config_of_a_bundle_folder_or_of_the_shipped_bundle(tmp_path) -> None:
    assert inference_config_file() == default_bundle_dir() / INFERENCE_CONFIG
    (tmp_path / "bundle").mkdir()
    root = _bundle(tmp_path / "bundle", {})
    assert inference_config_file(root) == root / "configs" / "inference.json"
    with pytest.raises(FileNotFoundError, match="bundle folder not found; expected a folder holding configs/"):
        inference_config_file(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="bundle inference config not found"):
        inference_config_file(tmp_path)


def test_settings_are_set_before_the_component_is_built(tmp_path) -> None:
    config = {
        "imports": ["$import math"],
        "bundle_root": ".",
        "base": 1,
        "total": "$@base + math.floor(2.5)",
        "root": "$@bundle_root",
        "rules": {"_target_": "cmb_kd.inference.CleanupRules", "min_diameter_mm": "@base"},
    }
    config_file = inference_config_file(_bundle(tmp_path, config))
    assert build_bundle_component(config_file, "total", {}) == 3
    assert build_bundle_component(config_file, "total", {"base": 5}) == 7
    assert build_bundle_component(config_file, "root", {}) == str(tmp_path.resolve())
    rules = build_bundle_component(config_file, "rules", {"base": 3.0})
    assert isinstance(rules, CleanupRules) and rules.min_diameter_mm == 3.0


def test_what_a_component_raises_is_surfaced_as_itself(tmp_path) -> None:
    config = {
        "rules": {"_target_": "cmb_kd.inference.CleanupRules", "min_diameter_mm": -1.0},
        "broken": {"_target_": "cmb_kd.inference.CleanupRules", "no_such_rule": 1},
    }
    config_file = inference_config_file(_bundle(tmp_path, config))
    with pytest.raises(ValueError, match="min_diameter_mm: expected a finite number > 0") as info:
        build_bundle_component(config_file, "rules", {})
    assert isinstance(info.value.__cause__, RuntimeError)
    with pytest.raises(RuntimeError, match="no_such_rule|CleanupRules"):  # not a missing file or a bad value
        build_bundle_component(config_file, "broken", {})


def test_the_shipped_bundle_is_found_beside_the_package(monkeypatch) -> None:
    monkeypatch.delenv(BUNDLE_ENV, raising=False)
    found = default_bundle_dir()
    assert found.name == BUNDLE_NAME and found.is_absolute() and (found / INFERENCE_CONFIG).is_file()


def test_the_environment_variable_names_another_bundle(tmp_path, monkeypatch) -> None:
    (tmp_path / "configs").mkdir()
    (tmp_path / INFERENCE_CONFIG).write_text("{}")
    monkeypatch.setenv(BUNDLE_ENV, str(tmp_path))
    assert default_bundle_dir() == tmp_path.resolve()


def test_an_environment_variable_that_names_no_bundle_is_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(BUNDLE_ENV, str(tmp_path))
    with pytest.raises(
        FileNotFoundError, match=f"{BUNDLE_ENV} names no bundle .* or unset {BUNDLE_ENV} for the shipped"
    ):
        default_bundle_dir()
