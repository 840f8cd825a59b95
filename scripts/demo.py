"""`make demo`: find the CMBs of a synthetic thick-slice scan with the shipped pretrained bundle.

Generates one synthetic subject (VALDO-style, 1 mm grid, with its native 4 mm thick-slice acquisition and its phase)
into OUTPUT/cohort/, then runs ``cmb-kd infer --report`` on that 4 mm scan with the shipped bundle exactly as a user
would (the phase image beside the scan goes to the clean-up's phase-sign rule), writing OUTPUT/inference/. Prints
the number of CMBs found against the true number (connected components of the subject's 4 mm label), how many of the
found ones match a true CMB, the paths of the mask, lesion table, summary CSV, report picture and report page, and the
total wall time. Files of an earlier run are replaced; the input scan is only read.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import nibabel as nib

from cmb_kd.cli import main as cmb_kd_main
from cmb_kd.inference import OutputWriter, default_bundle_dir
from cmb_kd.inference.input_discovery import phase_beside
from cmb_kd.metrics import compute_lesion_counts
from cmb_kd.synth import SynthConfig, write_cohort

LR_KEY = "x4"
"""The native acquisition the demo runs on: 4 mm thick slices (×4 the 1 mm grid)."""
DEMO_CONFIG = SynthConfig(lr_factors=(4,))
"""The demo subject: the default 1 mm grid with only the ×4 thick-slice acquisition."""


class DemoError(Exception):
    """A step of the demo failed in a way the printout already explains; reported as one line."""


@dataclasses.dataclass(frozen=True)
class DemoResult:
    """What the demo found and wrote.

    Attributes:
        scan: the native 4 mm thick-slice scan given to ``cmb-kd infer``.
        n_found: CMBs found by the bundle (the count of ``cmb_summary.csv``).
        n_true: true CMBs: connected components of the subject's 4 mm label.
        n_matched: found CMBs that match a true one (true positives of :func:`compute_lesion_counts`).
        mask: the predicted CMB mask on the input grid.
        lesions: the lesion table, one row per found CMB.
        summary: the batch summary ``cmb_summary.csv``.
        report: the report picture.
        page: the report page (the picture and the sortable lesion table, one HTML file).
        preview: the picture of the synthetic subject (HR beside the 4 mm slices, true CMBs circled).
        seconds: total wall time of the demo.
    """

    scan: Path
    n_found: int
    n_true: int
    n_matched: int
    mask: Path
    lesions: Path
    summary: Path
    report: Path
    page: Path
    preview: Path
    seconds: float

    def summary_lines(self) -> list[str]:
        """The printout of the result: counts, output paths and wall time."""
        return [
            f"found {self.n_found} CMB(s); true number {self.n_true}; {self.n_matched} of the found match a true CMB",
            f"mask:         {self.mask}",
            f"lesion table: {self.lesions}",
            f"summary CSV:  {self.summary}",
            f"picture:      {self.report}",
            f"page:         {self.page}",
            f"synthetic subject picture: {self.preview}",
            f"total wall time: {self.seconds:.0f} s",
        ]


def check_bundle(bundle: str | Path | None) -> Path:
    """The bundle folder, checked to hold trained weights.

    Args:
        bundle: the bundle folder; None for :func:`cmb_kd.inference.default_bundle_dir`.

    Returns:
        The bundle folder.

    Raises:
        FileNotFoundError: when the bundle folder is not found or has no ``models/model.pt``.
    """
    root = default_bundle_dir() if bundle is None else Path(bundle)
    weights = root / "models" / "model.pt"
    if not weights.is_file():
        raise FileNotFoundError(
            f"{weights}: the bundle has no trained weights; they ship with the repository, so restore them "
            f"(git checkout -- {weights}), train them (docs/training.md) or pass --bundle FOLDER of a trained bundle"
        )
    return root


def _read_summary_count(summary: Path, name: str) -> int:
    with summary.open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["name"] == name]
    if len(rows) != 1 or rows[0]["status"] != "ok":
        raise DemoError(f"cmb-kd infer did not process {name} (see {summary})")
    return int(rows[0]["count"])


def run_demo(
    output: str | Path,
    *,
    seed: int = 1,
    bundle: str | Path | None = None,
    device: str = "cpu",
    config: SynthConfig = DEMO_CONFIG,
) -> DemoResult:
    """Generates one synthetic subject, runs ``cmb-kd infer`` on its 4 mm scan and compares with the truth.

    Args:
        output: demo folder; ``cohort/`` and ``inference/`` are written into it.
        seed: cohort seed of the synthetic subject (not 2026: that is the training cohort's).
        bundle: bundle folder; None for the shipped one.
        device: where the networks run, ``"cpu"`` or ``"cuda"``.
        config: the synthetic subject's settings; must include the ×4 acquisition.

    Returns:
        The :class:`DemoResult`, also printed (:meth:`DemoResult.summary_lines`).

    Raises:
        FileNotFoundError: when the bundle is not found or has no trained weights (checked before anything runs).
        ValueError: when ``config`` has no ×4 acquisition.
        DemoError: when ``cmb-kd infer`` fails on the scan.
    """
    if 4 not in config.lr_factors:
        raise ValueError(f"config.lr_factors must include 4 (the native 4 mm scan), got {config.lr_factors}")
    start = time.perf_counter()
    root = check_bundle(bundle)
    output = Path(output)
    cohort = output / "cohort"
    inference = output / "inference"

    print(f"1/2 generating one synthetic subject (seed {seed}) into {cohort}/", flush=True)
    datalist_path = write_cohort(cohort, n_subjects=1, seed=seed, config=config, overwrite=True, preview=True)
    (entry,) = json.loads(datalist_path.read_text())["training"]
    scan = cohort / entry[f"image_lr_{LR_KEY}"]
    label = cohort / entry[f"label_lr_{LR_KEY}"]

    argv = ["infer", str(scan), "--output", str(inference), "--bundle", str(root), "--device", device, "--report"]
    phase = phase_beside(scan)
    using = f" (with {phase.name} beside it for the phase-sign rule)" if phase else ""
    print(f"2/2 detecting CMBs on the native 4 mm slices{using}: cmb-kd {' '.join(argv)}", flush=True)
    if cmb_kd_main(argv) != 0:
        raise DemoError(f"cmb-kd infer failed on {scan} (see the error above)")

    writer = OutputWriter(inference)
    n_found = _read_summary_count(writer.summary_path, writer.name_of(scan))
    predicted = nib.load(writer.mask_path(scan)).get_fdata() > 0
    counts = compute_lesion_counts(predicted, nib.load(label).get_fdata() > 0)
    result = DemoResult(
        scan=scan,
        n_found=n_found,
        n_true=counts.n_ref,
        n_matched=counts.tp,
        mask=writer.mask_path(scan),
        lesions=writer.lesions_path(scan),
        summary=writer.summary_path,
        report=writer.report_path(scan),
        page=writer.report_html_path(scan),
        preview=cohort / entry["subject"] / f"{entry['subject']}_preview.png",
        seconds=time.perf_counter() - start,
    )
    print()
    print("\n".join(result.summary_lines()), flush=True)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the demo with the command-line arguments ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="demo_output", help="demo folder (default demo_output)")
    parser.add_argument(
        "--seed", type=int, default=1, help="cohort seed of the subject (default 1; the training cohort is seed 2026)"
    )
    parser.add_argument("--bundle", default=None, help="bundle folder (default: the shipped cmb_lr_mri_segmentation)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where the networks run (cpu)")
    args = parser.parse_args(argv)
    try:
        run_demo(args.output, seed=args.seed, bundle=args.bundle, device=args.device)
    except (FileNotFoundError, DemoError) as err:
        print(f"demo: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
