import csv
import hashlib
import json
import logging
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from cmb_kd.metrics import SUBJECT_COLUMNS, evaluate_folders

AFFINE_X4 = np.diag([1.0, 1.0, 4.0, 1.0])
SHAPE = (8, 8, 4)


def save(path: Path, data: np.ndarray, affine: np.ndarray = AFFINE_X4) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data.astype(np.uint8), affine), path)


def cohort(root: Path) -> tuple[Path, Path]:
    """sub-001: 2 lesions, 1 hit + 1 FP; sub-002: no lesion, no prediction; sub-003 labelled, not predicted."""
    ref, pred = root / "ref", root / "pred"
    label = np.zeros(SHAPE)
    label[1:3, 1:3, 1] = 1
    label[5, 5, 2] = 1
    image = np.full(SHAPE, 100)
    save(ref / "sub-001" / "sub-001_CMB_lr-x4.nii.gz", label)
    save(ref / "sub-001" / "sub-001_T2S_lr-x4.nii.gz", image)
    save(ref / "sub-001" / "sub-001_CMB.nii.gz", np.zeros((8, 8, 16)), np.eye(4))
    save(ref / "sub-002" / "sub-002_CMB_lr-x4.nii.gz", np.zeros(SHAPE))
    save(ref / "sub-003" / "sub-003_CMB_lr-x4.nii.gz", label)
    hit = np.zeros(SHAPE)
    hit[1:3, 1, 1] = 1
    hit[7, 0, 3] = 1
    save(pred / "sub-001_T2S_lr-x4_cmb_mask.nii.gz", hit)
    save(pred / "sub-002_T2S_lr-x4_cmb_mask.nii.gz", np.zeros(SHAPE))
    return pred, ref


def digest(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_cohort_end_to_end(tmp_path):
    pred, ref = cohort(tmp_path)
    before = digest(pred) | digest(ref)
    result = evaluate_folders(pred, ref, tmp_path / "out")
    assert digest(pred) | digest(ref) == before  # inputs are only read
    assert [s.name for s in result.subjects] == ["sub-001_T2S_lr-x4", "sub-002_T2S_lr-x4"]
    assert result.subjects[0].reference == Path("sub-001/sub-001_CMB_lr-x4.nii.gz")
    assert result.missing_subjects == ("sub-003",)
    metrics = result.metrics
    assert (metrics["tpr"], metrics["ppv"], metrics["fp_avg"], metrics["f1"]) == pytest.approx((0.5, 0.5, 0.5, 0.5))
    assert metrics["dice"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 3))

    saved = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert saved["metrics"]["n_subjects"] == 2 and saved["metrics"]["tp"] == 1
    assert saved["settings"]["connectivity"] == 26 and saved["settings"]["max_distance_mm"] is None
    assert saved["subjects"][1]["tpr"] is None  # sub-002: undefined, written as null
    with open(tmp_path / "out" / "metrics_per_subject.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == SUBJECT_COLUMNS
    assert (rows[0]["tp"], rows[0]["fp"], rows[0]["fn"], rows[1]["tpr"]) == ("1", "1", "1", "nan")
    assert result.json_path == tmp_path / "out" / "metrics.json"
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_flat_folders_default_output_and_distance(tmp_path):
    label, prediction = np.zeros(SHAPE), np.zeros(SHAPE)
    label[4, 4, 1] = 1
    prediction[4, 4, 2] = 1  # one slice (4 mm) away
    save(tmp_path / "ref" / "case01.nii.gz", label)
    save(tmp_path / "pred" / "case01_cmb_mask.nii.gz", prediction)
    near = evaluate_folders(pred_dir=tmp_path / "pred", ref_dir=tmp_path / "ref", max_distance_mm=5.0)
    assert near.counts.tp == 1 and near.csv_path == tmp_path / "pred" / "metrics_per_subject.csv"
    far = evaluate_folders(pred_dir=tmp_path / "pred", ref_dir=tmp_path / "ref", max_distance_mm=3.0)
    assert far.counts.tp == 0
    again = evaluate_folders(pred_dir=tmp_path / "pred", ref_dir=tmp_path / "ref")  # outputs are not predictions
    assert len(again.subjects) == 1


def test_rater_values_in_a_reference_are_warned_and_counted_as_lesion(tmp_path, caplog):
    graded = np.zeros(SHAPE)
    graded[1:3, 1:3, 1] = 3  # VALDO-style certainty grades instead of 1
    graded[5, 5, 2] = 2
    save(tmp_path / "ref" / "sub-001" / "sub-001_CMB_lr-x4.nii.gz", graded)
    save(tmp_path / "ref" / "sub-002" / "sub-002_CMB_lr-x4.nii.gz", graded > 0)
    for name in ("sub-001", "sub-002"):
        save(tmp_path / "pred" / f"{name}_T2S_lr-x4_cmb_mask.nii.gz", graded > 0)
    with caplog.at_level(logging.WARNING, logger="cmb_kd.metrics.evaluate"):
        result = evaluate_folders(tmp_path / "pred", tmp_path / "ref", tmp_path / "out")
    graded_file = tmp_path / "ref" / "sub-001" / "sub-001_CMB_lr-x4.nii.gz"
    (warning,) = result.warnings
    assert warning.startswith(f"{graded_file}: reference mask holds 2 value(s) other than 0 and 1 (2, 3)")
    assert "every voxel above 0.5 counted as lesion" in warning
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [warning]
    assert [(s.counts.tp, s.counts.fn, s.counts.fp) for s in result.subjects] == [(2, 0, 0), (2, 0, 0)]
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["warnings"] == [warning]


def test_nan_background_of_a_reference_counts_as_zero(tmp_path, caplog):
    label = np.full(SHAPE, np.nan, dtype=np.float32)  # VALDO's layout: NaN outside the brain
    label[1:7, 1:7, :] = 0.0
    label[1:3, 1:3, 1] = 1.0
    label[5, 5, 2] = 1.0
    reference = tmp_path / "ref" / "sub-101" / "sub-101_space-T2S_CMB.nii.gz"
    reference.parent.mkdir(parents=True)
    nib.save(nib.Nifti1Image(label, AFFINE_X4), reference)
    save(tmp_path / "pred" / "sub-101_space-T2S_desc-masked_T2S_cmb_mask.nii.gz", np.nan_to_num(label))
    with caplog.at_level(logging.WARNING, logger="cmb_kd.metrics.evaluate"):
        result = evaluate_folders(tmp_path / "pred", tmp_path / "ref", tmp_path / "out")
    assert result.warnings == () and not caplog.records  # NaN is background, not a rater grade
    (subject,) = result.subjects
    assert subject.reference == Path("sub-101/sub-101_space-T2S_CMB.nii.gz")
    assert (subject.counts.tp, subject.counts.fp, subject.counts.fn) == (2, 0, 0)


def test_binary_references_give_no_warning(tmp_path, caplog):
    pred, ref = cohort(tmp_path)
    with caplog.at_level(logging.WARNING, logger="cmb_kd.metrics.evaluate"):
        result = evaluate_folders(pred, ref, tmp_path / "out")
    assert result.warnings == ()
    assert not [r for r in caplog.records if "other than 0 and 1" in r.getMessage()]
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["warnings"] == []


@pytest.mark.parametrize(
    "ref_shape, ref_affine, match",
    [
        (
            (8, 8, 16),
            AFFINE_X4,
            r"has shape \(8, 8, 4\) but reference .*sub-001_CMB_lr-x4.nii.gz' has shape \(8, 8, 16\)",
        ),
        (SHAPE, np.diag([1.0, 1.0, 2.0, 1.0]), r"different affines"),
    ],
)
def test_different_grids_are_refused(tmp_path, ref_shape, ref_affine, match):
    save(tmp_path / "ref" / "sub-001_CMB_lr-x4.nii.gz", np.zeros(ref_shape), ref_affine)
    save(tmp_path / "pred" / "sub-001_T2S_lr-x4_cmb_mask.nii.gz", np.zeros(SHAPE))
    with pytest.raises(ValueError, match=match):
        evaluate_folders(tmp_path / "pred", tmp_path / "ref")
    assert not (tmp_path / "pred" / "metrics.json").exists()


def write_files(root: Path, *names: str) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("not a NIfTI file")


def write_masks(root: Path, pred_shape: tuple[int, ...], ref_shape: tuple[int, ...]) -> None:
    save(root / "pred" / "a_cmb_mask.nii.gz", np.zeros(pred_shape))
    save(root / "ref" / "a.nii.gz", np.zeros(ref_shape))


@pytest.mark.parametrize(
    "setup, kwargs, error, match",
    [
        (lambda t: None, {}, FileNotFoundError, "pred_dir .* does not exist"),
        (lambda t: None, {"connectivity": 5}, ValueError, "connectivity: expected one of"),
        (lambda t: None, {"max_distance_mm": -2.0}, ValueError, "max_distance_mm: expected a positive"),
        (lambda t: write_files(t, "pred/a_cmb_mask.nii.gz", "ref/b.nii.gz"), {}, FileNotFoundError, "no reference"),
        (lambda t: write_files(t, "pred/a_cmb_mask.nii.gz", "ref/a.nii.gz"), {}, ValueError, "cannot read NIfTI"),
        (lambda t: write_masks(t, (2, 2), (2, 2)), {}, ValueError, r"has shape \(2, 2\); expected a 3D mask"),
        (lambda t: write_masks(t, (2, 2, 2, 1), (2, 2, 2)), {}, None, None),  # a trailing singleton axis is fine
        (
            lambda t: write_masks(t, (2, 2, 2), (2, 2, 2)),
            {"output_dir": "pred/a_cmb_mask.nii.gz"},
            ValueError,
            "is a file",
        ),
    ],
)
def test_user_errors(tmp_path, setup, kwargs, error, match):
    setup(tmp_path)
    if "output_dir" in kwargs:
        kwargs = {"output_dir": tmp_path / kwargs["output_dir"]}
    if error is None:
        assert evaluate_folders(tmp_path / "pred", tmp_path / "ref", **kwargs).counts.n_pred == 0
        return
    with pytest.raises(error, match=match):
        evaluate_folders(tmp_path / "pred", tmp_path / "ref", **kwargs)
