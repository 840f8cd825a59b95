"""End-to-end tests of ``cmb-kd infer`` on a generated subject, with untrained weights and bad inputs beside it."""

from __future__ import annotations

import csv
import gzip
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from _inference_helpers import hold_lock, release
from scipy import ndimage

from cmb_kd.cli import main
from cmb_kd.inference import (
    LESION_COLUMNS,
    LOCK_NAME,
    SUMMARY_COLUMNS,
    CMBDetector,
    DetectionResult,
    default_bundle_dir,
)
from cmb_kd.synth import LRAcquisition, SynthConfig, simulate_subject


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
def subject_x4() -> LRAcquisition:
    """The native x4 thick-slice acquisition of a small generated subject (2 mm HR grid, 2 x 2 x 8 mm voxels)."""
    return simulate_subject(SynthConfig(shape=(96, 112, 88), spacing=2.0, lr_factors=(4,)), seed=3).lr["x4"]


@pytest.fixture(scope="module")
def subject_scan(tmp_path_factory, subject_x4) -> Path:
    """The magnitude of :func:`subject_x4` as a NIfTI file."""
    path = tmp_path_factory.mktemp("scans") / "sub-003_T2S_lr-x4.nii.gz"
    lr = subject_x4
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
        "inf": _write(folder / "inf.nii.gz", np.where(volume > 5, np.inf, volume).astype(np.float32)),
        "zeros": _write(folder / "zeros.nii.gz", np.zeros_like(volume)),
        "missing": folder / "missing.nii.gz",
    }
    bad["not_nifti"].write_text("not an image")
    payload = gzip.decompress(good.read_bytes())
    bad["corrupt_gzip"].write_bytes(gzip.compress(payload)[: len(payload) // 8])
    return bad


def _fingerprints(paths) -> dict[Path, tuple[bytes, int]]:
    return {p: (p.read_bytes(), os.stat(p).st_mtime_ns) for p in paths if p.exists()}


def _failure_lines(caplog) -> list[str]:
    """The failed inputs logged by the batch run, at level WARNING or above (what shows without -v)."""
    name = "cmb_kd.inference.batch_inference"
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and r.name == name]


def _summary_rows(folder: Path) -> dict[str, dict[str, str]]:
    with open(folder / "cmb_summary.csv", newline="") as handle:
        return {row["name"]: row for row in csv.DictReader(handle)}


@pytest.mark.slow
def test_infer_writes_outputs_and_reports_every_bad_input(tmp_path, fast_bundle, subject_scan, capsys, caplog) -> None:
    bad = _bad_inputs(tmp_path / "bad", subject_scan)
    inputs = [subject_scan, *bad.values()]
    before = _fingerprints(inputs)
    out = tmp_path / "out"
    argv = ["infer", *map(str, inputs), "--output", str(out), "--bundle", str(fast_bundle), "--allow-untrained"]
    with pytest.warns(UserWarning, match="UNTRAINED"):
        code = main([*argv, "--quiet", "--report"])
    captured = capsys.readouterr()
    assert code != 0

    # one warning line per failed input, naming the file, then one last line with their number and the summary
    lines = _failure_lines(caplog)
    assert len(lines) == len(bad) and all("\n" not in line for line in lines)
    for path in bad.values():
        assert sum(str(path) in line for line in lines) == 1, path.name
    last = f"cmb-kd infer: error: {len(bad)} of {len(inputs)} input(s) failed; see {out / 'cmb_summary.csv'}"
    assert captured.err.strip().splitlines() == [last]

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
    page = (out / "sub-003_T2S_lr-x4_cmb_report.html").read_text(encoding="utf-8")
    assert page.count("<tr><td") == len(rows) and "sub-003_T2S_lr-x4" in page
    with open(out / "cmb_summary.csv") as handle:
        reader = csv.DictReader(handle)
        summary = {row["name"]: row for row in reader}
        assert tuple(reader.fieldnames) == SUMMARY_COLUMNS
    assert summary["sub-003_T2S_lr-x4"]["status"] == "ok"
    assert int(summary["sub-003_T2S_lr-x4"]["count"]) == len(rows)
    assert sum(row["status"] == "failed" for row in summary.values()) == len(bad)
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [LOCK_NAME]  # no temporary file left

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
    assert result.brain_mask.shape == result.mask.shape and result.brain_mask.dtype == bool  # what locate() registers


@pytest.mark.slow
def test_phase_beside_the_scan_goes_to_the_clean_up(tmp_path, fast_bundle, subject_scan, caplog) -> None:
    scan = tmp_path / subject_scan.name
    scan.write_bytes(subject_scan.read_bytes())
    source = nib.load(scan)
    rng = np.random.default_rng(0)
    phase = tmp_path / "sub-003_phase_lr-x4.nii.gz"
    nib.save(nib.Nifti1Image(rng.normal(0, 0.1, (8, 8, 8)).astype(np.float32), source.affine), phase)  # off-grid
    argv = ["infer", str(scan), "--bundle", str(fast_bundle), "--allow-untrained", "--quiet"]
    with pytest.warns(UserWarning, match="UNTRAINED"):
        assert main([*argv, "--output", str(tmp_path / "with")]) == 1
    message = f"{phase}: phase image of shape (8, 8, 8) is not on the grid of {scan.name}"
    assert any(message in line for line in _failure_lines(caplog))
    with pytest.warns(UserWarning, match="UNTRAINED"):
        assert main([*argv, "--output", str(tmp_path / "without"), "--no-phase"]) == 0
    nib.save(nib.Nifti1Image(rng.normal(0, 0.1, source.shape).astype(np.float32), source.affine), phase)
    with pytest.warns(UserWarning, match="UNTRAINED"):
        assert main([*argv, "--output", str(tmp_path / "on_grid"), "--paramagnetic-phase", "positive"]) == 0


def _scans_not_what_they_claim(folder: Path, subject_scan: Path) -> dict[str, Path]:
    """A good scan and images made from it that are not (plausible) T2*/SWI magnitude scans, as NIfTI files."""
    source = nib.load(subject_scan)
    magnitude = np.asarray(source.dataobj, dtype=np.float32)
    four_mm = source.affine.copy()
    four_mm[:3, 2] *= 0.5  # the same voxels as 2 x 2 x 4 mm: within the validated thickness
    ten_mm = source.affine.copy()
    ten_mm[:3, 2] *= 1.25
    grades = np.digitize(magnitude, np.percentile(magnitude, [50, 80, 95])).astype(np.uint8)  # values 0..3
    images = {
        "good": (magnitude, four_mm),
        "mask": ((magnitude > np.percentile(magnitude, 50)).astype(np.uint8), four_mm),
        "label": (grades, four_mm),
        "negative": (-magnitude - 1.0, four_mm),
        "inverted": (magnitude.max() - magnitude, four_mm),
        "thick": (magnitude, ten_mm),
    }
    folder.mkdir()
    paths = {}
    for index, (kind, (data, affine)) in enumerate(images.items()):
        paths[kind] = folder / f"sub-{101 + index}_T2S.nii.gz"
        nib.save(nib.Nifti1Image(data, affine), paths[kind])
    return paths


@pytest.mark.slow
def test_infer_refuses_masks_and_labels_and_warns_about_doubtful_scans(
    tmp_path, fast_bundle, subject_scan, capsys, caplog
) -> None:
    scans = _scans_not_what_they_claim(tmp_path / "scans", subject_scan)
    out = tmp_path / "out"
    argv = ["infer", *map(str, scans.values()), "--output", str(out), "--bundle", str(fast_bundle)]
    with pytest.warns(UserWarning, match="UNTRAINED"), caplog.at_level(logging.WARNING):
        code = main([*argv, "--allow-untrained", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1  # refused inputs are failures; warnings alone do not change the exit status

    with open(out / "cmb_summary.csv") as handle:
        reader = csv.DictReader(handle)
        rows = {row["name"]: row for row in reader}
        assert tuple(reader.fieldnames) == SUMMARY_COLUMNS and SUMMARY_COLUMNS[3:5] == ("message", "warnings")
    summary = {kind: rows[f"sub-{101 + index}_T2S"] for index, kind in enumerate(scans)}
    refused = {
        "mask": r"only 2 distinct voxel value\(s\) \(0, 1\): a mask or a label map, not a scan",
        "label": r"only 4 distinct voxel value\(s\) \(0, 1, 2, 3\)",
        "negative": r"no positive intensity",
    }
    for kind, problem in refused.items():
        row = summary[kind]
        assert row["status"] == "failed" and row["count"] == "" and row["warnings"] == ""
        assert row["message"].startswith(f"{scans[kind]}: ") and re.search(problem, row["message"]), row["message"]
        assert row["message"].count("expected") == 1 and "expected a T2*/SWI magnitude scan" in row["message"]
        assert [r for r in caplog.records if r.levelno >= logging.WARNING and r.getMessage() == row["message"]]
        assert not (out / f"sub-{101 + list(scans).index(kind)}_T2S_cmb_mask.nii.gz").exists()

    # the good scan is processed without a warning; the doubtful ones are processed and warned
    assert summary["good"]["status"] == "ok" and summary["good"]["warnings"] == ""
    for kind in ("good", "inverted", "thick"):
        assert summary[kind]["status"] == "ok" and summary[kind]["message"] == ""
        assert (out / f"sub-{101 + list(scans).index(kind)}_T2S_cmb_mask.nii.gz").is_file()
    assert "contrast looks inverted" in summary["inverted"]["warnings"]
    assert summary["thick"]["warnings"].startswith("slices of 10 mm are thicker than the 8 mm the model was trained")
    assert str(scans["good"]) not in err and str(scans["thick"]) not in err
    warned = [
        r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "slices of 10 mm" in r.getMessage()
    ]
    assert warned == [f"{scans['thick']}: {summary['thick']['warnings']}"]  # the log line names the file


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


def _infer(scans, out: Path, bundle: Path, *extra: str) -> int:
    with pytest.warns(UserWarning, match="UNTRAINED"):
        return main(
            ["infer", *map(str, scans), "--output", str(out), "--bundle", str(bundle), "--allow-untrained", *extra]
        )


def test_sequential_runs_into_one_folder_accumulate_in_the_summary(tmp_path, fast_bundle, capsys) -> None:
    constant = _write(tmp_path / "constant.nii.gz", np.ones((12, 12, 6), dtype=np.float32))
    out = tmp_path / "out"
    assert _infer([constant], out, fast_bundle, "--quiet") == 1
    assert _infer([tmp_path / "missing.nii.gz"], out, fast_bundle, "--quiet") == 1
    rows = _summary_rows(out)
    assert list(rows) == ["constant", "missing"]  # the first run's row is kept
    assert "constant image" in rows["constant"]["message"] and "path not found" in rows["missing"]["message"]
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"cmb-kd infer: error: 1 of 1 input(s) failed; see {out / 'cmb_summary.csv'}"


def test_second_infer_into_a_locked_folder_is_refused(tmp_path, fast_bundle, capsys) -> None:
    scan = _write(tmp_path / "scan.nii.gz", np.ones((12, 12, 6), dtype=np.float32))
    out = tmp_path / "out"
    out.mkdir()
    holder = hold_lock(out)
    try:
        assert _infer([scan], out, fast_bundle, "--quiet") == 1
    finally:
        release(holder)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"cmb-kd infer: error: {out}: another cmb-kd infer run is writing")
    assert [p.name for p in out.iterdir()] == [LOCK_NAME]  # nothing written


@pytest.mark.slow
def test_two_infer_processes_into_one_folder(tmp_path, fast_bundle) -> None:
    scan = _write(tmp_path / "scan.nii.gz", np.ones((12, 12, 6), dtype=np.float32))
    out = tmp_path / "out"
    out.mkdir()
    (out / "cmb_summary.csv").write_text("name,count,status,message\nearlier,0,ok,\n")
    command = [sys.executable, "-m", "cmb_kd", "infer", str(scan), "--output", str(out), "--bundle", str(fast_bundle)]
    command += ["--allow-untrained", "--quiet"]
    holder = hold_lock(out)  # another run, writing into the folder
    try:
        refused = subprocess.run(command, capture_output=True, text=True, timeout=300)
    finally:
        release(holder)
    errors = [line for line in refused.stderr.splitlines() if line.startswith("cmb-kd infer: error:")]
    assert refused.returncode == 1 and len(errors) == 1, refused.stderr[-2000:]
    assert f"{out}: another cmb-kd infer run is writing into this folder" in errors[0]
    assert "Traceback" not in refused.stderr
    assert list(_summary_rows(out)) == ["earlier"]
    assert sorted(p.name for p in out.iterdir()) == sorted(["cmb_summary.csv", LOCK_NAME])  # nothing written

    # once the other run has ended: the scan's error shows without -v, on one line, and the summary keeps both rows
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert sum(f"{scan}: constant image" in line for line in lines) == 1
    assert lines[-1] == f"cmb-kd infer: error: 1 of 1 input(s) failed; see {out / 'cmb_summary.csv'}"
    assert list(_summary_rows(out)) == ["earlier", "scan"]


def test_weights_that_do_not_fit_the_network_give_one_line(tmp_path, fast_bundle, capsys) -> None:
    from monai.bundle import ConfigParser

    bundle = tmp_path / "bundle"
    (bundle / "models").mkdir(parents=True)
    (bundle / "configs").mkdir()
    (bundle / "configs" / "inference.json").write_text((fast_bundle / "configs" / "inference.json").read_text())
    parser = ConfigParser()
    parser.read_config(str(bundle / "configs" / "inference.json"))
    state = parser.get_parsed_content("network_def").state_dict()
    first = next(iter(state))
    state[first] = torch.zeros(*state[first].shape[:-1], state[first].shape[-1] + 1)  # a shape that does not fit
    state["extra.weight"] = torch.zeros(1)
    torch.save(state, bundle / "models" / "model.pt")
    scan = _write(tmp_path / "scan.nii.gz", np.ones((12, 12, 6), dtype=np.float32))
    assert main(["infer", str(scan), "--output", str(tmp_path / "out"), "--bundle", str(bundle)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err  # PyTorch's own message spans many lines
    assert err[0].startswith(f"cmb-kd infer: error: {bundle / 'models' / 'model.pt'}: not a checkpoint of this E2UNet")
    assert "1 unexpected key(s) ('extra.weight')" in err[0] and f"{first!r} (" in err[0] and "expected" in err[0]
    assert not (tmp_path / "out").exists()


def test_bundle_config_that_does_not_build_gives_one_line(tmp_path, fast_bundle, capsys) -> None:
    config = json.loads((fast_bundle / "configs" / "inference.json").read_text())
    config["network_def"]["bogus_option"] = 1
    bundle = tmp_path / "bundle"
    (bundle / "configs").mkdir(parents=True)
    (bundle / "configs" / "inference.json").write_text(json.dumps(config))
    scan = _write(tmp_path / "scan.nii.gz", np.ones((12, 12, 6), dtype=np.float32))
    argv = ["infer", str(scan), "--output", str(tmp_path / "out"), "--bundle", str(bundle), "--allow-untrained"]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    assert err[0].startswith(f"cmb-kd infer: error: {bundle / 'configs' / 'inference.json'}: cannot build the detector")
    assert "TypeError" in err[0] and "bogus_option" in err[0]


class _MaskRecorder:
    """Stand-in for the bundle's detector: records the brain mask it is given per scan and finds nothing."""

    def __init__(self) -> None:
        self.brain_masks: dict[str, np.ndarray | None] = {}

    def __call__(self, data, affine, *, phase=None, brain_mask=None, name=None) -> DetectionResult:
        self.brain_masks[Path(name).name] = brain_mask
        empty = np.zeros(data.shape, dtype=np.uint8)
        return DetectionResult(empty, empty.astype(np.float32), affine, [], 0, [], {"load": 0.0})


@pytest.fixture
def recorder(monkeypatch) -> _MaskRecorder:
    """The detector ``cmb-kd infer`` builds, replaced by a :class:`_MaskRecorder` (no bundle, no network)."""
    stand_in = _MaskRecorder()
    monkeypatch.setattr(CMBDetector, "from_bundle", staticmethod(lambda *args, **kwargs: stand_in))
    return stand_in


def _mask(seed: int, shape=(8, 9, 6)) -> np.ndarray:
    return (np.random.default_rng(seed).uniform(size=shape) > 0.5).astype(np.uint8)


def _infer_masks(inputs, out: Path, brain_mask: str) -> int:
    return main(["infer", *map(str, inputs), "--output", str(out), "--brain-mask", brain_mask, "--quiet"])


def test_brain_mask_file_for_one_scan(tmp_path, write_nifti, recorder, capsys) -> None:
    scan = write_nifti(tmp_path / "scans" / "sub-001_T2S.nii.gz")
    other = write_nifti(tmp_path / "scans" / "sub-002_T2S.nii.gz")
    given = _mask(1).astype(np.float32)
    given[0] = np.nan  # a NaN background is no brain
    mask = write_nifti(tmp_path / "brain.nii.gz", given)
    assert _infer_masks([scan], tmp_path / "out", str(mask)) == 0
    np.testing.assert_array_equal(recorder.brain_masks["sub-001_T2S.nii.gz"], np.nan_to_num(given) != 0)
    # one file for several scans is refused before any scan runs
    assert _infer_masks([scan, other], tmp_path / "out2", str(mask)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"cmb-kd infer: error: {mask}: one brain mask file given for 2 scans; expected a folder of brain masks named "
        "like the scans, or 'beside' for masks in the scans' own folders"
    ]
    assert not (tmp_path / "out2" / "cmb_summary.csv").exists() and "sub-002_T2S.nii.gz" not in recorder.brain_masks


def test_location_option_reaches_the_run(tmp_path, write_nifti, recorder, monkeypatch) -> None:
    import cmb_kd.inference

    seen = []
    run = cmb_kd.inference.run_inference

    def recording(*args, **kwargs):
        seen.append(kwargs["location"])
        return run(*args, **kwargs)

    monkeypatch.setattr(cmb_kd.inference, "run_inference", recording)
    scan = write_nifti(tmp_path / "scans" / "sub-001_T2S.nii.gz")
    assert main(["infer", str(scan), "--output", str(tmp_path / "out"), "--quiet"]) == 0
    assert main(["infer", str(scan), "--output", str(tmp_path / "out"), "--quiet", "--location"]) == 0
    assert seen == [False, True]


def test_brain_mask_folder_named_like_the_scans(tmp_path, write_nifti, recorder) -> None:
    scans = [write_nifti(tmp_path / "scans" / f"{name}.nii.gz") for name in ("case01", "case02", "sub-003_T2S")]
    masks = tmp_path / "masks"
    names = {"case01": "case01.nii", "case02": "case02_brainmask.nii.gz", "sub-003_T2S": "sub-003_brainmask.nii.gz"}
    for index, name in enumerate(names.values()):
        write_nifti(masks / name, _mask(index))
    write_nifti(masks / "brainmask.nii.gz", _mask(9))  # not the mask of the one-token names
    assert _infer_masks([tmp_path / "scans"], tmp_path / "out", str(masks)) == 0
    for index, scan in enumerate(names):
        np.testing.assert_array_equal(recorder.brain_masks[f"{scan}.nii.gz"], _mask(index) != 0)
    assert len(scans) == len(recorder.brain_masks)


def test_brain_masks_beside_the_scans_missing_and_off_grid(tmp_path, write_nifti, recorder, caplog) -> None:
    cohort = tmp_path / "cohort"
    for subject in ("sub-001", "sub-002", "sub-003"):
        write_nifti(cohort / subject / f"{subject}_T2S_lr-x4.nii.gz")
    write_nifti(cohort / "sub-001" / "sub-001_brainmask_lr-x4.nii.gz", _mask(1))  # as cmb-kd synth writes it
    off_grid = write_nifti(cohort / "sub-003" / "sub-003_brainmask_lr-x4.nii.gz", _mask(3, (8, 9, 5)))
    out = tmp_path / "out"
    with caplog.at_level(logging.WARNING):
        assert _infer_masks([cohort], out, "beside") == 1
    np.testing.assert_array_equal(recorder.brain_masks["sub-001_T2S_lr-x4.nii.gz"], _mask(1) != 0)
    rows = _summary_rows(out)
    assert rows["sub-001_T2S_lr-x4"]["status"] == "ok"
    missing = rows["sub-002_T2S_lr-x4"]["message"]
    scan = cohort / "sub-002" / "sub-002_T2S_lr-x4.nii.gz"
    assert missing.startswith(
        f"{scan}: no brain mask in {cohort / 'sub-002'} (looked for sub-002_T2S_lr-x4_brainmask.nii.gz, "
        "brainmask_T2S_lr-x4.nii.gz, sub-002_brainmask_lr-x4.nii.gz, sub-002_T2S_brainmask.nii.gz, or .nii); expected"
    )
    assert rows["sub-003_T2S_lr-x4"]["message"] == (
        f"{off_grid}: brain mask of shape (8, 9, 5) is not on the grid of sub-003_T2S_lr-x4.nii.gz (shape (8, 9, 6)); "
        "expected the brain mask on the scan's grid: same shape and affine"
    )
    assert set(recorder.brain_masks) == {"sub-001_T2S_lr-x4.nii.gz"}  # no scan ran without its mask
    failures = _failure_lines(caplog)
    assert failures == [rows["sub-002_T2S_lr-x4"]["message"], rows["sub-003_T2S_lr-x4"]["message"]]


def test_brain_mask_path_that_is_not_there(tmp_path, write_nifti, recorder, capsys) -> None:
    scan = write_nifti(tmp_path / "sub-001_T2S.nii.gz")
    assert _infer_masks([scan], tmp_path / "out", str(tmp_path / "nowhere")) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"cmb-kd infer: error: {tmp_path / 'nowhere'}: brain mask path not found; expected a NIfTI brain mask, a "
        "folder of them, or 'beside' for masks beside the scans"
    ]
    assert not (tmp_path / "out").exists() and not recorder.brain_masks


@pytest.mark.slow
def test_valdo_folder_with_nan_background_through_infer_and_evaluate(
    tmp_path, fast_bundle, subject_x4, capsys, caplog
) -> None:
    """VALDO's layout: skull-stripped ``desc-masked`` scans with a NaN background, references with NaN too."""
    brain = subject_x4.brain_mask > 0
    valdo = tmp_path / "valdo"
    (valdo / "sub-003").mkdir(parents=True)
    scan = valdo / "sub-003" / "sub-003_space-T2S_desc-masked_T2S.nii.gz"
    reference = valdo / "sub-003" / "sub-003_space-T2S_CMB.nii.gz"
    for path, data in ((scan, subject_x4.magnitude), (reference, subject_x4.cmb_label)):
        nib.save(nib.Nifti1Image(np.where(brain, data, np.nan).astype(np.float32), subject_x4.affine), path)
    out = tmp_path / "out"
    with pytest.warns(UserWarning, match="UNTRAINED"), caplog.at_level(logging.INFO, logger="cmb_kd"):
        code = main(
            ["infer", str(valdo), "--output", str(out), "--bundle", str(fast_bundle), "--allow-untrained", "--report"]
        )
    assert code == 0, capsys.readouterr().err
    assert (out / "sub-003_space-T2S_desc-masked_T2S_cmb_report.png").stat().st_size > 0  # NaN drawn as 0
    pre_masked = [r.getMessage() for r in caplog.records if "pre-masked scan" in r.getMessage()]
    assert len(pre_masked) == 1 and pre_masked[0].startswith(f"{scan}: pre-masked scan: its non-zero region is")
    mask = nib.load(out / "sub-003_space-T2S_desc-masked_T2S_cmb_mask.nii.gz")
    assert mask.shape == brain.shape and np.allclose(mask.affine, subject_x4.affine)
    assert not np.asarray(mask.dataobj)[~brain].any()  # nothing where the scan is NaN
    assert _summary_rows(out)["sub-003_space-T2S_desc-masked_T2S"]["status"] == "ok"

    assert main(["evaluate", "--pred", str(out), "--ref", str(valdo), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert [s["reference"] for s in metrics["subjects"]] == ["sub-003/sub-003_space-T2S_CMB.nii.gz"]
    assert metrics["warnings"] == []  # the NaN background of the reference is 0, not a grade
    lesions = ndimage.label(subject_x4.cmb_label > 0, structure=np.ones((3, 3, 3)))[1]
    assert lesions > 0 and metrics["metrics"]["n_ref"] == lesions  # every CMB counted, NaN as 0


@pytest.fixture(scope="module")
def trained_fast_bundle(tmp_path_factory) -> Path:
    """The shipped inference config and weights on a 2 mm working grid with at most 8 candidates: the same network
    on every process, so that their detections can be compared."""
    root = tmp_path_factory.mktemp("trained_bundle")
    config = json.loads((default_bundle_dir() / "configs" / "inference.json").read_text())
    config.update(working_spacing=2.0, model_dir=str(default_bundle_dir() / "models"))
    config["candidate_detector"]["max_candidates"] = 8
    (root / "configs").mkdir()
    (root / "configs" / "inference.json").write_text(json.dumps(config))
    return root


@pytest.fixture(scope="module")
def x4_cohort(tmp_path_factory) -> Path:
    """Three generated subjects' native x4 scans with their brain masks beside them (no skull stripping: fast), and
    a blank scan that sorts first."""
    folder = tmp_path_factory.mktemp("x4_cohort")
    for seed in (3, 4, 5):
        lr = simulate_subject(SynthConfig(shape=(96, 112, 88), spacing=2.0, lr_factors=(4,)), seed=seed).lr["x4"]
        nib.save(nib.Nifti1Image(lr.magnitude, lr.affine), folder / f"sub-00{seed}_T2S_lr-x4.nii.gz")
        nib.save(nib.Nifti1Image(lr.brain_mask, lr.affine), folder / f"sub-00{seed}_brainmask_lr-x4.nii.gz")
    nib.save(nib.Nifti1Image(np.zeros_like(lr.magnitude), lr.affine), folder / "sub-000_T2S_lr-x4.nii.gz")
    nib.save(nib.Nifti1Image(lr.brain_mask, lr.affine), folder / "sub-000_brainmask_lr-x4.nii.gz")
    return folder


def _outputs(folder: Path) -> dict[str, tuple[int, int]]:
    """The files of an output folder but the summary and the lock, with their inode and modification time."""
    return {
        str(p.relative_to(folder)): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file() and p.name not in ("cmb_summary.csv", LOCK_NAME)
    }


@pytest.mark.slow
@pytest.mark.skipif(not torch.distributed.is_gloo_available(), reason="needs the gloo backend")
def test_infer_distributed_on_two_processes_writes_what_one_process_writes(
    tmp_path, trained_fast_bundle, x4_cohort
) -> None:
    args = [str(x4_cohort), "--bundle", str(trained_fast_bundle), "--brain-mask", "beside", "--quiet"]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(sys.path))
    one = subprocess.run(
        [sys.executable, "-m", "cmb_kd", "infer", *args, "--output", str(tmp_path / "one")],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert one.returncode == 1, one.stderr[-3000:]  # the blank scan fails

    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    command = [*torchrun, "-m", "cmb_kd.cli", "infer", "--distributed", *args, "--output", str(tmp_path / "two")]
    two = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert two.returncode != 0, two.stderr[-3000:]
    assert two.stderr.count("cmb-kd infer: error: 1 of 4 input(s) failed; see ") == 1  # said once, by rank 0
    summary, expected = _summary_rows(tmp_path / "two"), _summary_rows(tmp_path / "one")
    assert list(summary) == list(expected) == [f"sub-00{n}_T2S_lr-x4" for n in (0, 3, 4, 5)]
    assert summary == expected  # same rows (counts, statuses, messages, warnings), same order
    assert summary["sub-000_T2S_lr-x4"]["status"] == "failed"
    assert sum(int(row["count"] or 0) for row in summary.values()) > 0  # detections to compare
    written = _outputs(tmp_path / "two")
    assert set(written) == set(_outputs(tmp_path / "one"))  # each scan's outputs once; no shard left
    for name in list(expected)[1:]:  # each good scan run once, by one of the processes
        assert two.stderr.count(f"{name}.nii.gz: {expected[name]['count']} CMB(s) in ") == 1, two.stderr[-3000:]

    again = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=600, env=env)
    assert again.returncode != 0 and " CMB(s) in " not in again.stderr  # every good scan skipped
    assert _summary_rows(tmp_path / "two") == expected and _outputs(tmp_path / "two") == written
