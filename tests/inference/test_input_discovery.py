import os

import numpy as np
import pytest

from cmb_kd.inference import InputError, find_inputs, is_image_name, load_scan
from cmb_kd.inference.input_discovery import (
    BRAIN_MASKS_BESIDE,
    brain_mask_of,
    brain_mask_source,
    brain_mask_stems,
    find_brain_mask,
    phase_beside,
)


@pytest.mark.parametrize(
    "name, is_image",
    [
        ("sub-001_T2S.nii.gz", True),
        ("sub-001_SWI_lr-x4.nii.gz", True),
        ("sub-101_space-T2S_desc-masked_T2S.nii.gz", True),
        ("case07.nii", True),
        ("sub-001_CMB.nii.gz", False),
        ("sub-001_cmb_lr-x4.nii.gz", False),
        ("sub-001_brainmask_lr-x4.nii.gz", False),
        ("sub-101_space-T2S_desc-brainmask.nii.gz", False),
        ("sub-001_mimics.nii.gz", False),
        ("sub-001_phase_lr-x2.nii.gz", False),
        ("sub-001_Label.nii.gz", False),
        ("sub-001_seg.nii", False),
        ("sub-001_T2S_cmb_mask.nii.gz", False),
        ("sub-001_vessels.nii.gz", False),  # the vessel label of an MRA cohort, beside sub-001_TOF.nii.gz
        ("sub-001_TOF_vessel_mask.nii.gz", False),  # the vessel bundle's own output
        ("sub-001_TOF.nii.gz", True),
        ("mask.nii.gz", False),
        (".sub-001_T2S.nii.gz.abc.tmp", False),
        ("sub-001_T2S.json", False),
    ],
)
def test_image_name_rule(name, is_image):
    assert is_image_name(name) is is_image


def test_valdo_folder_keeps_images_only(tmp_path, write_nifti):
    root = tmp_path / "cohort"
    for subject in ("sub-002", "sub-001"):
        for suffix in ("T2S", "T2S_lr-x4", "CMB", "CMB_lr-x4", "brainmask", "phase", "mimics", "SWI"):
            (root / subject).mkdir(parents=True, exist_ok=True)
            (root / subject / f"{subject}_{suffix}.nii.gz").write_bytes(b"")
        (root / subject / f"{subject}.json").write_text("{}")
    (root / ".hidden").mkdir()
    (root / ".hidden" / "sub-009_T2S.nii.gz").write_bytes(b"")
    inputs, problems = find_inputs(root, check_headers=False)
    assert problems == []
    assert [p.name for p in inputs] == [
        "sub-001_SWI.nii.gz",
        "sub-001_T2S.nii.gz",
        "sub-001_T2S_lr-x4.nii.gz",
        "sub-002_SWI.nii.gz",
        "sub-002_T2S.nii.gz",
        "sub-002_T2S_lr-x4.nii.gz",
    ]
    assert all(p.is_absolute() for p in inputs)
    only_t2s, _ = find_inputs([root], modalities=("t2s",), check_headers=False)
    assert [p.name for p in only_t2s] == [
        "sub-001_T2S.nii.gz",
        "sub-001_T2S_lr-x4.nii.gz",
        "sub-002_T2S.nii.gz",
        "sub-002_T2S_lr-x4.nii.gz",
    ]


def test_phase_beside_pairs_the_valdo_names(tmp_path):
    for name in ("sub-001_T2S", "sub-001_phase", "sub-001_SWI_lr-x4", "sub-001_phase_lr-x4", "sub-002_T2S"):
        (tmp_path / f"{name}.nii.gz").write_bytes(b"")
    (tmp_path / "scan.nii").write_bytes(b"")
    (tmp_path / "scan_phase.nii.gz").write_bytes(b"")  # another extension: not the scan's phase
    assert phase_beside(tmp_path / "sub-001_T2S.nii.gz") == tmp_path / "sub-001_phase.nii.gz"
    assert phase_beside(tmp_path / "sub-001_SWI_lr-x4.nii.gz") == tmp_path / "sub-001_phase_lr-x4.nii.gz"
    assert phase_beside(tmp_path / "sub-002_T2S.nii.gz") is None
    assert phase_beside(tmp_path / "scan.nii") is None
    assert phase_beside(tmp_path / "notes.txt") is None


@pytest.mark.parametrize(
    "scan, own_name, stems",
    [
        ("sub-001_T2S.nii.gz", False, ["sub-001_T2S_brainmask", "brainmask_T2S", "sub-001_brainmask"]),
        (
            "sub-001_T2S_lr-x4.nii",
            True,
            [
                "sub-001_T2S_lr-x4",
                "sub-001_T2S_lr-x4_brainmask",
                "brainmask_T2S_lr-x4",
                "sub-001_brainmask_lr-x4",
                "sub-001_T2S_brainmask",
            ],
        ),
        ("case01.nii.gz", True, ["case01", "case01_brainmask"]),  # one token: no lone brainmask.nii.gz
        (
            "sub-001_phase_x.nii.gz",
            False,
            ["sub-001_phase_x_brainmask", "brainmask_phase_x", "sub-001_phase_brainmask"],
        ),
        ("notes.txt", False, []),
    ],
)
def test_brain_mask_names(scan, own_name, stems):
    assert brain_mask_stems(scan, own_name=own_name) == stems


def test_find_brain_mask_beside_and_in_a_folder(tmp_path):
    scans, masks = tmp_path / "scans", tmp_path / "masks"
    for path in (
        scans / "sub-001_T2S.nii.gz",
        scans / "sub-001_brainmask.nii.gz",  # as cmb-kd synth writes it
        scans / "sub-001_T2S_lr-x4.nii.gz",
        scans / "sub-001_brainmask_lr-x4.nii",
        scans / "case01.nii.gz",
        scans / "brainmask.nii.gz",
        masks / "sub-001_T2S.nii.gz",
        masks / "sub-001_T2S_lr-x4_brainmask.nii.gz",
    ):
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"")
    assert find_brain_mask(scans / "sub-001_T2S.nii.gz") == scans / "sub-001_brainmask.nii.gz"
    assert find_brain_mask(scans / "sub-001_T2S_lr-x4.nii.gz") == scans / "sub-001_brainmask_lr-x4.nii"
    assert find_brain_mask(scans / "sub-001_T2S.nii.gz", masks) == masks / "sub-001_T2S.nii.gz"  # NAME first
    assert find_brain_mask(scans / "sub-001_T2S_lr-x4.nii.gz", masks) == masks / "sub-001_T2S_lr-x4_brainmask.nii.gz"
    # the scan is never its own mask, and a lone brainmask.nii.gz belongs to no one-token scan
    with pytest.raises(InputError, match="no brain mask in") as info:
        find_brain_mask(scans / "case01.nii.gz", scans)
    assert str(info.value) == (
        f"{scans / 'case01.nii.gz'}: no brain mask in {scans} (looked for case01.nii.gz, case01_brainmask.nii.gz, "
        "or .nii); expected the scan's brain mask there, named NAME, NAME_brainmask or NAME with one '_' token "
        "replaced by 'brainmask'"
    )
    assert info.value.path == scans / "case01.nii.gz"


def test_brain_mask_source_and_each_scans_mask(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    scans, masks = tmp_path / "scans", tmp_path / "masks"
    for path in (scans / "sub-001_T2S.nii.gz", scans / "sub-001_brainmask.nii.gz", masks / "sub-001_T2S.nii.gz"):
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"")
    scan = scans / "sub-001_T2S.nii.gz"
    assert brain_mask_source(None) is None and brain_mask_of(scan, None) is None
    assert brain_mask_source(BRAIN_MASKS_BESIDE) == "beside"
    assert brain_mask_of(scan, "beside") == scans / "sub-001_brainmask.nii.gz"
    assert brain_mask_source("masks") == masks and brain_mask_of(scan, masks) == masks / "sub-001_T2S.nii.gz"
    one = brain_mask_source(os.path.join("scans", "sub-001_brainmask.nii.gz"))
    assert one == scans / "sub-001_brainmask.nii.gz" and brain_mask_of(scan, one) == one


@pytest.mark.parametrize(
    "value, error, message",
    [
        (3, ValueError, "brain_masks: expected a NIfTI file, a folder of brain masks or 'beside', got int"),
        ("nowhere", InputError, "brain mask path not found"),
        ("notes.txt", InputError, "not a NIfTI file"),
    ],
)
def test_brain_mask_source_refuses_what_is_no_mask(tmp_path, monkeypatch, value, error, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("no mask")
    with pytest.raises(error, match=message):
        brain_mask_source(value)


def test_folder_with_good_and_bad_files(tmp_path, write_nifti, scan_image):
    folder = tmp_path / "flat"
    good = write_nifti(folder / "case01.nii.gz", scan_image)
    write_nifti(folder / "case02.nii.gz", scan_image[:, :, 0])
    write_nifti(folder / "case03.nii.gz", np.stack([scan_image] * 2, axis=-1))
    (folder / "case04.nii.gz").write_bytes(b"not gzip" * 40)
    (folder / "case05.nii").write_bytes(b"")
    write_nifti(folder / "case01_CMB.nii.gz", (scan_image > 50).astype(np.uint8))
    (folder / "notes.txt").write_text("ignored")
    missing = tmp_path / "nowhere.nii.gz"
    not_nifti = tmp_path / "scan.mha"
    not_nifti.write_bytes(b"x")
    empty = tmp_path / "empty"
    empty.mkdir()

    inputs, problems = find_inputs([missing, folder, not_nifti, empty, folder / "case01.nii.gz"])

    assert inputs == [good]
    assert all(isinstance(p, InputError) for p in problems)
    reported = {p.path.name: str(p) for p in problems}
    assert set(reported) == {
        "nowhere.nii.gz",
        "scan.mha",
        "empty",
        "case02.nii.gz",
        "case03.nii.gz",
        "case04.nii.gz",
        "case05.nii",
    }
    assert "path not found" in reported["nowhere.nii.gz"]
    assert "not a NIfTI file" in reported["scan.mha"]
    assert "folder holds no NIfTI image" in reported["empty"]
    assert "2D image" in reported["case02.nii.gz"]
    assert "4D image with 2 volumes" in reported["case03.nii.gz"]
    assert "not gzip-compressed" in reported["case04.nii.gz"]
    assert "empty file" in reported["case05.nii"]
    for problem in problems:
        assert str(problem).startswith(str(problem.path))
    data, _, _ = load_scan(inputs[0])
    assert data.shape == scan_image.shape


def test_explicit_file_is_taken_whatever_its_name_and_duplicates_are_reported(tmp_path, write_nifti, scan_image):
    a = write_nifti(tmp_path / "a" / "scan_CMB.nii.gz", scan_image)
    b = write_nifti(tmp_path / "b" / "scan_CMB.nii.gz", scan_image)
    relative = os.path.relpath(a)
    inputs, problems = find_inputs([str(a), relative, b])
    assert inputs == [a]
    assert len(problems) == 1 and problems[0].path == b
    assert "same name 'scan_CMB'" in str(problems[0])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"paths": []}, "paths: expected one or more"),
        ({"paths": ".", "modalities": "T2S"}, "modalities: expected a collection"),
        ({"paths": ".", "modalities": ()}, "modalities: expected a collection"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        find_inputs(**kwargs)
