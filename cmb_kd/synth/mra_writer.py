"""Writes a synthetic TOF MRA cohort with the cohort machinery of :mod:`~cmb_kd.synth.writer`.

Layout: ``OUT/datalist.json`` (``training`` / ``validation`` / ``test``, about 70/15/15 in subject order),
``OUT/cohort.json``, and per subject ``OUT/sub-XXX/`` with ``sub-XXX_TOF.nii.gz`` (float32 image),
``sub-XXX_vessels.nii.gz`` (uint8 vessel label) and ``sub-XXX_brainmask.nii.gz`` (uint8), all on the same RAS grid,
and ``sub-XXX.json`` (drawn physics, pose and the tree's description).
"""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np

from cmb_kd.synth.mra_config import MRAConfig
from cmb_kd.synth.mra_preview import plot_mra_subject
from cmb_kd.synth.mra_subject import MRASubject, simulate_mra_subject
from cmb_kd.synth.writer import run_cohort, write_subject_folder

__all__ = ["MRA_FILES", "write_mra_subject", "write_mra_cohort"]

#: Datalist key -> file suffix of a subject's files (``sub-XXX/sub-XXX_<suffix>.nii.gz``).
MRA_FILES = {"image": "TOF", "label": "vessels", "brain_mask": "brainmask"}

#: Name and description of the MRA cohort's datalist.
_HEADER = {
    "name": "cmb_kd synthetic TOF MRA cohort",
    "description": "Synthetic time-of-flight MRA with arterial trees and vessel labels at the image resolution "
    "(synthetic data, not clinical).",
}


def _save(array: np.ndarray, affine: np.ndarray, path: Path, dtype: type) -> None:
    img = nib.Nifti1Image(np.asarray(array, dtype=dtype), affine)
    img.header.set_xyzt_units("mm", "sec")
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    nib.save(img, path)


def _dumps(record: dict) -> str:
    """The subject's JSON, indented, with one line per tree segment."""
    segments = record["tree"]["segments"]
    marker = "__segments__"
    text = json.dumps({**record, "tree": {**record["tree"], "segments": marker}}, indent=1)
    lines = ",\n".join("   " + json.dumps(segment, separators=(",", ":")) for segment in segments)
    return text.replace(json.dumps(marker), "[\n" + lines + "\n  ]")


def write_mra_subject(subject: MRASubject, folder: Path, name: str) -> dict[str, str]:
    """Writes one subject's files into ``folder`` and returns its datalist entry (paths relative to the cohort).

    Files: ``NAME_TOF`` (float32 image), ``NAME_vessels`` (uint8 label), ``NAME_brainmask`` (uint8) and ``NAME.json``
    (the subject's record with its datalist entry, ``datalist_entry``).
    """
    folder.mkdir(parents=True, exist_ok=True)
    entry = {"subject": name}
    for key, array, dtype in (
        ("image", subject.image, np.float32), ("label", subject.label, np.uint8),
        ("brain_mask", subject.brain_mask, np.uint8),
    ):  # fmt: skip
        filename = f"{name}_{MRA_FILES[key]}.nii.gz"
        _save(array, subject.affine, folder / filename, dtype)
        entry[key] = f"{name}/{filename}"
    record = subject.record()
    record["datalist_entry"] = entry
    (folder / f"{name}.json").write_text(_dumps(record))
    return entry


def _simulate_and_write(config: MRAConfig, seed: int, out_dir: Path, name: str, preview: bool) -> dict[str, str]:
    """Simulates one subject and writes it to ``out_dir/name``, renamed into place only when complete."""
    subject = simulate_mra_subject(config, seed=seed)

    def write(folder: Path) -> dict[str, str]:
        entry = write_mra_subject(subject, folder, name)
        if preview:
            plot_mra_subject(subject, folder / f"{name}_preview.png")
        return entry

    return write_subject_folder(out_dir, name, write)


def write_mra_cohort(
    out_dir: str | Path,
    n_subjects: int,
    seed: int = 0,
    config: MRAConfig | None = None,
    overwrite: bool = False,
    progress: bool = True,
    preview: bool = False,
    workers: int = 1,
    resume: bool = False,
    held_out: bool = False,
) -> Path:
    """Simulates ``n_subjects`` TOF MRA subjects and writes them with a ``datalist.json``.

    Subject ``i`` is ``simulate_mra_subject(config, subject_seed(seed, i))`` whatever ``n_subjects`` and ``workers``
    are; ``resume`` adds the missing subjects of the same cohort (recorded in ``cohort.json`` with kind ``mra``), as
    :func:`~cmb_kd.synth.writer.write_cohort` does for the CMB cohort.

    Args:
        out_dir: cohort folder; must be absent or empty unless ``overwrite`` or ``resume``.
        n_subjects: number of subjects (>= 1).
        seed: cohort seed.
        config: simulation settings (default :class:`~cmb_kd.synth.mra_config.MRAConfig()`, the TubeTK grid).
        overwrite: allow a non-empty ``out_dir``; existing subject folders of the same names are replaced.
        progress: show a progress bar.
        preview: also write ``sub-XXX/sub-XXX_preview.png`` (maximum intensity projections, :func:`plot_mra_subject`).
        workers: subjects simulated at once, each in its own process; the files do not depend on it.
        resume: add the missing subjects to a folder holding part of this cohort.
        held_out: list every subject in the datalist's test list (a cohort kept for testing).

    Returns:
        Path of the written ``datalist.json``.

    Raises:
        ValueError: if ``n_subjects < 1`` or ``workers < 1``; with ``resume``, if ``out_dir`` holds another cohort.
        FileExistsError: if ``out_dir`` is not empty and neither ``overwrite`` nor ``resume`` is set, or, with
            ``resume``, it holds no record of its cohort.
        NotADirectoryError: if ``out_dir`` is a file.
        PermissionError: if ``out_dir`` cannot be created or written.
    """
    return run_cohort(
        out_dir, n_subjects, seed, config or MRAConfig(), _simulate_and_write, _HEADER, kind="mra",
        overwrite=overwrite, progress=progress, preview=preview, workers=workers, resume=resume,
        held_out=held_out,
    )  # fmt: skip
