"""Evaluates the trained models of docs/results.md on a cohort's test scans and writes the results tables.

Every run of ``cmb-kd train`` with final weights segments the split's native ×F scans (the teacher the HR
scans) through the bundle's detector, with and without the phase images; see :mod:`cmb_kd.evaluation` and
``docs/metrics.md``. Writes ``OUT/metrics.json`` and prints the main table, the same without the phase images and
the ×4 ablation table. ``--write-docs`` replaces, in each given file, the text between the markers
``<!-- results:NAME:start -->`` and ``<!-- results:NAME:end -->`` for NAME ``table``, ``magnitude``, ``ablation``
and ``walltime``. ``--thresholds T ...`` picks per run and mode the threshold of best pooled F1 at ×4 (choose on the
validation split, then evaluate the test split with ``--thresholds-from VAL_OUT/metrics.json``); ``--merge
METRICS_JSON`` keeps the runs of an earlier record of the same evaluation that are not evaluated now.

Usage: python scripts/evaluate_models.py --cohort data/cohort [--runs runs/models] [--split test] [--factors 2 4 8]
           [--models plkd-s0 teacher ...] [--bundle PATH] [--device cpu] [--out results] [--screening]
           [--thresholds T ... | --thresholds-from METRICS_JSON] [--merge METRICS_JSON]
           [--write-docs docs/results.md ...]
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from cmb_kd.evaluation import ABLATION_FACTOR, evaluate_models, write_tables_into

BUNDLE = Path(__file__).resolve().parents[1] / "bundles" / "cmb_lr_mri_segmentation"


def build_parser() -> argparse.ArgumentParser:
    """The command line of the script."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohort", type=Path, required=True, help="cohort folder written by cmb-kd synth")
    parser.add_argument("--runs", type=Path, default=Path("runs/models"), help="folder of the trained runs")
    parser.add_argument("--split", default="test", help="datalist list to evaluate (default: test)")
    parser.add_argument("--factors", nargs="+", type=int, default=[2, 4, 8], help="thick-slice factors")
    parser.add_argument("--models", nargs="+", default=None, help="runs to evaluate (default: all with weights)")
    parser.add_argument("--bundle", type=Path, default=BUNDLE, help="bundle whose inference.json builds the detector")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--out", type=Path, default=Path("results"), help="folder for metrics.json")
    parser.add_argument(
        "--screening",
        action="store_true",
        help="add the screening FCN (RUNS/screening/models/screening/model.pt) to stage 1; off by default, as in "
        "the bundle",
    )
    parser.add_argument(
        "--no-phase",
        action="store_true",
        help="leave the phase images out (the clean-up's phase-sign rule then keeps calcifications)",
    )
    parser.add_argument(
        "--thresholds",
        nargs="+",
        type=float,
        default=None,
        help="probability thresholds to evaluate; with several, each run's threshold of best pooled F1 at "
        f"×{ABLATION_FACTOR} (or the first factor) is chosen and used in the tables (default: the bundle's)",
    )
    parser.add_argument(
        "--thresholds-from",
        type=Path,
        default=None,
        help="metrics.json of an earlier evaluation (e.g. on the validation split): each run at the threshold chosen "
        "there",
    )
    parser.add_argument(
        "--merge",
        type=Path,
        default=None,
        help="metrics.json of an earlier evaluation of the same cohort and split: its runs not evaluated now are kept",
    )
    parser.add_argument(
        "--write-docs", nargs="+", type=Path, default=[], help="Markdown files whose results markers are replaced"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    progress = logging.getLogger("cmb_kd.evaluation")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    progress.addHandler(handler)
    level = progress.level
    progress.setLevel(logging.INFO)
    try:
        evaluation = evaluate_models(
            args.cohort, args.runs, args.out, bundle=args.bundle, split=args.split, factors=args.factors,
            models=args.models, device=args.device, screening=args.screening, phase=not args.no_phase,
            thresholds=args.thresholds, thresholds_file=args.thresholds_from, merge=args.merge, docs=args.write_docs,
        )  # fmt: skip
        tables = evaluation.tables
        print(f"{tables['table']}\n\nWithout the phase images:\n\n{tables['magnitude']}\n\n{tables['ablation']}")
        if args.thresholds is not None and len(args.thresholds) > 1:
            for mode, title in (("phase", "With the phase images"), ("magnitude", "Without the phase images")):
                print(f"\n{title}:\n\n{evaluation.threshold_tables[mode]}")
        print(f"wrote {evaluation.metrics_path}", file=sys.stderr, flush=True)
        write_tables_into(args.write_docs, tables)
    except ValueError as err:
        parser.error(str(err))
    finally:
        progress.removeHandler(handler)
        progress.setLevel(level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
