import json
import subprocess
import sys

import pytest
from monai.bundle import verify_metadata

# the local schema is a file of this repository, not a download: there is no hash to check
pytestmark = pytest.mark.filterwarnings("ignore:No hash value provided:UserWarning")


def test_verify_metadata_offline_with_local_schema(bundle_dir):
    configs = bundle_dir / "configs"
    verify_metadata(meta_file=str(configs / "metadata.json"), filepath=str(configs / "meta_schema.json"))


def test_verify_metadata_command_line(bundle_dir):
    cmd = [sys.executable, "-m", "monai.bundle", "verify_metadata", "--meta_file", "configs/metadata.json",
           "--filepath", "configs/meta_schema.json"]  # fmt: skip
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
        verify_metadata(meta_file=str(broken), filepath=str(configs / "meta_schema.json"))
