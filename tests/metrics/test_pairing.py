from pathlib import Path

import pytest

from cmb_kd.metrics import pair_prediction_files


def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")


COHORT = [
    "sub-001/sub-001_T2S.nii.gz",
    "sub-001/sub-001_T2S_lr-x4.nii.gz",
    "sub-001/sub-001_CMB.nii.gz",
    "sub-001/sub-001_CMB_lr-x2.nii.gz",
    "sub-001/sub-001_CMB_lr-x4.nii.gz",
    "sub-001/sub-001_brainmask.nii.gz",
    "sub-002/sub-002_CMB_lr-x4.nii.gz",
]


@pytest.mark.parametrize(
    "references, prediction, expected",
    [
        (COHORT, "sub-001_T2S_lr-x4_cmb_mask.nii.gz", "sub-001/sub-001_CMB_lr-x4.nii.gz"),
        (COHORT, "sub-001_T2S_cmb_mask.nii.gz", "sub-001/sub-001_CMB.nii.gz"),
        (COHORT, "sub-001_swi_lr-x2_cmb_mask.nii.gz", "sub-001/sub-001_CMB_lr-x2.nii.gz"),
        (COHORT, "sub-002_QSMx_lr-x4_cmb_mask.nii.gz", "sub-002/sub-002_CMB_lr-x4.nii.gz"),  # entity rule
        (["case01.nii.gz", "case02.nii"], "case02_cmb_mask.nii.gz", "case02.nii"),  # exact rule, flat folder
        (["sub-003_CMB.nii.gz", "sub-003_T2S.nii.gz"], "sub-003_T2S_cmb_mask.nii.gz", "sub-003_CMB.nii.gz"),
    ],
)
def test_rules(tmp_path, references, prediction, expected):
    touch(tmp_path / "ref", *references)
    touch(tmp_path / "pred", prediction, "notes.txt", "sub-001_T2S_lr-x4_cmb_lesions.csv")
    pairs, _ = pair_prediction_files(tmp_path / "pred", tmp_path / "ref")
    assert pairs == [(tmp_path / "pred" / prediction, tmp_path / "ref" / expected)]


VALDO = [
    "sub-101/sub-101_space-T2S_desc-masked_T2S.nii.gz",
    "sub-101/sub-101_space-T2S_desc-masked_T1.nii.gz",
    "sub-101/sub-101_space-T2S_CMB.nii.gz",
    "sub-102/sub-102_space-T2S_desc-masked_T2S.nii.gz",
    "sub-102/sub-102_space-T2S_CMB.nii.gz",
]


def test_valdo_names_pair_by_subject(tmp_path):
    # the modality rule gives sub-101_space-T2S_desc-masked_CMB, which VALDO does not write; the entity rule pairs
    # the one CMB file of the subject (no lr tag on either side)
    touch(tmp_path / "ref", *VALDO)
    touch(tmp_path / "pred", "sub-101_space-T2S_desc-masked_T2S_cmb_mask.nii.gz")
    pairs, leftover = pair_prediction_files(tmp_path / "pred", tmp_path / "ref")
    assert pairs == [
        (
            tmp_path / "pred" / "sub-101_space-T2S_desc-masked_T2S_cmb_mask.nii.gz",
            tmp_path / "ref" / "sub-101" / "sub-101_space-T2S_CMB.nii.gz",
        )
    ]
    assert leftover == [tmp_path / "ref" / "sub-102" / "sub-102_space-T2S_CMB.nii.gz"]


def test_leftover_labels(tmp_path):
    touch(tmp_path / "ref", *COHORT)
    touch(tmp_path / "pred", "sub-001_T2S_lr-x4_cmb_mask.nii.gz")
    _, leftover = pair_prediction_files(tmp_path / "pred", tmp_path / "ref")
    assert [p.name for p in leftover] == ["sub-001_CMB.nii.gz", "sub-001_CMB_lr-x2.nii.gz", "sub-002_CMB_lr-x4.nii.gz"]


def test_image_next_to_missing_label_is_not_a_reference(tmp_path):
    touch(tmp_path / "ref", "sub-001_T2S_lr-x8.nii.gz")
    touch(tmp_path / "pred", "sub-001_T2S_lr-x8_cmb_mask.nii.gz")
    with pytest.raises(FileNotFoundError, match="1 prediction.*sub-001_T2S_lr-x8_cmb_mask.nii.gz"):
        pair_prediction_files(tmp_path / "pred", tmp_path / "ref")


@pytest.mark.parametrize(
    "setup, error, match",
    [
        (lambda t: touch(t / "ref", "a.nii.gz"), FileNotFoundError, "pred_dir .* does not exist"),
        (lambda t: touch(t, "pred/a_cmb_mask.nii.gz"), FileNotFoundError, "ref_dir .* does not exist"),
        (lambda t: touch(t, "pred/a_cmb_mask.nii.gz", "ref"), ValueError, "ref_dir .* is a file"),
        (lambda t: touch(t, "pred/a.nii.gz", "ref/a.nii.gz"), FileNotFoundError, "holds no predicted mask"),
        (
            lambda t: touch(t, "pred/a_cmb_mask.nii.gz", "pred/b_cmb_mask.nii.gz", "ref/a.nii.gz"),
            FileNotFoundError,
            r"1 prediction\(s\) .* no reference mask .*: b_cmb_mask.nii.gz\. ",
        ),
        (
            lambda t: touch(t, "pred/sub-1_T2S_cmb_mask.nii.gz", "ref/x/sub-1_CMB.nii.gz", "ref/y/sub-1_CMB.nii.gz"),
            ValueError,
            "matches several references",
        ),
    ],
)
def test_errors(tmp_path, setup, error, match):
    setup(tmp_path)
    with pytest.raises(error, match=match):
        pair_prediction_files(tmp_path / "pred", tmp_path / "ref")
