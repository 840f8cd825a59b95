"""The training runs of the shipped models: which bundle configs each one merges, and how it is launched.

Each run is ``python -m monai.bundle run`` with the bundle's configs and a few overrides, in its own folder
``RUNS/<name>`` (checkpoints, TensorBoard files, ``train.log``, the final weights under ``models/``). A run whose
final weights exist and are intact is skipped (damaged ones, e.g. truncated, are written again); an interrupted run
resumes from its latest intact checkpoint (the configs' ``resume_ckpt``) when it is started again. The wall time of
every invocation is added to ``RUNS/<name>/wall_time.json``. ``cmb-kd train`` is the command line of this module.

Runs (``SEED`` from the seeds asked for):

- ``teacher``: E²U-Net on HR patches (``train.json`` + ``teacher.json``);
- ``screening``: the screening FCN on ×4 LR 20×20×16 patches (``screening.json``);
- ``plkd-sSEED``, ``direct-sSEED``, ``nokd-sSEED``: the E²U-Net student by PLKD (×2 → ×4 → ×8 → ×4), by direct
  transfer at ×4, and without transfer at ×4 (``distill_plkd.json`` with ``curriculum_mode``);
- ``dynunet-sSEED``: MONAI's DynUNet (nnU-Net architecture) on ×4 LR without transfer (``dynunet.json``);
- ``ablation-2d``, ``ablation-3d``, ``ablation-hybrid`` (seed 0) and ``ablation-MODE-sSEED`` (the other seeds):
  E²U-Net without the FCM and with 2D, 3D or 2D+3D convolutions, no transfer (the paper's Table 4; +FCM is
  ``nokd-sSEED``, +KD ``direct-sSEED``, +PLKD ``plkd-sSEED``).

Every student run (and the screening FCN) has the same budget: ``epochs`` epochs of 4 patches per training subject
(PLKD splits them into four equal stages); the teacher, which every transfer run learns from, gets
``teacher_epochs``. Every student run also sees what it will be given at inference: ``native_lr.json`` makes half of
its inputs the cohort's native thick-slice scans, and with mined hard negatives its ``false_positive`` patches are
centred on stage-1 candidates that are not CMBs. ``randomised`` adds ``randomised.json`` (appearance and
presentation drawn per patch) to every run and ``randomised_lr.json`` (an acquisition drawn per LR input) to every
run with an LR input.

Several cohorts are trained on as one (:func:`join_cohorts`): their training and validation lists, with the hard
negatives of each, are joined with paths relative to their parent folder, so that a run folder copied to another
machine with the same cohorts (``cmb-kd synth`` is reproducible) resumes there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from cmb_kd.io import prepare_folder, write_bytes_atomic

__all__ = [
    "Run",
    "TrainingData",
    "ablation_name",
    "bundle_command",
    "join_cohorts",
    "plan",
    "record_wall_time",
    "select_runs",
    "student",
    "train_runs",
]

NO_FCM = {"fcm": False}
E2UNET = {"_target_": "cmb_kd.networks.E2UNet", "spatial_dims": 3, "in_channels": 1, "out_channels": 1}
TEACHER_WEIGHTS = Path("teacher") / "models" / "teacher" / "model.pt"
"""Where the teacher run leaves its weights, relative to the runs folder; the transfer runs read them there."""


@dataclass(frozen=True)
class Run:
    """One training run: its folder name, bundle configs, overrides and the weights file it ends with (its path
    under the run's ``models/``: ``model.pt`` for a student, ``teacher/model.pt`` for the teacher)."""

    name: str
    configs: tuple[str, ...]
    model_filename: str
    overrides: dict[str, object] = field(default_factory=dict)
    needs_teacher: bool = False

    @property
    def lr_student(self) -> bool:
        """Whether the run trains an LR student (the runs whose inputs include native scans and hard negatives)."""
        return "native_lr.json" in self.configs


@dataclass(frozen=True)
class TrainingData:
    """Where the runs find their subjects: the datalist, the folder its paths are relative to, and whether its
    training entries carry hard negatives."""

    dataset_dir: Path
    datalist: Path
    hard_negatives: bool = False


def student(name: str, mode: str, seed: int, epochs: int, network: dict[str, object] | None = None) -> Run:
    """An E²U-Net student trained by ``distill_plkd.json`` in curriculum ``mode`` with the shared budget."""
    stage = epochs // 4
    overrides: dict[str, object] = {
        "curriculum_mode": mode,
        "seed": seed,
        "stage_epochs": [stage] * 4 if mode == "plkd" else [epochs],
    }
    if network:
        # the teacher keeps the default architecture whatever the student's (the no-KD runs build but never use it)
        overrides["network_def"] = {**E2UNET, **network}
        overrides["teacher_def"] = E2UNET
    return Run(name, ("train.json", "distill_plkd.json", "native_lr.json"), "model.pt", overrides, needs_teacher=True)


def ablation_name(mode: str, seed: int) -> str:
    """The run name of the ablation row ``mode`` at ``seed``: ``ablation-MODE`` for seed 0 (the first runs trained
    had no seed in their names), ``ablation-MODE-sSEED`` for the others."""
    return f"ablation-{mode}" if seed == 0 else f"ablation-{mode}-s{seed}"


def plan(seeds: Sequence[int], epochs: int, teacher_epochs: int, randomised: bool = False) -> list[Run]:
    """Every run, in the order they are trained; ``randomised`` adds the randomisation overlays to each.

    Raises:
        ValueError: ``epochs`` is not a multiple of 4 (the four PLKD stages share it).
    """
    if epochs % 4:
        raise ValueError(f"--epochs: expected a multiple of 4 (four PLKD stages), got {epochs}")
    runs = [
        Run("teacher", ("train.json", "teacher.json"), "teacher/model.pt", {"max_epochs": teacher_epochs}),
        Run("screening", ("train.json", "screening.json"), "screening/model.pt", {"max_epochs": epochs}),
    ]
    for seed in seeds:
        runs += [
            student(f"plkd-s{seed}", "plkd", seed, epochs),
            student(f"nokd-s{seed}", "no_kd", seed, epochs),
            student(f"direct-s{seed}", "direct_kd", seed, epochs),
            Run(
                f"dynunet-s{seed}",
                ("train.json", "dynunet.json", "native_lr.json"),
                "dynunet.pt",
                {"max_epochs": epochs, "seed": seed},
            ),
        ]
    for seed in seeds:
        for mode in ("2d", "3d", "hybrid"):
            runs.append(student(ablation_name(mode, seed), "no_kd", seed, epochs, {**NO_FCM, "conv_mode": mode}))
    if not randomised:
        return runs
    # every run but the teacher has an LR input (PrepareLowResolutionBatch) whose acquisition is drawn
    return [
        replace(r, configs=(*r.configs, "randomised.json", *(("randomised_lr.json",) if r.name != "teacher" else ())))
        for r in runs
    ]


def select_runs(runs: list[Run], names: Sequence[str] | None) -> list[Run]:
    """The runs named in ``names`` (all when ``None``), in training order.

    Raises:
        ValueError: a name that is not a run of the plan; the message lists the runs.
    """
    if not names:
        return runs
    unknown = sorted(set(names) - {r.name for r in runs})
    if unknown:
        raise ValueError(f"--only: unknown run(s) {unknown}; expected some of {[r.name for r in runs]}")
    return [r for r in runs if r.name in names]


def join_cohorts(cohorts: Sequence[Path], hard_negative_lists: Sequence[Path], out: Path) -> TrainingData:
    """Joins the training and validation lists of ``cohorts`` (and their hard negatives) into ``out``.

    A single cohort without hard negatives is used as it is. Otherwise every path of an entry is made relative to
    the cohorts' common parent folder, which becomes the runs' ``dataset_dir``; the entries keep their order, cohort
    after cohort, so that the same cohorts always give the same datalist (and a resumed run the same draws).

    Raises:
        ValueError: a cohort without ``datalist.json``, another number of hard-negative datalists than cohorts, a
            training entry without ``hard_negatives``, or a path outside the common parent folder.
    """
    cohorts = [Path(c).resolve() for c in cohorts]
    for cohort in cohorts:
        if not (cohort / "datalist.json").is_file():
            raise ValueError(
                f"--cohort: {cohort / 'datalist.json'}: not found; expected a cohort written by 'cmb-kd synth'"
            )
    if hard_negative_lists and len(hard_negative_lists) != len(cohorts):
        raise ValueError(
            f"--hard-negatives: expected one datalist per cohort ({len(cohorts)}), got {len(hard_negative_lists)}"
        )
    if len(cohorts) == 1 and not hard_negative_lists:
        return TrainingData(cohorts[0], cohorts[0] / "datalist.json")
    parent = Path(os.path.commonpath(cohorts)) if len(cohorts) > 1 else cohorts[0].parent
    lists: dict[str, list[dict[str, object]]] = {"training": [], "validation": []}
    for index, cohort in enumerate(cohorts):
        source = Path(hard_negative_lists[index]).resolve() if hard_negative_lists else cohort / "datalist.json"
        for split, entries in _cohort_entries(source, bool(hard_negative_lists)).items():
            lists[split] += [{k: _relative(v, cohort, parent, source) for k, v in e.items()} for e in entries]
    prepare_folder(out.parent)
    write_bytes_atomic(out, (json.dumps(lists, indent=1) + "\n").encode())
    return TrainingData(parent, out.resolve(), bool(hard_negative_lists))


def _cohort_entries(source: Path, mined: bool) -> dict[str, list[dict[str, object]]]:
    """The training and validation entries of one datalist; a mined one must give every training entry its
    ``hard_negatives``."""
    if not source.is_file():
        raise ValueError(f"--hard-negatives: {source}: not found; write it with scripts/mine_hard_negatives.py")
    content = json.loads(source.read_text())
    splits = {split: list(content.get(split) or []) for split in ("training", "validation")}
    if mined and any("hard_negatives" not in entry for entry in splits["training"]):
        raise ValueError(f"--hard-negatives: {source}: expected a 'hard_negatives' key in every training entry")
    return splits


def _relative(value: object, cohort: Path, parent: Path, source: Path) -> object:
    """A datalist value with its path (relative to ``cohort`` or absolute) made relative to ``parent``."""
    if not isinstance(value, str) or not value.endswith((".nii.gz", ".nii")):
        return value
    path = Path(value) if Path(value).is_absolute() else cohort / value
    if not path.resolve().is_relative_to(parent):
        raise ValueError(f"{source}: {value} lies outside {parent}; expected every file of the cohorts under it")
    return str(path.resolve().relative_to(parent))


def bundle_command(run: Run, folder: Path, data: TrainingData, teacher: Path, device: str, bundle: Path) -> list[str]:
    """The ``monai.bundle run`` command line of ``run`` on ``data``; hard negatives go to the LR students only."""
    files = ",".join(f"'{bundle / 'configs' / name}'" for name in run.configs)
    overrides: dict[str, object] = {
        "bundle_root": str(folder),
        "dataset_dir": str(data.dataset_dir),
        "datalist_file": str(data.datalist),
        "output_dir": str(folder),
        "device": device,
        # the runs train a fixed budget and never validate: no validation pass, and no validation split in memory
        "val_interval": 1000,
        "validate#dataset#cache_rate": 0.0,
        **run.overrides,
    }
    if run.needs_teacher:
        overrides["teacher_ckpt"] = str(teacher)
    if run.lr_student and data.hard_negatives:
        overrides["hard_negative_key"] = "hard_negatives"
    cmd = [sys.executable, "-m", "monai.bundle", "run", "--config_file", f"[{files}]"]
    cmd += ["--logging_file", str(bundle / "configs" / "logging.conf")]
    for key, value in overrides.items():
        cmd += [f"--{key}", value if isinstance(value, str) else repr(value)]
    return cmd


def record_wall_time(folder: Path, seconds: float, finished: bool) -> None:
    """Adds one invocation's wall time to ``folder/wall_time.json`` (written atomically: a kill never leaves a
    truncated record)."""
    path = folder / "wall_time.json"
    record = json.loads(path.read_text()) if path.is_file() else {"invocations": [], "seconds": 0.0}
    record["invocations"].append({"seconds": round(seconds, 1), "finished": finished})
    record["seconds"] = round(record["seconds"] + seconds, 1)
    write_bytes_atomic(path, json.dumps(record, indent=1).encode())


def train_runs(
    runs: Sequence[Run],
    runs_dir: Path,
    data: TrainingData,
    *,
    bundle: Path,
    device: str = "cpu",
    dry_run: bool = False,
    say: Callable[[str], None] = print,
) -> None:
    """Trains ``runs`` one after another in ``runs_dir/<name>``, skipping those whose final weights are intact.

    Args:
        runs: the runs, in training order (the teacher before the runs that need it).
        runs_dir: the folder of the run folders.
        data: the training data (:func:`join_cohorts`).
        bundle: the bundle folder whose ``configs/`` the runs merge.
        device: ``"cpu"`` or ``"cuda"``.
        dry_run: only report each run's command line.
        say: where progress lines go.

    Raises:
        RuntimeError: a run needs the teacher's weights and they are missing, or a run's training failed (the
            message names its log).
    """
    from cmb_kd.handlers import is_complete_checkpoint

    teacher = (runs_dir / TEACHER_WEIGHTS).resolve()
    for run in runs:
        folder = (runs_dir / run.name).resolve()
        final = folder / "models" / run.model_filename
        cmd = bundle_command(run, folder, data, teacher, device, bundle)
        if dry_run:
            say(" ".join(cmd))
            continue
        if final.is_file():
            if is_complete_checkpoint(final):
                say(f"{run.name}: done ({final})")
                continue
            say(f"{run.name}: {final} is damaged (empty or truncated); training resumes to write it again")
        if run.needs_teacher and not teacher.is_file():
            raise RuntimeError(f"{run.name}: needs the teacher's weights {teacher}; train the 'teacher' run first")
        _train_one(run, folder, cmd, bundle, say)
        say(f"{run.name}: {final}")


def _train_one(run: Run, folder: Path, cmd: list[str], bundle: Path, say: Callable[[str], None]) -> None:
    """Runs one training process with its output in ``folder/train.log`` and records its wall time, also when it
    is stopped by Ctrl-C or a kill (``subprocess.call`` stops the child)."""
    folder.mkdir(parents=True, exist_ok=True)
    say(f"{run.name}: training, log in {folder / 'train.log'}")
    start = time.perf_counter()
    code = None
    try:
        with open(folder / "train.log", "a") as log:
            code = subprocess.call(cmd, cwd=bundle, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
    finally:
        record_wall_time(folder, time.perf_counter() - start, finished=code == 0)
    if code != 0:
        raise RuntimeError(f"{run.name}: training failed (exit code {code}); see {folder / 'train.log'}")
