"""The vessel bundle's inference.json from the command line (``python -m monai.bundle run``) on an MRA volume, and
its standard ids on an LR input made from an HR volume, as the paper tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from matplotlib.image import imread
from monai.bundle import ConfigParser
from monai.transforms import Compose

from cmb_kd.transforms import DegradeResolutiond

pytestmark = pytest.mark.filterwarnings("ignore:.*UNTRAINED:UserWarning")


def _listing(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


@pytest.mark.slow
def test_monai_bundle_run_writes_a_vessel_mask_and_a_mip_picture(tmp_path, vessel_bundle_dir, mra_cohort) -> None:
    data = tmp_path / "data"
    shutil.copytree(mra_cohort / "sub-004", data)  # an angiogram with its label and brain mask beside it
    out = tmp_path / "out"
    before = _listing(vessel_bundle_dir)
    command = [
        sys.executable, "-m", "monai.bundle", "run", "--config_file", "configs/inference.json",
        "--dataset_dir", str(data), "--output_dir", str(out), "--allow_untrained", "True", "--device", "cpu",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=vessel_bundle_dir, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert _listing(vessel_bundle_dir) == before  # nothing written into the bundle
    assert sorted(p.name for p in out.iterdir()) == ["sub-004_TOF_vessel_mask.nii.gz", "sub-004_TOF_vessel_mip.png"]
    scan, mask = nib.load(data / "sub-004_TOF.nii.gz"), nib.load(out / "sub-004_TOF_vessel_mask.nii.gz")
    assert mask.shape == scan.shape and mask.get_data_dtype() == np.uint8
    assert np.allclose(mask.affine, scan.affine, atol=1e-4)
    assert set(np.unique(np.asarray(mask.dataobj))) <= {0, 1}
    picture = imread(out / "sub-004_TOF_vessel_mip.png")
    # three panels of square 0.5 mm pixels: axial 64 rows high, coronal and sagittal 33 slices of 0.8 mm
    assert picture.shape[0] == 64 and picture.shape[1] == 66 + 4 + 66 + 4 + 64


@pytest.mark.slow
def test_a_run_with_an_unusable_input_ends_with_an_error_after_the_good_ones(tmp_path, vessel_bundle_dir, mra_cohort):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(mra_cohort / "sub-004" / "sub-004_TOF.nii.gz", data)
    (data / "broken.nii.gz").write_bytes(b"not gzip")
    command = [
        sys.executable, "-m", "monai.bundle", "run", "--config_file", "configs/inference.json",
        "--dataset_dir", str(data), "--output_dir", str(tmp_path / "out"), "--allow_untrained", "True",
        "--device", "cpu",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=vessel_bundle_dir, capture_output=True, text=True, timeout=600)
    assert done.returncode != 0
    assert "broken.nii.gz" in done.stdout + done.stderr  # logged by the bundle's logging.conf
    assert (tmp_path / "out" / "sub-004_TOF_vessel_mask.nii.gz").is_file()


def test_the_standard_ids_degrade_an_hr_volume_and_map_the_mask_back_onto_it(tmp_path, vessel_bundle_dir, mra_cohort):
    """``--input_factor [2,2,2]``: the paper's LR input (1/2 in every axis, then up) made from an HR volume of odd
    size (66×64×33), segmented and mapped back onto the volume's own grid."""
    parser = ConfigParser()
    parser.read_config(str(vessel_bundle_dir / "configs" / "inference.json"))
    overrides = {"bundle_root": str(vessel_bundle_dir), "device": "cpu", "output_dir": str(tmp_path)}
    overrides |= {"allow_untrained": True, "input_factor": [2, 2, 2]}
    for key, value in overrides.items():
        parser[key] = value
    scan = mra_cohort / "sub-004" / "sub-004_TOF.nii.gz"
    preprocessing = parser.get_parsed_content("preprocessing")
    data = preprocessing({"image": str(scan)})
    degrade = [t for t in preprocessing.transforms if isinstance(t, DegradeResolutiond)]
    assert degrade[0].factor == (2, 2, 2) and tuple(data["image"].shape) == (1, 66, 64, 34)
    network, inferer = parser.get_parsed_content("network"), parser.get_parsed_content("inferer")
    with torch.no_grad():
        data["pred"] = inferer(data["image"][None], network)[0]
    Compose(parser.get_parsed_content("postprocessing").transforms)(data)
    mask = nib.load(tmp_path / "sub-004_TOF_vessel_mask.nii.gz")
    assert mask.shape == (66, 64, 33) and np.allclose(mask.affine, nib.load(scan).affine, atol=1e-4)
    assert (tmp_path / "sub-004_TOF_vessel_mip.png").is_file()
