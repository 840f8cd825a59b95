import json
import socket
import subprocess
import sys
from importlib.metadata import version

import pytest
from monai.bundle import verify_metadata
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

# the local schema is a file of this repository, not a download: there is no hash to check
pytestmark = pytest.mark.filterwarnings("ignore:No hash value provided:UserWarning")


def test_verify_metadata_offline_with_local_schema(bundle_dir):
    configs = bundle_dir / "configs"
    verify_metadata(meta_file=str(configs / "metadata.json"), filepath=str(bundle_dir.parent / "meta_schema.json"))


def test_verify_metadata_command_line(bundle_dir):
    cmd = [sys.executable, "-m", "monai.bundle", "verify_metadata", "--meta_file", "configs/metadata.json",
           "--filepath", "../meta_schema.json"]  # fmt: skip
    proc = subprocess.run(cmd, cwd=bundle_dir, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "metadata is verified with no error" in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m.pop("version"), "version"),
        (lambda m: m.update(version="first"), "does not match"),
        (lambda m: m["network_data_format"]["inputs"]["image"].pop("num_channels"), "num_channels"),
        (lambda m: m["network_data_format"]["outputs"]["pred"].update(is_patch_data="yes"), "is not of type"),
    ],
)
def test_verify_metadata_rejects_broken_metadata(tmp_path, bundle_dir, edit, message):
    configs = bundle_dir / "configs"
    meta = json.loads((configs / "metadata.json").read_text())
    edit(meta)
    broken = tmp_path / "metadata.json"
    broken.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=message):
        verify_metadata(meta_file=str(broken), filepath=str(bundle_dir.parent / "meta_schema.json"))


def _metadata(bundle_dir) -> dict:
    return json.loads((bundle_dir / "configs" / "metadata.json").read_text())


def _pins(meta: dict) -> dict[str, str]:
    """Distribution name -> version for everything the metadata pins (MONAI, PyTorch, NumPy and the rest)."""
    core = {"monai": meta["monai_version"], "torch": meta["pytorch_version"], "numpy": meta["numpy_version"]}
    return {**core, **meta["required_packages_version"]}


def test_pred_channel_def_gives_monai_label_the_label_cmb(bundle_dir):
    pred = _metadata(bundle_dir)["network_data_format"]["outputs"]["pred"]
    assert pred["channel_def"] == {"0": "background", "1": "CMB"}
    # how MONAI Label's BundleInferTask turns channel_def into the labels it offers
    labels = {name.lower(): int(value) for value, name in pred["channel_def"].items() if name.lower() != "background"}
    assert labels == {"cmb": 1}
    assert "logit" in _metadata(bundle_dir)["pred_classes"] and "sigmoid" in _metadata(bundle_dir)["pred_classes"]


def test_supported_apps_are_the_package_and_monai_label(bundle_dir):
    assert _metadata(bundle_dir)["supported_apps"] == {"cmb-kd": "", "monai-label": "0.8.5"}


def test_pinned_versions_are_the_installed_ones_and_allowed_by_pyproject(bundle_dir):
    """The versions the metadata pins are those of the environment the bundle was made in, within pyproject's."""
    tomllib = pytest.importorskip("tomllib", reason="reads pyproject.toml with Python 3.11's tomllib")
    pins = _pins(_metadata(bundle_dir))
    # cmb-kd is on no package index: the zoo's requirements step would fail on it (the model card says how to install)
    assert "cmb-kd" not in pins
    pyproject = tomllib.loads((bundle_dir.parents[1] / "pyproject.toml").read_text())
    allowed = {Requirement(line).name: Requirement(line).specifier for line in pyproject["project"]["dependencies"]}
    for name, pinned in pins.items():
        installed = Version(version(name)).public  # torch 2.13.0+cpu is 2.13.0
        assert installed == pinned, f"{name}: metadata pins {pinned}, installed {version(name)}"
        assert name in allowed, f"{name}: pinned by the metadata but not a dependency in pyproject.toml"
        assert allowed[name].contains(pinned), f"{name}: metadata pins {pinned}, pyproject.toml allows {allowed[name]}"


def _pypi_unreachable() -> str | None:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError as err:
        return f"PyPI (pypi.org:443) cannot be reached: {err}"
    return None


@pytest.mark.slow
def test_required_packages_resolve_together_with_pip(tmp_path, bundle_dir):
    """``pip install --dry-run`` of every pin: the set the model zoo installs resolves, and to these very versions.

    Resolution only: pip reads the packages' metadata (PyPI serves it apart from the wheels) and downloads nothing
    large, builds nothing (``--only-binary :all:``). Measured: 9 s without pip's cache, 12 s in pytest beside two
    training processes, on a 2-core CPU whose pip finds the torch wheel in a local index.
    """
    unreachable = _pypi_unreachable()
    if unreachable:
        pytest.skip(unreachable)
    pins = _pins(_metadata(bundle_dir))
    report = tmp_path / "report.json"
    options = ["--dry-run", "--quiet", "--ignore-installed", "--only-binary", ":all:", "--report", str(report)]
    cmd = [sys.executable, "-m", "pip", "install", *options, *(f"{name}=={pin}" for name, pin in pins.items())]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    resolved = {
        canonicalize_name(item["metadata"]["name"]): Version(item["metadata"]["version"]).public
        for item in json.loads(report.read_text())["install"]
    }
    assert {name: resolved.get(canonicalize_name(name)) for name in pins} == pins
