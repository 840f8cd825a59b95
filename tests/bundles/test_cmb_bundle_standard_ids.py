"""The standard ids of inference.json mean what MONAI and MONAI Label take them to mean, and they are the pipeline
the detector runs: ``preprocessing``, ``inferer(inputs, network)``, ``postprocessing``, ``dataset``, ``evaluator``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from monai.bundle import ConfigParser, create_workflow
from monai.transforms import Compose, LoadImaged, MapTransform, SaveImaged

from cmb_kd.inference import CMBDetector
from cmb_kd.synth import SynthConfig, write_cohort

BUNDLE = Path(__file__).resolve().parents[2] / "bundles" / "cmb_lr_mri_segmentation"
CONFIG = BUNDLE / "configs" / "inference.json"
FAST = {"working_spacing": 2.0, "candidate_detector#max_candidates": 8}


@pytest.fixture(scope="module")
def scan(tmp_path_factory) -> Path:
    """A native x4 scan of one subject on a 2 mm HR grid, with lesions the shipped model finds."""
    folder = tmp_path_factory.mktemp("cohort")
    config = SynthConfig(shape=(96, 112, 88), spacing=2.0, lr_factors=(4,))
    write_cohort(folder, n_subjects=1, seed=5, config=config, overwrite=True, progress=False)
    return folder / "sub-001" / "sub-001_T2S_lr-x4.nii.gz"


def _parser(output_dir: Path, **settings) -> ConfigParser:
    parser = ConfigParser()
    parser.read_config(str(CONFIG))
    parser["bundle_root"] = str(BUNDLE)
    parser["device"] = "cpu"
    parser["output_dir"] = str(output_dir)
    for key, value in {**FAST, **settings}.items():
        parser[key] = value
    return parser


def test_the_inference_workflow_has_every_property_monai_checks() -> None:
    workflow = create_workflow(
        config_file=str(CONFIG),
        workflow_type="inference",
        meta_file=str(BUNDLE / "configs" / "metadata.json"),
        bundle_root=str(BUNDLE),
        device="cpu",
    )
    assert workflow.check_properties() == []  # raises for a missing required id (dataset, evaluator, ...)


def test_preprocessing_and_postprocessing_are_composes_of_dictionary_transforms(tmp_path) -> None:
    parser = _parser(tmp_path)
    pre, post = parser.get_parsed_content("preprocessing"), parser.get_parsed_content("postprocessing")
    assert isinstance(pre, Compose) and isinstance(post, Compose)
    assert isinstance(pre.transforms[0], LoadImaged) and pre.transforms[0].keys[0] == "image"
    assert isinstance(post.transforms[-1], SaveImaged)
    assert all(isinstance(t, MapTransform) for t in [*pre.transforms, *post.transforms])


def test_the_standard_ids_as_monai_label_calls_them_give_the_detectors_mask(tmp_path, scan) -> None:
    parser = _parser(tmp_path)
    network = parser.get_parsed_content("network")
    data = parser.get_parsed_content("preprocessing")({"image": str(scan)})
    inputs = data["image"][None]  # one volume, as MONAI Label batches it
    with torch.no_grad():
        data["pred"] = parser.get_parsed_content("inferer")(inputs, network)[0]  # no candidates given
    post = [t for t in parser.get_parsed_content("postprocessing").transforms if not isinstance(t, SaveImaged)]
    data = Compose(post)(data)

    detected = CMBDetector.from_bundle(BUNDLE, device="cpu", overrides=FAST)(scan)
    image = nib.load(scan)
    mask = np.asarray(data["pred"][0])
    assert mask.shape == image.shape and np.allclose(data["pred"].affine.numpy(), image.affine, atol=1e-4)
    assert detected.count > 0  # the shipped model finds CMBs on this scan ...
    assert np.array_equal(mask, detected.mask)  # ... and the standard ids find the same voxels
    assert np.array_equal(np.asarray(data["probability"][0]), detected.probability)


@pytest.mark.slow
def test_the_evaluator_run_writes_the_detectors_mask(tmp_path, scan) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(scan, data)
    overrides = [f"--{key}" if not key.startswith("--") else key for key in FAST]
    settings = [item for key, value in zip(overrides, FAST.values()) for item in (key, str(value))]
    command = [sys.executable, "-m", "monai.bundle", "run", "--config_file", "configs/inference.json"]
    command += ["--run_id", "run_evaluator", "--dataset_dir", str(data), "--output_dir", str(tmp_path / "out")]
    done = subprocess.run([*command, *settings], cwd=BUNDLE, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    written = nib.load(tmp_path / "out" / "sub-001_T2S_lr-x4_cmb_mask.nii.gz")
    detected = CMBDetector.from_bundle(BUNDLE, device="cpu", overrides=FAST)(scan)
    assert np.allclose(written.affine, nib.load(scan).affine, atol=1e-4)
    assert np.array_equal(np.asarray(written.dataobj), detected.mask)
