"""The CMB bundle's ``large_files.yml``: the model zoo's list of its weights, with their sha256.

The weights stay in the repository (there is no download address), so the file's role is to let zoo tooling
(``python -m monai.bundle download_large_files``) check them: each listed file must exist with the listed hash,
and every weights file of ``models/`` must be listed.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import yaml
from monai.apps.utils import HashCheckError
from monai.bundle import download_large_files

KEYS = {"path", "url", "hash_val", "hash_type"}
"""The fields of one entry of the zoo's large-files format."""


def _entries(bundle_dir: Path) -> list[dict[str, str]]:
    return yaml.safe_load((bundle_dir / "large_files.yml").read_text())["large_files"]


def test_every_entry_has_the_zoo_fields_and_no_download_address(bundle_dir) -> None:
    entries = _entries(bundle_dir)
    assert entries and all(set(entry) == KEYS for entry in entries), entries
    assert all(entry["hash_type"] == "sha256" and entry["url"] == "" for entry in entries), entries


def test_the_listed_hashes_are_the_files_sha256(bundle_dir) -> None:
    for entry in _entries(bundle_dir):
        path = bundle_dir / entry["path"]
        assert path.is_file(), f"{entry['path']}: listed in large_files.yml but missing"
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest == entry["hash_val"], f"{entry['path']}: sha256 {digest}, listed {entry['hash_val']}"


def test_every_weights_file_is_listed(bundle_dir) -> None:
    weights = {str(path.relative_to(bundle_dir)) for path in (bundle_dir / "models").rglob("*.pt")}
    assert weights == {entry["path"] for entry in _entries(bundle_dir)}


def test_monai_download_large_files_checks_the_present_files(tmp_path, bundle_dir) -> None:
    """MONAI skips a listed file that is present with its hash and refuses one whose hash differs."""
    download_large_files(bundle_path=str(bundle_dir))
    copy = tmp_path / "bundle"
    shutil.copytree(bundle_dir / "models", copy / "models")
    shutil.copy(bundle_dir / "large_files.yml", copy)
    screening = copy / "models" / "screening" / "model.pt"
    screening.write_bytes(screening.read_bytes() + b"\0")
    with pytest.raises(HashCheckError, match="screening"):
        download_large_files(bundle_path=str(copy))
