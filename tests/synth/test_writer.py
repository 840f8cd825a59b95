import json
import os

import nibabel as nib
import numpy as np
import pytest

from cmb_kd.synth import SynthConfig, split_subjects, subject_seed, write_cohort


@pytest.fixture(scope="module")
def cohort(tmp_path_factory, small_config):
    out = tmp_path_factory.mktemp("cohort")
    write_cohort(out, n_subjects=2, seed=5, config=small_config, progress=False)
    return out


@pytest.mark.slow
def test_cohort_layout_and_datalist(cohort, small_config):
    datalist = json.loads((cohort / "datalist.json").read_text())
    entries = datalist["training"] + datalist["validation"] + datalist["test"]
    assert [e["subject"] for e in entries] == ["sub-001", "sub-002"]
    names = {p.name for p in (cohort / "sub-001").iterdir()}
    expected = {f"sub-001_{s}.nii.gz" for s in ("T2S", "phase", "SWI", "CMB", "brainmask", "mimics")}
    for f in (2, 4, 8):
        expected |= {f"sub-001_{s}_lr-x{f}.nii.gz" for s in ("T2S", "SWI", "phase", "CMB", "brainmask")}
    assert expected | {"sub-001.json"} == names
    for entry in entries:
        for key, value in entry.items():
            if key not in ("subject", "n_cmb"):
                assert (cohort / value).is_file(), key
    record = json.loads((cohort / "sub-001" / "sub-001.json").read_text())
    assert record["n_cmb"] == len(record["cmbs"]) == entries[0]["n_cmb"]
    assert {"type", "centre_mm", "source_diameter_mm", "susceptibility_ppm"} <= set(record["cmbs"][0])
    assert record["acquisition"]["seed"] == subject_seed(5, 0)
    assert not any(p.name.startswith(".") for p in cohort.iterdir())


@pytest.mark.slow
@pytest.mark.parametrize("factor", [None, 2, 4, 8])
def test_files_load_with_stated_spacing_and_affine(cohort, factor):
    suffix = "" if factor is None else f"_lr-x{factor}"
    image = nib.load(cohort / "sub-001" / f"sub-001_T2S{suffix}.nii.gz")
    label = nib.load(cohort / "sub-001" / f"sub-001_CMB{suffix}.nii.gz")
    phase = nib.load(cohort / "sub-001" / f"sub-001_phase{suffix}.nii.gz")
    expected_z = 2.0 * (factor or 1)
    np.testing.assert_allclose(image.header.get_zooms(), (2.0, 2.0, expected_z))
    np.testing.assert_allclose(label.affine, image.affine)
    np.testing.assert_allclose(phase.affine, image.affine)
    assert image.shape == (96, 112, 88 // (factor or 1))
    assert set(np.unique(np.asarray(label.dataobj))) <= {0, 1}
    values = phase.get_fdata()
    assert values.min() >= -np.pi - 1e-3 and values.max() <= np.pi + 1e-3
    if factor:  # thick slices are centred on the HR slices they cover
        hr = nib.load(cohort / "sub-001" / "sub-001_T2S.nii.gz").affine
        np.testing.assert_allclose(image.affine @ [0, 0, 0, 1], hr @ [0, 0, (factor - 1) / 2, 1])


@pytest.mark.slow
def test_parallel_workers_write_the_same_cohort(cohort, tmp_path, small_config):
    write_cohort(tmp_path, n_subjects=2, seed=5, config=small_config, progress=False, workers=2)
    serial = json.loads((cohort / "datalist.json").read_text())
    parallel = json.loads((tmp_path / "datalist.json").read_text())
    assert parallel == serial
    for name in ("sub-001", "sub-002"):
        for path in sorted((cohort / name).glob("*.nii.gz")):
            other = nib.load(tmp_path / name / path.name)
            np.testing.assert_array_equal(np.asarray(other.dataobj), np.asarray(nib.load(path).dataobj), path.name)
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())


@pytest.mark.parametrize("workers", [0, 1.5])
def test_rejects_bad_worker_count(tmp_path, workers):
    with pytest.raises(ValueError, match="workers: expected a positive integer"):
        write_cohort(tmp_path / "c", 1, progress=False, workers=workers)


def test_refuses_non_empty_folder(tmp_path, small_config):
    (tmp_path / "keep.txt").write_text("user data")
    with pytest.raises(FileExistsError, match="folder is not empty.*--overwrite"):
        write_cohort(tmp_path, 1, config=small_config, progress=False)
    assert (tmp_path / "keep.txt").read_text() == "user data"


@pytest.mark.parametrize("n", [0, -1, 1.5])
def test_rejects_bad_subject_count(tmp_path, n):
    with pytest.raises(ValueError, match="n_subjects: expected a positive integer"):
        write_cohort(tmp_path / "c", n, progress=False)


def test_rejects_file_as_folder(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(NotADirectoryError, match="is not a folder"):
        write_cohort(target, 1, progress=False)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only folders")
def test_rejects_unwritable_folder(tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match="cannot write"):
            write_cohort(tmp_path / "c", 1, progress=False)
    finally:
        tmp_path.chmod(0o700)


def test_rejects_folder_under_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(PermissionError, match="cannot create the folder"):
        write_cohort(tmp_path / "file" / "cohort", 1, progress=False)


@pytest.mark.parametrize(
    "n, sizes", [(1, (1, 0, 0)), (2, (1, 0, 1)), (3, (1, 1, 1)), (10, (6, 2, 2)), (20, (14, 3, 3))]
)
def test_split_sizes(n, sizes):
    split = split_subjects(n)
    assert tuple(len(split[k]) for k in ("training", "validation", "test")) == sizes
    assert sorted(i for r in split.values() for i in r) == list(range(n))


@pytest.mark.parametrize("n", [1, 7, 100])
def test_held_out_split_puts_every_subject_in_test(n):
    split = split_subjects(n, held_out=True)
    assert list(split["test"]) == list(range(n))
    assert len(split["training"]) == len(split["validation"]) == 0


def test_held_out_cohort_lists_every_subject_as_test(tmp_path, monkeypatch):
    import cmb_kd.synth.writer as writer

    def fake(config, seed, out_dir, name, preview):
        return {"image": f"{name}/{name}_T2S.nii.gz", "n_cmb": 1}

    monkeypatch.setattr(writer, "_simulate_and_write", fake)
    datalist = json.loads(write_cohort(tmp_path / "c", 3, seed=4, progress=False, held_out=True).read_text())
    assert [e["image"] for e in datalist["test"]] == [f"sub-00{i}/sub-00{i}_T2S.nii.gz" for i in (1, 2, 3)]
    assert datalist["training"] == datalist["validation"] == []


def test_subject_seeds_differ():
    seeds = {subject_seed(0, i) for i in range(100)} | {subject_seed(1, i) for i in range(100)}
    assert len(seeds) == 200


@pytest.mark.slow
def test_resume_adds_only_the_missing_subjects_of_the_same_cohort(cohort, tmp_path, small_config, monkeypatch):
    import cmb_kd.synth.writer as writer

    write_cohort(tmp_path, n_subjects=1, seed=5, config=small_config, progress=False)
    (tmp_path / ".sub-002.partial").mkdir()  # a run killed while it wrote sub-002
    first = (tmp_path / "sub-001" / "sub-001_T2S.nii.gz").stat().st_mtime_ns
    simulated = []
    real = writer.simulate_subject
    monkeypatch.setattr(writer, "simulate_subject", lambda config, seed: simulated.append(seed) or real(config, seed))
    write_cohort(tmp_path, n_subjects=2, seed=5, config=small_config, progress=False, resume=True)
    assert simulated == [subject_seed(5, 1)]  # sub-001 was kept, not simulated again
    assert (tmp_path / "sub-001" / "sub-001_T2S.nii.gz").stat().st_mtime_ns == first
    assert json.loads((tmp_path / "datalist.json").read_text()) == json.loads((cohort / "datalist.json").read_text())
    for path in sorted((cohort / "sub-002").glob("*.nii.gz")):
        ours = np.asarray(nib.load(tmp_path / "sub-002" / path.name).dataobj)
        np.testing.assert_array_equal(ours, np.asarray(nib.load(path).dataobj), path.name)
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())
    write_cohort(tmp_path, n_subjects=2, seed=5, config=small_config, progress=False, resume=True)
    assert len(simulated) == 1  # nothing left to do


def test_resume_refuses_another_cohort_or_a_folder_of_other_files(tmp_path, small_config):
    import dataclasses

    (tmp_path / "cohort.json").write_text(
        json.dumps({"seed": 5, "config": json.loads(json.dumps(dataclasses.asdict(small_config)))})
    )
    (tmp_path / "sub-001").mkdir()
    with pytest.raises(ValueError, match="other settings \\(seed\\)"):
        write_cohort(tmp_path, 1, seed=6, config=small_config, progress=False, resume=True)
    with pytest.raises(ValueError, match="other settings \\(snr_range\\)"):
        other = dataclasses.replace(small_config, snr_range=(5.0, 6.0))
        write_cohort(tmp_path, 1, seed=5, config=other, progress=False, resume=True)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("user data")
    with pytest.raises(FileExistsError, match="no record of the cohort"):
        write_cohort(foreign, 1, config=small_config, progress=False, resume=True)
    assert (foreign / "keep.txt").read_text() == "user data" and not (foreign / "cohort.json").exists()


def test_a_subject_folder_gets_its_name_only_when_complete(tmp_path):
    from cmb_kd.synth.writer import write_subject_folder

    def write(folder):
        folder.mkdir()
        (folder / "a.txt").write_text("a")
        return {"subject": "sub-001"}

    assert write_subject_folder(tmp_path, "sub-001", write) == {"subject": "sub-001"}
    assert (tmp_path / "sub-001" / "a.txt").read_text() == "a" and sorted(p.name for p in tmp_path.iterdir()) == [
        "sub-001"
    ]

    def fail(folder):
        folder.mkdir()
        raise RuntimeError("stopped")

    with pytest.raises(RuntimeError, match="stopped"):
        write_subject_folder(tmp_path, "sub-001", fail)
    assert (tmp_path / "sub-001" / "a.txt").read_text() == "a"  # the complete subject is kept


def test_run_cohort_writes_the_datalist_of_its_task(tmp_path):
    from cmb_kd.synth.writer import run_cohort

    datalist = json.loads(
        run_cohort(
            tmp_path, 3, 7, SynthConfig(), _named_entry, {"name": "n", "description": "d"}, kind="toy", progress=False
        ).read_text()  # fmt: skip
    )
    assert (datalist["name"], datalist["description"], datalist["seed"]) == ("n", "d", 7)
    assert [e["subject"] for e in datalist["training"] + datalist["validation"] + datalist["test"]] == [
        "sub-001", "sub-002", "sub-003"
    ]  # fmt: skip
    assert datalist["training"][0]["seed"] == subject_seed(7, 0)
    assert json.loads((tmp_path / "cohort.json").read_text())["kind"] == "toy"


def _named_entry(config, seed, out_dir, name, preview):
    (out_dir / name).mkdir()
    entry = {"subject": name, "seed": seed}
    (out_dir / name / f"{name}.json").write_text(json.dumps({"datalist_entry": entry}))
    return entry
