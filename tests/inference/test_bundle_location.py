"""Tests of default_bundle_dir: the environment variable first, then the bundle beside the package."""

from cmb_kd.inference import BUNDLE_ENV, BUNDLE_NAME, INFERENCE_CONFIG, default_bundle_dir


def test_the_shipped_bundle_is_found_beside_the_package(monkeypatch) -> None:
    monkeypatch.delenv(BUNDLE_ENV, raising=False)
    found = default_bundle_dir()
    assert found.name == BUNDLE_NAME and found.is_absolute() and (found / INFERENCE_CONFIG).is_file()


def test_the_environment_variable_names_another_bundle(tmp_path, monkeypatch) -> None:
    (tmp_path / "configs").mkdir()
    (tmp_path / INFERENCE_CONFIG).write_text("{}")
    monkeypatch.setenv(BUNDLE_ENV, str(tmp_path))
    assert default_bundle_dir() == tmp_path.resolve()


def test_an_environment_variable_that_names_no_bundle_falls_back_to_the_shipped_one(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(BUNDLE_ENV, raising=False)
    shipped = default_bundle_dir()
    monkeypatch.setenv(BUNDLE_ENV, str(tmp_path))
    assert default_bundle_dir() == shipped
