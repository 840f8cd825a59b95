import json

import nibabel as nib
import numpy as np
import pytest

from cmb_kd.synth import MRA_FILES, MRAConfig, subject_seed, write_cohort, write_mra_cohort

SMALL = MRAConfig.small()


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    out = tmp_path_factory.mktemp("mra")
    write_mra_cohort(out, n_subjects=2, seed=5, config=SMALL, progress=False, preview=True)
    return out


def test_datalist_lists_image_label_and_brain_mask_per_subject(cohort):
    datalist = json.loads((cohort / "datalist.json").read_text())
    assert {"name", "description", "seed", "config", "training", "validation", "test"} <= set(datalist)
    assert datalist["seed"] == 5 and datalist["config"]["shape"] == [128, 128, 64]
    assert [len(datalist[k]) for k in ("training", "validation", "test")] == [1, 0, 1]
    entries = datalist["training"] + datalist["test"]
    assert entries[0] == {
        "subject": "sub-001",
        "image": "sub-001/sub-001_TOF.nii.gz",
        "label": "sub-001/sub-001_vessels.nii.gz",
        "brain_mask": "sub-001/sub-001_brainmask.nii.gz",
    }
    assert entries[1]["subject"] == "sub-002" and set(entries[1]) == {"subject", *MRA_FILES}
    names = {p.name for p in (cohort / "sub-001").iterdir()}
    assert names == {"sub-001_TOF.nii.gz", "sub-001_vessels.nii.gz", "sub-001_brainmask.nii.gz", "sub-001.json",
                     "sub-001_preview.png"}  # fmt: skip
    assert json.loads((cohort / "cohort.json").read_text())["kind"] == "mra"
    assert not any(p.name.startswith(".") for p in cohort.iterdir())


def test_images_are_float32_labels_uint8_on_one_ras_grid(cohort):
    image = nib.load(cohort / "sub-001" / "sub-001_TOF.nii.gz")
    label = nib.load(cohort / "sub-001" / "sub-001_vessels.nii.gz")
    mask = nib.load(cohort / "sub-001" / "sub-001_brainmask.nii.gz")
    assert image.get_data_dtype() == np.float32 and label.get_data_dtype() == np.uint8
    assert mask.get_data_dtype() == np.uint8 and image.shape == label.shape == mask.shape == (128, 128, 64)
    np.testing.assert_allclose(image.header.get_zooms(), (0.5, 0.5, 0.8))
    assert nib.aff2axcodes(image.affine) == ("R", "A", "S")
    np.testing.assert_allclose(label.affine, image.affine)
    np.testing.assert_allclose(mask.affine, image.affine)
    assert set(np.unique(np.asarray(label.dataobj))) == {0, 1}


def test_subject_json_holds_the_physics_and_the_tree(cohort):
    record = json.loads((cohort / "sub-002" / "sub-002.json").read_text())
    assert record["seed"] == subject_seed(5, 1) and record["datalist_entry"]["subject"] == "sub-002"
    segments = record["tree"]["segments"]
    assert len(segments) == record["tree"]["n_segments"] and segments[0]["parent"] == -1
    assert all(len(s["points_mm"]) == len(s["radii_mm"]) >= 2 for s in segments)
    assert {"snr", "value_type", "intensity_scale_applied"} <= set(record["physics"])


@pytest.mark.slow
def test_parallel_workers_write_the_same_cohort(cohort, tmp_path):
    write_mra_cohort(tmp_path, n_subjects=2, seed=5, config=SMALL, progress=False, workers=2)
    assert json.loads((tmp_path / "datalist.json").read_text()) == json.loads((cohort / "datalist.json").read_text())
    for name in ("sub-001", "sub-002"):
        for path in sorted((cohort / name).glob("*.nii.gz")):
            ours = np.asarray(nib.load(tmp_path / name / path.name).dataobj)
            np.testing.assert_array_equal(ours, np.asarray(nib.load(path).dataobj), path.name)
        assert (tmp_path / name / f"{name}.json").read_text() == (cohort / name / f"{name}.json").read_text()


def test_resume_keeps_a_cohort_of_its_own_kind(cohort, tmp_path, monkeypatch):
    import cmb_kd.synth.mra_writer as mra_writer

    calls = []
    monkeypatch.setattr(mra_writer, "simulate_mra_subject", lambda config, seed: calls.append(seed))
    write_mra_cohort(cohort, n_subjects=2, seed=5, config=SMALL, progress=False, resume=True)
    assert calls == []  # both subjects are there
    with pytest.raises(ValueError, match=r"another kind \(mra\); expected a cmb cohort"):
        write_cohort(cohort, n_subjects=2, seed=5, progress=False, resume=True)
    with pytest.raises(ValueError, match=r"other settings \(snr_range\)"):
        write_mra_cohort(cohort, 2, seed=5, config=MRAConfig.small(snr_range=(5.0, 6.0)), progress=False, resume=True)
    with pytest.raises(FileExistsError, match="folder is not empty"):
        write_mra_cohort(cohort, 2, seed=5, config=SMALL, progress=False)
