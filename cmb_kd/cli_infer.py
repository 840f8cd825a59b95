"""The ``infer`` sub-command's arguments: what ``cmb-kd infer --help`` shows (the command runs in :mod:`cmb_kd.cli`)."""

from __future__ import annotations

import argparse

__all__ = ["INFER_DESCRIPTION", "INFER_EPILOG", "add_infer_parser"]

INFER_DESCRIPTION = """Detect CMBs in T2*-weighted or SWI magnitude scans (NIfTI, any orientation and voxel size, thick
slices welcome), writing a CMB mask and a lesion table per scan and one summary for the run. Good inputs are
finished even when others fail; the failures are listed and the exit code is 1."""
INFER_EPILOG = """accepts:
  NIfTI files (.nii, .nii.gz) and folders of them, flat or one folder per subject (VALDO, cmb-kd synth);
  masks, labels and phase maps in a folder are skipped. A phase image beside a scan (sub-001_phase.nii.gz beside
  sub-001_T2S.nii.gz) turns on the phase rule against calcifications.

writes, in --output:
  NAME_cmb_mask.nii.gz     CMB mask on the scan's own grid (uint8)
  NAME_cmb_lesions.csv     one row per lesion: centroid (voxel, mm), voxels, volume, diameter, probability
  NAME_cmb_location.json   with --location: MARS region of each lesion, counts per region and side, burden class
  NAME_cmb_report.png      with --report: slices with the detections outlined and numbered
  NAME_cmb_report.html     with --report: that picture and the lesion table (sortable) in one self-contained page
  cmb_summary.csv          one row per input: status, count, time, warnings or error

  cmb_summary_shards/      with --distributed, while the run goes on: one summary per process, gathered at the end

example:
  cmb-kd infer scans/ --output results/ --report

on N processes, e.g. one per GPU (docs/inference.md):
  python -m torch.distributed.run --nproc_per_node=4 -m cmb_kd infer --distributed scans/ --output results/"""


def add_infer_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``infer`` sub-parser and its arguments to ``sub`` (the caller sets its handler); return it."""
    infer = sub.add_parser(
        "infer",
        help="detect CMBs in NIfTI scans with the two-stage pipeline of a bundle",
        description=INFER_DESCRIPTION,
        epilog=INFER_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    infer.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="NIfTI files and/or folders of them. NaN voxels are background (VALDO's skull-stripped scans); a scan "
        "with a large exact-zero or NaN background around a brain-sized region is taken as skull-stripped and its "
        "non-zero region is its brain mask, other scans are skull-stripped (see docs/inference.md)",
    )
    infer.add_argument("--output", required=True, help="output folder (created when missing)")
    infer.add_argument(
        "--bundle",
        default=None,
        help="bundle folder (default: the shipped cmb_lr_mri_segmentation). A bundle is code: its config files may "
        "run Python expressions ('$...', as python -m monai.bundle run does), so only use bundles you trust",
    )
    infer.add_argument(
        "--device",
        default=None,
        choices=["cpu", "cuda"],
        help="where the networks run (default cpu; with --distributed each process's GPU cuda:LOCAL_RANK when CUDA is "
        "available, else cpu)",
    )
    infer.add_argument("--report", action="store_true", help="also write NAME_cmb_report.png and .html per scan")
    infer.add_argument("--location", action="store_true", help="also give each CMB its MARS region (~8 s more a scan)")
    infer.add_argument(
        "--brain-mask",
        default=None,
        metavar="MASK|DIR|beside",
        help="use these brain masks instead of finding the brain (non-zero is brain; on the scan's grid): one NIfTI "
        "file for a single input scan; a folder holding NAME.nii.gz, NAME_brainmask.nii.gz or NAME with one '_' "
        "token replaced by 'brainmask' for each scan NAME; or 'beside' for NAME_brainmask.nii.gz or the "
        "replaced name in each scan's own folder (sub-001_brainmask.nii.gz beside sub-001_T2S.nii.gz, as cmb-kd "
        "synth writes). A scan without its mask fails",
    )
    infer.add_argument(
        "--no-phase",
        action="store_true",
        help="ignore phase images beside the scans (NAME with 'phase' for its modality, e.g. sub-001_phase.nii.gz)",
    )
    infer.add_argument(
        "--paramagnetic-phase",
        choices=["negative", "positive"],
        default=None,
        help="phase sign of paramagnetic sources in your phase images: negative (right-handed, the bundle's default) "
        "or positive (left-handed)",
    )
    infer.add_argument(
        "--allow-untrained",
        action="store_true",
        help="run with random weights when the bundle has none (testing only: detections are meaningless)",
    )
    infer.add_argument(
        "--resume",
        action="store_true",
        help="skip the scans an earlier run into --output finished (an ok row in cmb_summary.csv and all their "
        "outputs present): a cohort run stopped part way goes on where it stopped",
    )
    infer.add_argument(
        "--distributed",
        action="store_true",
        help="run as one process of a torchrun launch (python -m torch.distributed.run --nproc_per_node=N -m cmb_kd "
        "infer --distributed ...): process r of N takes scans r, r+N, ... of the sorted inputs, and process 0 writes "
        "cmb_summary.csv for all of them at the end (docs/inference.md)",
    )
    infer.add_argument("--quiet", action="store_true", help="no progress bar")
    return infer
