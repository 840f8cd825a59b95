"""End-to-end tests of ``cmb-kd infer`` on a generated subject, with untrained weights and bad inputs beside it."""

from __future__ import annotations

import csv
import gzip
import json
import os
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from cmb_kd.cli import main
from cmb_kd.inference import LESION_COLUMNS, SUMMARY_COLUMNS, CMBDetector, default_bundle_dir
from cmb_kd.synth import SynthConfig, simulate_subject


@pytest.fixture(scope="module")
def fast_bundle(tmp_path_factory) -> Path:
    """The shipped inference config on a 2 mm working grid with at most 8 candidates (no weights: untrained)."""
    root = tmp_path_factory.mktemp("bundle")
    config = json.loads((default_bundle_dir() / "configs" / "inference.json").read_text())
    config["working_spacing"] = 2.0
    config["candidate_detector"]["max_candidates"] = 8
    (root / "configs").mkdir()
    (root / "configs" / "inference.json").write_text(json.dumps(config))
    return root


@pytest.fixture(scope="module")
def subject_scan(tmp_path_factory) -> Path:
    """The native x4 thick-slice scan of a small generated subject (2 mm HR grid, 2 x 2 x 8 mm voxels)."""
    subject = simulate_subject(SynthConfig(shape=(96, 112, 88), spacing=2.0, lr_factors=(4,)), seed=3)
    path = tmp_path_factory.mktemp("scans") / "sub-003_T2S_lr-x4.nii.gz"
    lr = subject.lr["x4"]
    image = nib.Nifti1Image(lr.magnitude, lr.affine)
    image.set_qform(lr.affine, code=1)
    nib.save(image, path)
    return path


def _write(path: Path, data: np.ndarray) -> Path:
    nib.save(nib.Nifti1Image(data, np.diag([1.0, 1.0, 3.0, 1.0])), path)
    return path


def _bad_inputs(folder: Path, good: Path) -> dict[str, Path]:
    folder.mkdir()
    volume = np.random.default_rng(0).uniform(1, 10, size=(12, 12, 6)).astype(np.float32)
    bad = {
        "not_nifti": folder / "notes.txt",
        "corrupt_gzip": folder / "corrupt.nii.gz",
        "two_d": _write(folder / "flat.nii.gz", volume[..., 0]),
        "four_d": _write(folder / "series.nii.gz", np.stack([volume] * 3, axis=-1)),
        "nan": _write(folder / "nan.nii.gz", np.where(volume > 5, np.nan, volume).astype(np.float32)),
        "zeros": _write(folder / "zeros.nii.gz", np.zeros_like(volume)),
        "missing": folder / "missing.nii.gz",
    }
    bad["not_nifti"].write_text("not an image")
    payload = gzip.decompress(good.read_bytes())
    bad["corrupt_gzip"].write_bytes(gzip.compress(payload)[: len(payload) // 8])
    return bad


def _fingerprints(paths) -> dict[Path, tuple[bytes, int]]:
    return {p: (p.read_bytes(), os.stat(p).st_mtime_ns) for p in paths if p.exists()}


@pytest.mark.slow
def test_infer_writes_outputs_and_reports_every_bad_input(tmp_path, fast_bundle, subject_scan, capsys) -> None:
    bad = _bad_inputs(tmp_path / "bad", subject_scan)
    inputs = [subject_scan, *bad.values()]
    before = _fingerprints(inputs)
    out = tmp_path / "out"
    argv = ["infer", *map(str, inputs), "--output", str(out), "--bundle", str(fast_bundle), "--allow-untrained"]
    with pytest.warns(UserWarning, match="UNTRAINED"):
        code = main([*argv, "--quiet", "--report"])
    captured = capsys.readouterr()
    assert code != 0

    # one line per failed input, naming the file
    lines = [line for line in captured.err.splitlines() if line.startswith("cmb-kd infer: error:")]
    assert len(lines) == len(bad)
    for path in bad.values():
        assert sum(str(path) in line for line in lines) == 1, path.name
    assert str(subject_scan) not in captured.err

    # the good input is processed and written on its exact grid
    source = nib.load(subject_scan)
    mask = nib.load(out / "sub-003_T2S_lr-x4_cmb_mask.nii.gz")
    assert mask.get_data_dtype() == np.uint8
    assert mask.shape == source.shape
    assert np.allclose(mask.affine, source.affine)
    assert set(np.unique(np.asarray(mask.dataobj))) <= {0, 1}
    with open(out / "sub-003_T2S_lr-x4_cmb_lesions.csv") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        assert tuple(reader.fieldnames) == LESION_COLUMNS
    assert (out / "sub-003_T2S_lr-x4_cmb_report.png").stat().st_size > 0
    with open(out / "cmb_summary.csv") as handle:
        reader = csv.DictReader(handle)
        summary = {row["name"]: row for row in reader}
        assert tuple(reader.fieldnames) == SUMMARY_COLUMNS
    assert summary["sub-003_T2S_lr-x4"]["status"] == "ok"
    assert int(summary["sub-003_T2S_lr-x4"]["count"]) == len(rows)
    assert sum(row["status"] == "failed" for row in summary.values()) == len(bad)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left

    # inputs are never modified
    assert _fingerprints(inputs) == before


@pytest.mark.slow
def test_python_api_matches_the_written_mask(fast_bundle, subject_scan) -> None:
    with pytest.warns(UserWarning, match="UNTRAINED"):
        detector = CMBDetector.from_bundle(fast_bundle, device="cpu", allow_untrained=True)
    result = detector(subject_scan)
    assert result.mask.shape == nib.load(subject_scan).shape
    assert result.count == len(result.lesions)
    assert 0 < len(result.candidates) <= 8


@pytest.mark.slow
def test_phase_beside_the_scan_goes_to_the_clean_up(tmp_path, fast_bundle, subject_scan, capsys) -> None:
    scan = tmp_path / subject_scan.name
    scan.write_bytes(subject_scan.read_bytes())
    source = nib.load(scan)
    rng = np.random.default_rng(0)
    phase = tmp_path / "sub-003_phase_lr-x4.nii.gz"
    nib.save(nib.Nifti1Image(rng.normal(0, 0.1, (8, 8, 8)).astype(np.float32), source.affine), phase)  # off-grid
    argv = ["infer", str(scan), "--bundle", str(fast_bundle), "--allow-untrained", "--quiet"]
    with pytest.warns(UserWarning, match="UNTRAINED"):
        assert main([*argv, "--output", str(tmp_path / "with")]) == 1
    err = capsys.readouterr().err
    assert f"{phase}: phase image of shape (8, 8, 8) is not on the grid of {scan.name}" in err
    with pytest.warns(UserWarning, match="UNTRAINED"):
        assert main([*argv, "--output", str(tmp_path / "without"), "--no-phase"]) == 0
    capsys.readouterr()
    nib.save(nib.Nifti1Image(rng.normal(0, 0.1, source.shape).astype(np.float32), source.affine), phase)
    with pytest.warns(UserWarning, match="UNTRAINED"):
        assert main([*argv, "--output", str(tmp_path / "on_grid"), "--paramagnetic-phase", "positive"]) == 0


def test_unwritable_output_folder_gives_one_clear_error(tmp_path, fast_bundle, capsys) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("a regular file")
    scan = _write(tmp_path / "scan.nii.gz", np.ones((12, 12, 6), dtype=np.float32))
    with pytest.warns(UserWarning, match="UNTRAINED"):
        code = main(
            ["infer", str(scan), "--output", str(blocker / "out"), "--bundle", str(fast_bundle), "--allow-untrained"]
        )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and str(blocker / "out") in err[0] and "cannot create the folder" in err[0]


def test_missing_weights_and_missing_bundle(tmp_path, fast_bundle, capsys) -> None:
    scan = _write(tmp_path / "scan.nii.gz", np.ones((12, 12, 6), dtype=np.float32))
    assert main(["infer", str(scan), "--output", str(tmp_path / "o"), "--bundle", str(fast_bundle)]) == 1
    err = capsys.readouterr().err
    assert str(fast_bundle / "models" / "model.pt") in err and "--allow-untrained" in err
    assert main(["infer", str(scan), "--output", str(tmp_path / "o"), "--bundle", str(tmp_path / "nowhere")]) == 1
    assert "bundle folder not found" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
