"""Writes a synthetic cohort: VALDO-style subject folders plus a MONAI decathlon-style datalist.

:func:`run_cohort` is the machinery every simulator's cohort shares (reproducible per-subject seeds, parallel
workers, resuming, the datalist split); :func:`write_cohort` runs it for the CMB simulator.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nibabel as nib
import numpy as np

from cmb_kd import __version__
from cmb_kd.io import OutputError, prepare_folder, write_bytes_atomic
from cmb_kd.synth.config import SynthConfig
from cmb_kd.synth.mimic_map import MIMIC_LABELS
from cmb_kd.synth.preview import plot_subject
from cmb_kd.synth.subject import SyntheticSubject, simulate_subject

__all__ = ["write_cohort", "write_subject", "subject_seed", "split_subjects", "run_cohort", "write_subject_folder"]

logger = logging.getLogger(__name__)

#: Phase is stored as int16 with this many steps per radian (loads back as radians through scl_slope).
_PHASE_STEPS = 4096.0 / np.pi


def subject_seed(cohort_seed: int, index: int) -> int:
    """Seed of subject ``index`` of a cohort: independent streams from one cohort seed."""
    return int(np.random.SeedSequence([int(cohort_seed), int(index)]).generate_state(1)[0])


def split_subjects(n: int, held_out: bool = False) -> dict[str, range]:
    """Deterministic training / validation / test split of ``n`` subjects (about 70/15/15, in order).

    With ``held_out``, every subject is a test subject (a cohort kept for testing only).
    """
    if held_out:
        return {"training": range(0), "validation": range(0), "test": range(n)}
    n_test = round(0.15 * n) if n >= 7 else int(n >= 2)
    n_val = round(0.15 * n) if n >= 7 else int(n >= 3)
    n_train = n - n_val - n_test
    return {
        "training": range(0, n_train),
        "validation": range(n_train, n_train + n_val),
        "test": range(n_train + n_val, n),
    }


def _save(array: np.ndarray, affine: np.ndarray, path: Path, kind: str) -> None:
    if kind == "image":
        data = np.clip(np.round(array), 0, np.iinfo(np.int16).max).astype(np.int16)
        img = nib.Nifti1Image(data, affine)
    elif kind == "phase":
        img = nib.Nifti1Image(np.round(array * _PHASE_STEPS).astype(np.int16), affine)
        img.header.set_slope_inter(1.0 / _PHASE_STEPS, 0.0)
    else:
        img = nib.Nifti1Image(array.astype(np.uint8), affine)
    img.header.set_xyzt_units("mm", "sec")
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    nib.save(img, path)


def write_subject(subject: SyntheticSubject, folder: Path, name: str) -> dict[str, str]:
    """Writes one subject's files into ``folder`` and returns its datalist entry (paths relative to the cohort).

    Files: ``NAME_T2S`` (HR magnitude), ``NAME_phase``, ``NAME_SWI``, ``NAME_CMB`` (label),
    ``NAME_brainmask``, ``NAME_mimics`` (values of :data:`~cmb_kd.synth.mimic_map.MIMIC_LABELS`), and for
    each factor F the native thick-slice ``NAME_T2S_lr-xF``, ``NAME_SWI_lr-xF``, ``NAME_phase_lr-xF``,
    ``NAME_CMB_lr-xF``, ``NAME_brainmask_lr-xF``; plus ``NAME.json`` describing lesions, mimics and acquisition,
    with the datalist entry (``datalist_entry``).
    """
    folder.mkdir(parents=True, exist_ok=True)
    entry: dict[str, object] = {"subject": name}

    def put(key: str, suffix: str, array: np.ndarray, affine: np.ndarray, kind: str) -> None:
        filename = f"{name}_{suffix}.nii.gz"
        _save(array, affine, folder / filename, kind)
        entry[key] = f"{name}/{filename}"

    put("image", "T2S", subject.magnitude, subject.affine, "image")
    put("label", "CMB", subject.cmb_label, subject.affine, "mask")
    put("phase", "phase", subject.phase, subject.affine, "phase")
    put("swi", "SWI", subject.swi, subject.affine, "image")
    put("brainmask", "brainmask", subject.brain_mask, subject.affine, "mask")
    put("mimics", "mimics", subject.mimic_label, subject.affine, "mask")
    for key, lr in subject.lr.items():
        put(f"image_lr_{key}", f"T2S_lr-{key}", lr.magnitude, lr.affine, "image")
        put(f"label_lr_{key}", f"CMB_lr-{key}", lr.cmb_label, lr.affine, "mask")
        put(f"swi_lr_{key}", f"SWI_lr-{key}", lr.swi, lr.affine, "image")
        put(f"phase_lr_{key}", f"phase_lr-{key}", lr.phase, lr.affine, "phase")
        put(f"brainmask_lr_{key}", f"brainmask_lr-{key}", lr.brain_mask, lr.affine, "mask")
    entry["n_cmb"] = len(subject.lesions)
    record = subject.record()
    record["mimic_labels"] = MIMIC_LABELS
    record["datalist_entry"] = entry
    (folder / f"{name}.json").write_text(json.dumps(record, indent=1))
    return entry


_IDENTITY = "cohort.json"
"""The seed and settings of the cohort a folder holds, written first so that a later run can resume it."""


def _config_record(config: SynthConfig) -> dict:
    return json.loads(json.dumps({k: v for k, v in dataclasses.asdict(config).items() if k != "locations"}))


def _prepare(out_dir: Path, overwrite: bool, resume: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"{out_dir}: exists and is not a folder; expected a folder for the cohort")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (overwrite or resume):
        raise FileExistsError(
            f"{out_dir}: folder is not empty; choose an empty or new folder, pass --resume to add the missing "
            "subjects of the same cohort, or --overwrite to replace the cohort"
        )
    try:
        prepare_folder(out_dir)
    except OutputError as err:
        raise PermissionError(str(err)) from err  # what the cohort's callers catch for an unwritable folder


def _share_cores(threads: int) -> None:
    """Caps the torch threads of a worker process so that the workers together use the machine's cores once."""
    import torch

    torch.set_num_threads(threads)


def _claim(out_dir: Path, identity: dict, resume: bool) -> None:
    """Record which cohort ``out_dir`` holds; when resuming, check that it is this one."""
    path = out_dir / _IDENTITY
    if resume and any(p.name != _IDENTITY for p in out_dir.iterdir()):
        if not path.is_file():
            raise FileExistsError(
                f"{out_dir}: holds no record of the cohort it was written for ({_IDENTITY}); expected a folder "
                "written by this version of cmb-kd synth to resume, or pass --overwrite to replace it"
            )
        found = json.loads(path.read_text())
        kind, found_kind = identity.get("kind", "cmb"), found.get("kind", "cmb")
        if found_kind != kind:
            raise ValueError(
                f"{out_dir}: holds a cohort of another kind ({found_kind}); expected a {kind} cohort to resume it"
            )
        if found != identity:
            differ = sorted(k for k in identity["config"] if found.get("config", {}).get(k) != identity["config"][k])
            if found.get("seed") != identity["seed"]:
                differ.insert(0, "seed")
            raise ValueError(
                f"{out_dir}: holds a cohort of other settings ({', '.join(differ) or 'version'}); expected the seed "
                "and settings it was written with to resume it"
            )
        return
    write_bytes_atomic(path, json.dumps(identity, indent=1).encode("utf-8"))


def _written_entry(out_dir: Path, name: str) -> dict | None:
    """The datalist entry of a subject already complete in ``out_dir`` (``None`` when it is not)."""
    path = out_dir / name / f"{name}.json"
    return json.loads(path.read_text()).get("datalist_entry") if path.is_file() else None


def write_subject_folder(out_dir: Path, name: str, write: Callable[[Path], dict]) -> dict:
    """Calls ``write(folder)`` on a hidden temporary folder and renames it to ``out_dir/name`` when it returns, so
    an interrupted run never leaves a half-written subject under its final name.

    Args:
        out_dir: cohort folder.
        name: subject name (the final folder's name).
        write: writes the subject's files into the folder it is given and returns its datalist entry.

    Returns:
        What ``write`` returned.
    """
    partial = out_dir / f".{name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    entry = write(partial)
    final = out_dir / name
    if final.exists():
        shutil.rmtree(final)
    os.replace(partial, final)
    return entry


def _simulate_and_write(config: SynthConfig, seed: int, out_dir: Path, name: str, preview: bool) -> dict[str, str]:
    """Simulates one subject and writes it to ``out_dir/name``, renamed into place only when complete."""
    subject = simulate_subject(config, seed=seed)

    def write(folder: Path) -> dict[str, str]:
        entry = write_subject(subject, folder, name)
        if preview:
            plot_subject(subject, folder / f"{name}_preview.png", factor=4 if "x4" in subject.lr else None)
        return entry

    entry = write_subject_folder(out_dir, name, write)
    logger.debug("%s: %d CMBs", name, entry["n_cmb"])
    return entry


def write_cohort(
    out_dir: str | Path,
    n_subjects: int,
    seed: int = 0,
    config: SynthConfig | None = None,
    overwrite: bool = False,
    progress: bool = True,
    preview: bool = False,
    workers: int = 1,
    resume: bool = False,
    held_out: bool = False,
) -> Path:
    """Simulates ``n_subjects`` subjects and writes them with a ``datalist.json``.

    Each subject is written into a hidden temporary folder and renamed into place when complete,
    so an interrupted run never leaves a half-written subject under its final name. With ``resume``,
    a folder that holds part of the same cohort (same seed and settings, recorded in ``cohort.json``)
    gets only its missing subjects, so that a large cohort is built over several runs (stopped at any
    moment) or grown to more subjects. A subject counts as written when its folder holds ``NAME.json``;
    subject ``i`` is the same whatever ``n_subjects`` is, but the
    split of ``datalist.json`` follows ``n_subjects`` (:func:`split_subjects`).

    Args:
        out_dir: cohort folder; must be absent or empty unless ``overwrite``.
        n_subjects: number of subjects (>= 1).
        seed: cohort seed; subject i uses :func:`subject_seed` (seed, i).
        config: simulation settings (default :class:`SynthConfig()`).
        overwrite: allow a non-empty ``out_dir``; existing subject folders of the same names are replaced.
        progress: show a progress bar.
        preview: also write ``sub-XXX/sub-XXX_preview.png`` (HR beside native ×4 LR, see :func:`plot_subject`).
        workers: subjects simulated at once, each in its own process; the files do not depend on it.
        resume: add the missing subjects to a folder holding part of this cohort.
        held_out: put every subject in the test list of ``datalist.json`` (a test cohort that no training or
            threshold choice sees) instead of splitting them.

    Returns:
        Path of the written ``datalist.json``.

    Raises:
        ValueError: if ``n_subjects < 1`` or ``workers < 1``.
        FileExistsError: if ``out_dir`` is not empty and neither ``overwrite`` nor ``resume`` is set, or, with
            ``resume``, it holds no record of its cohort.
        ValueError: with ``resume``, if ``out_dir`` holds a cohort of another seed or other settings.
        NotADirectoryError: if ``out_dir`` is a file.
        PermissionError: if ``out_dir`` cannot be created or written.
    """
    return run_cohort(
        out_dir, n_subjects, seed, config or SynthConfig(), _simulate_and_write, _CMB_HEADER, overwrite=overwrite,
        progress=progress, preview=preview, workers=workers, resume=resume, held_out=held_out,
    )  # fmt: skip


#: Name and description of the CMB cohort's datalist.
_CMB_HEADER = {
    "name": "cmb_kd synthetic cohort",
    "description": "Physics-based synthetic T2*/SWI cohort with CMBs and mimics (synthetic data, not clinical).",
}


def run_cohort(
    out_dir: str | Path,
    n_subjects: int,
    seed: int,
    config: object,
    task: Callable[..., dict],
    header: dict[str, str],
    *,
    kind: str | None = None,
    overwrite: bool = False,
    progress: bool = True,
    preview: bool = False,
    workers: int = 1,
    resume: bool = False,
    held_out: bool = False,
) -> Path:
    """Simulates and writes the subjects of a cohort with ``task`` and writes its ``datalist.json``.

    Subject ``i`` is ``task(config, subject_seed(seed, i), out_dir, name, preview)``, which writes the subject's
    folder and returns its datalist entry; it must be a module-level function (it runs in worker processes). The
    folder records the cohort's seed, settings and kind (``cohort.json``) so that ``resume`` adds only the
    missing subjects of the same cohort (see :func:`write_cohort`).

    Args:
        out_dir: cohort folder; must be absent or empty unless ``overwrite`` or ``resume``.
        n_subjects: number of subjects (>= 1).
        seed: cohort seed.
        config: the simulator's settings (a dataclass; recorded in ``cohort.json`` and the datalist).
        task: simulates and writes one subject.
        header: ``name`` and ``description`` of the datalist.
        kind: the cohort's kind, recorded in ``cohort.json`` (None: the CMB cohort, which records none).
        overwrite: allow a non-empty ``out_dir``; existing subject folders of the same names are replaced.
        progress: show a progress bar.
        preview: passed to ``task``.
        workers: subjects simulated at once, each in its own process; the files do not depend on it.
        resume: add the missing subjects to a folder holding part of this cohort.
        held_out: list every subject as a test subject (:func:`split_subjects`).

    Returns:
        Path of the written ``datalist.json``.

    Raises:
        ValueError: if ``n_subjects < 1`` or ``workers < 1``; with ``resume``, if ``out_dir`` holds a cohort of
            another kind, seed or other settings.
        FileExistsError: if ``out_dir`` is not empty and neither ``overwrite`` nor ``resume`` is set, or, with
            ``resume``, it holds no record of its cohort.
        NotADirectoryError: if ``out_dir`` is a file.
        PermissionError: if ``out_dir`` cannot be created or written.
    """
    if int(n_subjects) != n_subjects or n_subjects < 1:
        raise ValueError(f"n_subjects: expected a positive integer, got {n_subjects}")
    if int(workers) != workers or workers < 1:
        raise ValueError(f"workers: expected a positive integer, got {workers}")
    out_dir = Path(out_dir)
    _prepare(out_dir, overwrite, resume)
    settings = _config_record(config)
    resuming = resume and not overwrite
    identity = {"seed": int(seed), "config": settings, **({"kind": kind} if kind is not None else {})}
    _claim(out_dir, identity, resuming)
    width = max(3, len(str(n_subjects)))
    names = [f"sub-{i + 1:0{width}d}" for i in range(n_subjects)]
    entries = {name: _written_entry(out_dir, name) for name in names} if resuming else {}
    jobs = [
        (config, subject_seed(seed, i), out_dir, name, preview)
        for i, name in enumerate(names)
        if entries.get(name) is None
    ]
    entries.update(_run_jobs(task, jobs, n_subjects, workers, progress))
    return _write_datalist(out_dir, names, entries, seed, settings, header, held_out)


def _run_jobs(
    task: Callable[..., dict], jobs: list[tuple], n_subjects: int, workers: int, progress: bool
) -> dict[str, dict[str, str]]:
    """Simulates and writes the subjects of ``jobs`` (arguments of ``task``), in subject order.

    Args:
        task: simulates and writes one subject (see :func:`run_cohort`).
        jobs: one argument tuple per subject left to write.
        n_subjects: subjects of the cohort (the progress bar starts at those already written).
        workers: processes used when there is more than one job.
        progress: show a progress bar.

    Returns:
        Subject name -> datalist entry of each written subject.
    """
    from tqdm.auto import tqdm

    entries = {}
    bar = tqdm(total=n_subjects, initial=n_subjects - len(jobs), desc="synth", unit="subject", disable=not progress)
    with contextlib.ExitStack() as stack:
        run = map
        if workers > 1 and len(jobs) > 1:
            threads = max(1, (os.cpu_count() or 1) // workers)
            pool = ProcessPoolExecutor(max_workers=workers, initializer=_share_cores, initargs=(threads,))
            run = stack.enter_context(pool).map
        for job, entry in zip(jobs, run(task, *zip(*jobs)) if jobs else ()):  # in subject order
            entries[job[3]] = entry
            bar.update()
    bar.close()
    return entries


def _write_datalist(
    out_dir: Path,
    names: list[str],
    entries: dict[str, dict],
    seed: int,
    settings: dict,
    header: dict[str, str],
    held_out: bool,
) -> Path:
    """Writes ``datalist.json``: the cohort's description and its subjects split as :func:`split_subjects` does.

    Returns:
        The path written.
    """
    datalist = {
        "name": header["name"],
        "description": header["description"],
        "cmb_kd_version": __version__,
        "seed": int(seed),
        "config": settings,
    }
    for split, indices in split_subjects(len(names), held_out).items():
        datalist[split] = [entries[names[i]] for i in indices]
    return write_bytes_atomic(out_dir / "datalist.json", json.dumps(datalist, indent=1).encode("utf-8"))
