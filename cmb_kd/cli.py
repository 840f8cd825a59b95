"""The ``cmb-kd`` command line: a thin shell over the typed Python API.

Each subcommand parses its arguments, imports the heavy modules it needs inside its handler and
calls one function of the package with keyword arguments. Errors a user can fix (bad paths, bad
values) are reported as one line on stderr with a non-zero exit code, never as a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cmb_kd.cli_infer import add_infer_parser

if TYPE_CHECKING:
    import torch

    from cmb_kd.inference import CMBDetector
    from cmb_kd.synth import MRAConfig, SynthConfig

__all__ = ["main", "build_parser"]

logger = logging.getLogger("cmb_kd")


_DETAIL_CHARACTERS = 300
"""Longest detail of a library's error quoted in a one-line message (the whole error is logged with ``-v``)."""


class UserError(Exception):
    """An error caused by the user's input, reported as one line without a traceback."""


def _one_line(text: str) -> str:
    """``text`` with every run of white space (newlines included) as one space."""
    return " ".join(text.split())


def _root_cause(err: BaseException) -> str:
    """The innermost cause of ``err`` (what a wrapping library error was raised from), as one short line."""
    while err.__cause__ is not None:
        err = err.__cause__
    text = _one_line(str(err))
    if len(text) > _DETAIL_CHARACTERS:
        text = text[: _DETAIL_CHARACTERS - 3].rstrip() + "..."
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


#: Options of ``cmb-kd synth`` that only one kind of cohort takes: option -> (attribute, kind).
_SYNTH_ONLY = {"--te": ("te", "cmb"), "--lr-factors": ("lr_factors", "cmb"), "--grid": ("grid", "mra")}


def _synth_setup(args: argparse.Namespace) -> tuple[SynthConfig | MRAConfig, Callable[..., Path]]:
    """The configuration and the cohort writer of ``cmb-kd synth`` for ``--kind``.

    Raises:
        UserError: if an option that the other kind takes was given.
    """
    from cmb_kd.synth import MRA_GRIDS, MRAConfig, SynthConfig, write_cohort, write_mra_cohort

    for option, (attribute, kind) in _SYNTH_ONLY.items():
        if getattr(args, attribute) is not None and args.kind != kind:
            raise UserError(f"{option} applies to --kind {kind} only, not to --kind {args.kind}; leave it out")
    overrides = {}
    if args.field is not None:
        overrides["field_strengths"] = (args.field,)
    if args.snr is not None:
        overrides["snr_range"] = (args.snr, args.snr)
    if args.kind == "mra":
        shape, spacing, centre = MRA_GRIDS[args.grid or "tubetk"]
        overrides.update(shape=shape, spacing=spacing, centre_mm=centre)
        return (MRAConfig.randomised if args.randomised else MRAConfig)(**overrides), write_mra_cohort
    if args.te is not None:
        overrides["echo_time_range"] = (args.te, args.te)
    make = SynthConfig.randomised if args.randomised else SynthConfig
    return make(lr_factors=tuple(args.lr_factors or (2, 4, 8)), **overrides), write_cohort


def _cmd_synth(args: argparse.Namespace) -> int:
    try:
        config, write = _synth_setup(args)
        write(
            out_dir=Path(args.out_dir),
            n_subjects=args.subjects,
            seed=args.seed,
            config=config,
            overwrite=args.overwrite,
            progress=not args.quiet,
            preview=args.preview,
            workers=args.workers,
            resume=args.resume,
            held_out=args.held_out,
        )
    except (ValueError, FileExistsError, PermissionError, NotADirectoryError) as err:
        raise UserError(str(err)) from err
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from cmb_kd.metrics import evaluate_folders, format_metrics_table

    try:
        result = evaluate_folders(
            pred_dir=Path(args.pred),
            ref_dir=Path(args.ref),
            output_dir=None if args.output is None else Path(args.output),
            max_distance_mm=args.max_distance,
            progress=not args.quiet,
        )
    except (ValueError, FileNotFoundError, PermissionError) as err:
        raise UserError(str(err)) from err
    print(format_metrics_table(result, per_subject=args.per_subject))
    print(f"wrote {result.json_path} and {result.csv_path}")
    return 0


def _cmd_infer(args: argparse.Namespace) -> int:
    import signal

    from cmb_kd.inference import TorchrunRank, process_group, run_distributed_inference, run_inference
    from cmb_kd.io import OutputError

    previous = signal.signal(signal.SIGTERM, _stop)  # torchrun stops the other processes when one fails
    try:
        rank = TorchrunRank.from_environment() if args.distributed else None
        device = rank.device(args.device) if rank is not None else args.device or "cpu"
        with process_group(device) if rank is not None else contextlib.nullcontext():
            run = (run_inference if rank is None else run_distributed_inference)(
                args.inputs,
                Path(args.output),
                _detector(args, device),
                report=args.report,
                progress=not args.quiet,
                phase=not args.no_phase,
                brain_masks=args.brain_mask,
                resume=args.resume,
                location=args.location,
            )
    except (ValueError, FileNotFoundError, OutputError) as err:
        raise UserError(str(err)) from err
    finally:
        signal.signal(signal.SIGTERM, previous)
    if rank is not None and rank.rank != 0:
        return run.status  # the same run on every process: rank 0 says how it went
    # each failed input was logged (level WARNING) as it happened; the last line counts them
    failed, total = len(run.failures), len(run.outcomes)
    if failed:
        print(f"cmb-kd infer: error: {failed} of {total} input(s) failed; see {run.summary_path}", file=sys.stderr)
    else:
        print(f"processed {total} of {total} input(s); wrote {run.summary_path}")
    return run.status


def _detector(args: argparse.Namespace, device: str | torch.device) -> CMBDetector:
    """The bundle's detector on ``device``; a config that raises is a one-line :class:`UserError`."""
    from cmb_kd.inference import INFERENCE_CONFIG, CMBDetector, default_bundle_dir

    bundle = Path(args.bundle) if args.bundle is not None else default_bundle_dir()
    overrides = {} if args.paramagnetic_phase is None else {"paramagnetic_phase": args.paramagnetic_phase}
    try:
        return CMBDetector.from_bundle(bundle, device=device, allow_untrained=args.allow_untrained, overrides=overrides)
    except (ValueError, FileNotFoundError):
        raise
    except Exception as err:  # a bundle's config runs code: whatever it raised (often a PyTorch/MONAI error)
        raise UserError(
            f"{bundle / INFERENCE_CONFIG}: cannot build the detector ({_root_cause(err)}); expected a bundle "
            "whose config builds a CMBDetector (run with -v for the full error)"
        ) from err


def _stop(signum: int, frame: object) -> None:
    """A kill (SIGTERM) ends a training or inference run through the same clean-up as Ctrl-C."""
    raise SystemExit(128 + signum)


def _cmd_train(args: argparse.Namespace) -> int:
    import signal

    from cmb_kd.inference import default_bundle_dir
    from cmb_kd.train_runs import join_cohorts, plan, select_runs, train_runs

    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        data = join_cohorts(args.cohort, args.hard_negatives, args.runs / "datalist.json")
        runs = select_runs(plan(args.seeds, args.epochs, args.teacher_epochs, args.randomised), args.only)
        bundle = args.bundle.resolve() if args.bundle is not None else default_bundle_dir()
        train_runs(runs, args.runs, data, bundle=bundle, device=args.device, dry_run=args.dry_run, say=_say)
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        raise UserError(str(err)) from err
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


def _say(line: str) -> None:
    print(line, flush=True)


SYNTH_DESCRIPTION = """Simulate a cohort of synthetic subjects. --kind cmb (default): subjects with CMBs and mimics
(veins, calcifications): for each, a 1 mm T2*-weighted magnitude, phase and SWI, their native thick-slice
acquisitions, the CMB label, brain mask and mimic mask, and a JSON of the drawn physics and lesions. --kind mra:
time-of-flight MRA subjects with arterial trees (circle of Willis, main and grown branches) at 0.5x0.5x0.8 mm like
TubeTK, the vessel label at the image resolution, the brain mask, and a JSON of the drawn physics and the tree.
Reproducible from --seed."""
SYNTH_EPILOG = """writes:
  OUT_DIR/datalist.json, OUT_DIR/cohort.json
  --kind cmb: OUT_DIR/sub-XXX/sub-XXX_{T2S,phase,SWI,CMB,brainmask,mimics}.nii.gz, ..._lr-xF.nii.gz per factor,
              sub-XXX.json
  --kind mra: OUT_DIR/sub-XXX/sub-XXX_{TOF,vessels,brainmask}.nii.gz, sub-XXX.json

options of one kind only:
  --te, --lr-factors: --kind cmb; --grid: --kind mra

example:
  cmb-kd synth data/cohort --subjects 20 --seed 1 --workers 2
  cmb-kd synth data/mra --kind mra --subjects 20 --seed 1 --preview"""
EVALUATE_DESCRIPTION = """Score predicted CMB masks against reference masks, lesion by lesion (a predicted component
touching a reference lesion, or with --max-distance one whose centroid lies near it) and voxel by voxel."""
EVALUATE_EPILOG = """accepts:
  --pred: a folder of NAME_cmb_mask.nii.gz (as cmb-kd infer writes); --ref: reference masks named NAME.nii.gz,
  NAME_CMB.nii.gz or by subject folder (VALDO and cmb-kd synth layouts; docs/metrics.md)

writes, in --output (default --pred):
  metrics.json, metrics_per_subject.csv; prints the table

example:
  cmb-kd evaluate --pred results/ --ref data/cohort --max-distance 5"""
TRAIN_DESCRIPTION = """Train the bundle's models through its configs (python -m monai.bundle run, one run after
another): the HR teacher, the screening FCN, and for each of --seeds the students by PLKD, direct transfer and without
transfer, DynUNet and the ablations. A run stopped by Ctrl-C or a kill resumes from its latest intact checkpoint when
the same command is started again; a run whose final weights are intact is skipped."""
TRAIN_EPILOG = """runs (--only picks some, in this order):
  teacher, screening, plkd-sSEED, nokd-sSEED, direct-sSEED, dynunet-sSEED, ablation-{2d,3d,hybrid}[-sSEED]

writes, in --runs:
  datalist.json (with several cohorts or hard negatives), RUN/checkpoints/, RUN/models/, RUN/train.log,
  RUN/wall_time.json

example:
  cmb-kd train --cohort data/cohort --runs runs/models --only teacher screening plkd-s0 --epochs 16"""


def build_parser() -> argparse.ArgumentParser:
    """Builds the argument parser of ``cmb-kd`` with one sub-parser per subcommand."""
    from cmb_kd import __version__

    parser = argparse.ArgumentParser(
        prog="cmb-kd", description="Cerebral microbleed detection on low-resolution T2*/SWI MRI."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_synth, _add_infer, _add_evaluate, _add_train):
        add(sub)
    return parser


def _add_synth(sub: argparse._SubParsersAction) -> None:
    synth = sub.add_parser(
        "synth",
        help="generate a physics-based synthetic CMB cohort",
        description=SYNTH_DESCRIPTION,
        epilog=SYNTH_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    synth.add_argument("out_dir", help="output folder (must be empty or absent unless --overwrite)")
    synth.add_argument(
        "--kind", choices=("cmb", "mra"), default="cmb", help="cmb: T2*/SWI with CMBs (default); mra: TOF angiography"
    )
    synth.add_argument("--subjects", type=int, default=10, help="number of subjects (default 10)")
    synth.add_argument("--seed", type=int, default=0, help="random seed of the cohort (default 0)")
    synth.add_argument("--field", type=float, default=None, help="B0 in tesla (default: 1.5 or 3 T per subject)")
    synth.add_argument("--te", type=float, default=None, help="echo time in seconds (default: drawn per subject)")
    synth.add_argument("--snr", type=float, default=None, help="white-matter SNR of the HR image (default: drawn)")
    synth.add_argument(
        "--lr-factors", type=_positive_int, nargs="+", default=None, help="slice-thickness factors (default 2 4 8)"
    )
    synth.add_argument(
        "--grid",
        choices=("tubetk", "small"),
        default=None,
        help="MRA field of view: tubetk (448x448x128, default) or small (128x128x64 around the circle of Willis)",
    )
    synth.add_argument("--overwrite", action="store_true", help="replace the contents of a non-empty OUT_DIR")
    synth.add_argument(
        "--resume",
        action="store_true",
        help="add the missing subjects to an OUT_DIR holding part of the same cohort (same seed and settings)",
    )
    synth.add_argument(
        "--held-out",
        action="store_true",
        help="put every subject in the datalist's test list: a test cohort that no training or threshold choice sees",
    )
    synth.add_argument(
        "--randomised",
        action="store_true",
        help="the broad preset: every randomisation of the physics, lesions and mimics (mra: anatomy, tree and "
        "physics) on (docs/data.md)",
    )
    synth.add_argument(
        "--preview",
        action="store_true",
        help="also write a PNG per subject (cmb: HR beside x4 LR; mra: maximum intensity projections and label)",
    )
    synth.add_argument(
        "--workers", type=_positive_int, default=1, help="subjects simulated in parallel processes (default 1)"
    )
    synth.add_argument("--quiet", action="store_true", help="no progress bar")
    synth.set_defaults(handler=_cmd_synth)


def _add_infer(sub: argparse._SubParsersAction) -> None:
    add_infer_parser(sub).set_defaults(handler=_cmd_infer)


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    evaluate = sub.add_parser(
        "evaluate",
        help="lesion-level and voxel-level metrics of predicted CMB masks",
        description=EVALUATE_DESCRIPTION,
        epilog=EVALUATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    evaluate.add_argument("--pred", required=True, help="folder of NAME_cmb_mask.nii.gz predictions")
    evaluate.add_argument("--ref", required=True, help="folder of reference masks (flat or cohort/VALDO layout)")
    evaluate.add_argument(
        "--output", default=None, help="where metrics.json and the per-subject CSV go (default: --pred)"
    )
    evaluate.add_argument(
        "--max-distance", type=float, default=None, help="also match lesions whose centroids lie within this many mm"
    )
    evaluate.add_argument("--per-subject", action="store_true", help="print one row per subject too")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")
    evaluate.set_defaults(handler=_cmd_evaluate)


def _add_train(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser(
        "train",
        help="train the models of the bundle (teacher, screening FCN, students), resumable",
        description=TRAIN_DESCRIPTION,
        epilog=TRAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument("--cohort", type=Path, nargs="+", required=True, help="cohort folder(s) written by cmb-kd synth")
    train.add_argument("--runs", type=Path, default=Path("runs/models"), help="folder of the runs (runs/models)")
    train.add_argument("--only", nargs="+", default=None, metavar="RUN", help="names of the runs to do (default: all)")
    train.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="training seeds of the students")
    train.add_argument("--epochs", type=_positive_int, default=16, help="epochs of every student run (a multiple of 4)")
    train.add_argument("--teacher-epochs", type=_positive_int, default=32, help="epochs of the HR teacher (32)")
    train.add_argument(
        "--hard-negatives",
        type=Path,
        nargs="+",
        default=[],
        help="datalists of scripts/mine_hard_negatives.py for the students, one per cohort",
    )
    train.add_argument(
        "--randomised", action="store_true", help="draw appearance, presentation and LR acquisition per patch"
    )
    train.add_argument("--bundle", type=Path, default=None, help="bundle whose configs are trained (the shipped one)")
    train.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where the networks train (cpu)")
    train.add_argument("--dry-run", action="store_true", help="print the command line of each run only")
    train.set_defaults(handler=_cmd_train)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs ``cmb-kd`` with ``argv`` (default: ``sys.argv[1:]``) and returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(message)s")
    if args.command == "synth" and args.subjects < 1:
        parser.exit(2, f"cmb-kd synth: error: --subjects: expected at least 1, got {args.subjects}\n")
    try:
        return args.handler(args)
    except UserError as err:
        logger.debug("cmb-kd %s failed", args.command, exc_info=err)  # the whole chain, with -v
        print(f"cmb-kd {args.command}: error: {_one_line(str(err))}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # python -m cmb_kd.cli, as python -m cmb_kd
    raise SystemExit(main())
