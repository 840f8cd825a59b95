"""Trains every model of docs/results.md through the bundle's configs, one run after another, resumable.

Each run is ``python -m monai.bundle run`` with the bundle's configs and a few overrides, in its own folder
``RUNS/<name>`` (checkpoints, TensorBoard files, ``train.log``, the final weights under ``models/``). A run whose
final weights exist and are intact is skipped (damaged ones, e.g. truncated, are written again); an interrupted run
resumes from its latest intact checkpoint (the configs' ``resume_ckpt``) when the script is started again. The wall
time of every invocation is added to ``RUNS/<name>/wall_time.json``.

Runs (``--only`` picks some, in this order; ``SEED`` from ``--seeds``):

- ``teacher``: E²U-Net on HR patches (``train.json`` + ``teacher.json``);
- ``screening``: the screening FCN on ×4 LR 20×20×16 patches (``screening.json``);
- ``plkd-sSEED``, ``direct-sSEED``, ``nokd-sSEED``: the E²U-Net student by PLKD (×2 → ×4 → ×8 → ×4), by direct
  transfer at ×4, and without transfer at ×4 (``distill_plkd.json`` with ``curriculum_mode``);
- ``dynunet-sSEED``: MONAI's DynUNet (nnU-Net architecture) on ×4 LR without transfer (``dynunet.json``);
- ``ablation-2d``, ``ablation-3d``, ``ablation-hybrid`` (seed 0) and ``ablation-MODE-sSEED`` (the other seeds):
  E²U-Net without the FCM and with 2D, 3D or 2D+3D convolutions, no transfer (the paper's Table 4; +FCM is
  ``nokd-sSEED``, +KD ``direct-sSEED``, +PLKD ``plkd-sSEED``).

Every student run (and the screening FCN) has the same budget: ``--epochs`` epochs of 4 patches per training
subject (PLKD splits them into four equal stages); the teacher, which every transfer run learns from, gets
``--teacher-epochs``.

Every student run (E²U-Net and DynUNet) also sees what it will be given at inference: ``native_lr.json`` makes half
of its inputs the cohort's native thick-slice scans of the current factor instead of degraded HR patches, and with
``--hard-negatives DATALIST`` (written by ``scripts/mine_hard_negatives.py``) its ``false_positive`` patches are
centred on stage-1 candidates of the training subjects that are not CMBs. The teacher and the screening FCN are
trained on the cohort as it is.

Usage: python scripts/train_models.py --cohort data/cohort [--runs runs/models] [--only teacher plkd-s0]
           [--seeds 0 1 2] [--epochs 16] [--teacher-epochs 32] [--hard-negatives DATALIST] [--device cpu]
           [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from cmb_kd.handlers import is_complete_checkpoint

BUNDLE = Path(__file__).resolve().parents[1] / "bundles" / "cmb_lr_mri_segmentation"
NO_FCM = {"fcm": False}
E2UNET = {"_target_": "cmb_kd.networks.E2UNet", "spatial_dims": 3, "in_channels": 1, "out_channels": 1}


@dataclass(frozen=True)
class Run:
    """One training run: its folder name, bundle configs, overrides and the weights file it ends with."""

    name: str
    configs: tuple[str, ...]
    model_filename: str
    overrides: dict[str, object] = field(default_factory=dict)
    needs_teacher: bool = False

    @property
    def lr_student(self) -> bool:
        """Whether the run trains an LR student (the runs whose inputs include native scans and hard negatives)."""
        return "native_lr.json" in self.configs


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


def plan(seeds: list[int], epochs: int, teacher_epochs: int) -> list[Run]:
    """Every run, in the order they are trained."""
    if epochs % 4:
        raise ValueError(f"--epochs: expected a multiple of 4 (four PLKD stages), got {epochs}")
    runs = [
        Run("teacher", ("train.json", "teacher.json"), "teacher.pt", {"max_epochs": teacher_epochs}),
        Run("screening", ("train.json", "screening.json"), "screening.pt", {"max_epochs": epochs}),
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
            name = ablation_name(mode, seed)
            runs.append(student(name, "no_kd", seed, epochs, {**NO_FCM, "conv_mode": mode}))
    return runs


def ablation_name(mode: str, seed: int) -> str:
    """The run name of the ablation row ``mode`` at ``seed``: ``ablation-MODE`` for seed 0 (the first runs trained
    had no seed in their names), ``ablation-MODE-sSEED`` for the others."""
    return f"ablation-{mode}" if seed == 0 else f"ablation-{mode}-s{seed}"


def command(
    run: Run, folder: Path, cohort: Path, teacher: Path, device: str, hard_negatives: Path | None = None
) -> list[str]:
    """The ``monai.bundle run`` command line of ``run``; ``hard_negatives`` is the datalist of a student run."""
    files = ",".join(f"'{BUNDLE / 'configs' / name}'" for name in run.configs)
    overrides: dict[str, object] = {
        "bundle_root": str(folder),
        "dataset_dir": str(cohort),
        "output_dir": str(folder),
        "device": device,
        # the runs train a fixed budget and never validate: no validation pass, and no validation split in memory
        "val_interval": 1000,
        "validate#dataset#cache_rate": 0.0,
        **run.overrides,
    }
    if run.needs_teacher:
        overrides["teacher_ckpt"] = str(teacher)
    if run.lr_student and hard_negatives is not None:
        overrides["datalist_file"] = str(hard_negatives)
        overrides["hard_negative_key"] = "hard_negatives"
    cmd = [sys.executable, "-m", "monai.bundle", "run", "--config_file", f"[{files}]"]
    cmd += ["--logging_file", str(BUNDLE / "configs" / "logging.conf")]
    for key, value in overrides.items():
        cmd += [f"--{key}", value if isinstance(value, str) else repr(value)]
    return cmd


def record_wall_time(folder: Path, seconds: float, finished: bool) -> None:
    """Adds one invocation's wall time to ``folder/wall_time.json``."""
    path = folder / "wall_time.json"
    record = json.loads(path.read_text()) if path.is_file() else {"invocations": [], "seconds": 0.0}
    record["invocations"].append({"seconds": round(seconds, 1), "finished": finished})
    record["seconds"] = round(record["seconds"] + seconds, 1)
    partial = path.with_name(f".{path.name}.tmp")
    partial.write_text(json.dumps(record, indent=1))
    os.replace(partial, path)  # a kill never leaves a truncated record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohort", type=Path, required=True, help="cohort folder written by cmb-kd synth")
    parser.add_argument("--runs", type=Path, default=Path("runs/models"), help="folder of the runs")
    parser.add_argument("--only", nargs="+", default=None, help="names of the runs to do (default: all)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="training seeds of the students")
    parser.add_argument("--epochs", type=int, default=16, help="epochs of every student run (a multiple of 4)")
    parser.add_argument("--teacher-epochs", type=int, default=32, help="epochs of the HR teacher")
    parser.add_argument(
        "--hard-negatives", type=Path, default=None, help="datalist of scripts/mine_hard_negatives.py for the students"
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = parser.parse_args()

    datalist = args.cohort / "datalist.json"
    if not datalist.is_file():
        parser.error(f"{datalist}: not found; expected a cohort written by 'cmb-kd synth'")
    hard_negatives = None
    if args.hard_negatives is not None:
        hard_negatives = args.hard_negatives.resolve()
        if not hard_negatives.is_file():
            parser.error(f"--hard-negatives: {hard_negatives}: not found; write it with scripts/mine_hard_negatives.py")
        training = json.loads(hard_negatives.read_text()).get("training") or []
        if not training or any("hard_negatives" not in entry for entry in training):
            parser.error(f"--hard-negatives: {hard_negatives}: expected a 'hard_negatives' key in every training entry")
    runs = plan(args.seeds, args.epochs, args.teacher_epochs)
    if args.only:
        unknown = sorted(set(args.only) - {r.name for r in runs})
        if unknown:
            parser.error(f"--only: unknown run(s) {unknown}; expected some of {[r.name for r in runs]}")
        runs = [r for r in runs if r.name in args.only]
    teacher = (args.runs / "teacher" / "models" / "teacher.pt").resolve()
    for run in runs:
        folder = (args.runs / run.name).resolve()
        final = folder / "models" / run.model_filename
        cmd = command(run, folder, args.cohort.resolve(), teacher, args.device, hard_negatives)
        if args.dry_run:
            print(" ".join(cmd))
            continue
        if final.is_file():
            if is_complete_checkpoint(final):
                print(f"{run.name}: done ({final})")
                continue
            print(f"{run.name}: {final} is damaged (empty or truncated); training resumes to write it again")
        if run.needs_teacher and not teacher.is_file():
            sys.exit(f"{run.name}: needs the teacher's weights {teacher}; train the 'teacher' run first")
        folder.mkdir(parents=True, exist_ok=True)
        print(f"{run.name}: training, log in {folder / 'train.log'}", flush=True)
        start = time.perf_counter()
        with open(folder / "train.log", "a") as log:
            code = subprocess.call(cmd, cwd=BUNDLE, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
        record_wall_time(folder, time.perf_counter() - start, finished=code == 0)
        if code != 0:
            sys.exit(f"{run.name}: training failed (exit code {code}); see {folder / 'train.log'}")
        print(f"{run.name}: {final}", flush=True)


if __name__ == "__main__":
    main()
