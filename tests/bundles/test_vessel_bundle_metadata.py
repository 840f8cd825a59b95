"""The vessel bundle's metadata: valid against the bundles' shared schema, with the CMB bundle's conventions."""

import json
import subprocess
import sys
from importlib.metadata import version

import pytest
from monai.bundle import verify_metadata
from packaging.requirements import Requirement
from packaging.version import Version

# the local schema is a file of this repository, not a download: there is no hash to check
pytestmark = pytest.mark.filterwarnings("ignore:No hash value provided:UserWarning")


def _metadata(bundle_dir) -> dict:
    return json.loads((bundle_dir / "configs" / "metadata.json").read_text())


def test_verify_metadata_offline_with_the_shared_schema(vessel_bundle_dir) -> None:
    schema = vessel_bundle_dir.parent / "meta_schema.json"
    verify_metadata(meta_file=str(vessel_bundle_dir / "configs" / "metadata.json"), filepath=str(schema))


def test_verify_metadata_command_line(vessel_bundle_dir) -> None:
    cmd = [sys.executable, "-m", "monai.bundle", "verify_metadata", "--meta_file", "configs/metadata.json",
           "--filepath", "../meta_schema.json"]  # fmt: skip
    proc = subprocess.run(cmd, cwd=vessel_bundle_dir, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "metadata is verified with no error" in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m.pop("network_data_format"), "network_data_format"),
        (lambda m: m.update(version="0.1"), "does not match"),
        (lambda m: m["network_data_format"]["outputs"]["pred"].pop("dtype"), "dtype"),
    ],
)
def test_verify_metadata_rejects_broken_metadata(tmp_path, vessel_bundle_dir, edit, message) -> None:
    meta = _metadata(vessel_bundle_dir)
    edit(meta)
    broken = tmp_path / "metadata.json"
    broken.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=message):
        verify_metadata(meta_file=str(broken), filepath=str(vessel_bundle_dir.parent / "meta_schema.json"))


def test_version_changelog_and_data_format(vessel_bundle_dir) -> None:
    meta = _metadata(vessel_bundle_dir)
    assert meta["version"] == "0.1.0" and next(iter(meta["changelog"])) == meta["version"]
    assert meta["authors"] == "cmb_kd developers" and meta["supported_apps"] == {"cmb-kd": ""}
    image = meta["network_data_format"]["inputs"]["image"]
    pred = meta["network_data_format"]["outputs"]["pred"]
    assert image["spatial_shape"] == pred["spatial_shape"] == [64, 64, 32]  # the paper's patch
    assert image["num_channels"] == pred["num_channels"] == 1
    assert pred["channel_def"] == {"0": "background", "1": "vessel"}


def test_measured_figures_come_with_the_weights(vessel_bundle_dir) -> None:
    """No eval_metrics before the bundle ships trained weights, and none missing once it does."""
    shipped = (vessel_bundle_dir / "models" / "model.pt").is_file()
    assert ("eval_metrics" in _metadata(vessel_bundle_dir)) == shipped
    card = (vessel_bundle_dir / "docs" / "README.md").read_text()
    assert ("not yet measured" in card) != shipped


def test_pinned_versions_are_the_installed_ones_and_allowed_by_pyproject(vessel_bundle_dir) -> None:
    tomllib = pytest.importorskip("tomllib", reason="reads pyproject.toml with Python 3.11's tomllib")
    meta = _metadata(vessel_bundle_dir)
    pins = {"monai": meta["monai_version"], "torch": meta["pytorch_version"], "numpy": meta["numpy_version"]}
    pins |= meta["required_packages_version"]
    cmb = json.loads((vessel_bundle_dir.parent / "cmb_lr_mri_segmentation" / "configs" / "metadata.json").read_text())
    assert (cmb["monai_version"], cmb["pytorch_version"]) == (pins["monai"], pins["torch"])  # one environment
    pyproject = tomllib.loads((vessel_bundle_dir.parents[1] / "pyproject.toml").read_text())
    allowed = {Requirement(line).name: Requirement(line).specifier for line in pyproject["project"]["dependencies"]}
    for name, pinned in pins.items():
        assert Version(version(name)).public == pinned, f"{name}: metadata pins {pinned}, installed {version(name)}"
        assert name in allowed and allowed[name].contains(pinned), f"{name} {pinned} not allowed by pyproject.toml"
