"""Says what the false positives of a trained run are, from the simulator's own record of every mimic it drew.

For every subject of a cohort split, the run's network segments the scan through the bundle's pipeline (as
``scripts/evaluate_models.py`` does: :meth:`CMBDetector.prepare`, :meth:`CMBDetector.segment`, the threshold and the
clean-up, with the phase image beside the scan unless ``--no-phase``). Each detected component that touches no
reference CMB is a false positive, and is named by what lies at its centroid: ``calcification`` within
``--calcification-mm`` of a calcification centre of the subject's ``sub-XXX.json``, else ``vein`` or ``dropout``
where the mimic map (``mimics``: 1 vein, 2 calcification, 3 susceptibility dropout) has that value within
``--mimic-mm``, else ``other``. Prints one line per false positive and the count of each kind.

Use it on the training or validation split: looking at test cases to change a model is tuning on the test set.

Usage: python scripts/false_positive_kinds.py --cohort data/cohort --run plkd-s0 --threshold 0.8
           [--runs runs/models] [--split validation] [--factor 4] [--no-phase] [--bundle PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cmb_kd.evaluation import build_network, cohort_entries, find_runs, network_def_of, subject_of

BUNDLE = Path(__file__).resolve().parents[1] / "bundles" / "cmb_lr_mri_segmentation"

KINDS = ("calcification", "vein", "dropout", "other")
"""Names of the false-positive kinds, in the order they are tried."""
MIMIC_VALUES = {"vein": 1, "dropout": 3}
"""Values of the simulator's mimic map (``cmb_kd.synth.MIMIC_LABELS``) that name a kind by themselves."""


def kind_of(
    centre_mm: np.ndarray,
    mimics: np.ndarray,
    mimic_affine: np.ndarray,
    calcifications_mm: Sequence[Sequence[float]],
    *,
    calcification_mm: float = 4.0,
    mimic_mm: float = 2.0,
) -> str:
    """The kind of a false positive centred at world ``centre_mm`` (see the module docstring for the rule).

    Args:
        centre_mm: ``(3,)`` world position of the component's centroid.
        mimics: the subject's mimic map (HR grid).
        mimic_affine: its voxel-to-world affine.
        calcifications_mm: world centres of the subject's calcifications.
        calcification_mm: largest distance to a calcification centre, mm.
        mimic_mm: half size of the box of the mimic map looked at, mm.

    Returns:
        One of :data:`KINDS`.
    """
    centre = np.asarray(centre_mm, dtype=np.float64)
    if any(np.linalg.norm(centre - np.asarray(c, dtype=np.float64)) <= calcification_mm for c in calcifications_mm):
        return "calcification"
    spacing = np.sqrt((mimic_affine[:3, :3] ** 2).sum(axis=0))
    voxel = np.rint(np.linalg.inv(mimic_affine) @ np.r_[centre, 1.0])[:3].astype(int)
    reach = np.ceil(mimic_mm / spacing).astype(int)
    box = tuple(slice(max(v - r, 0), max(v + r + 1, 0)) for v, r in zip(voxel, reach))
    values = set(np.unique(mimics[box]).tolist())
    for kind, value in MIMIC_VALUES.items():
        if value in values:
            return kind
    return "other"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohort", type=Path, required=True, help="cohort folder written by cmb-kd synth")
    parser.add_argument("--runs", type=Path, default=Path("runs/models"), help="folder of the trained runs")
    parser.add_argument("--run", required=True, help="the run whose false positives are named (e.g. plkd-s0)")
    parser.add_argument("--threshold", type=float, required=True, help="probability threshold, in (0, 1)")
    parser.add_argument("--split", default="validation", help="datalist list (default: validation)")
    parser.add_argument("--factor", type=int, default=4, help="thick-slice factor; 1 for the HR scans (default 4)")
    parser.add_argument("--no-phase", action="store_true", help="leave the phase images out")
    parser.add_argument("--calcification-mm", type=float, default=4.0, help="distance to a calcification centre")
    parser.add_argument("--mimic-mm", type=float, default=2.0, help="half size of the mimic-map box, mm")
    parser.add_argument("--bundle", type=Path, default=BUNDLE, help="bundle of the pipeline")
    args = parser.parse_args(argv)
    if not 0.0 < args.threshold < 1.0:
        parser.error(f"--threshold: expected a probability in (0, 1), got {args.threshold}")
    if args.factor < 1:
        parser.error(f"--factor: expected 1 (HR) or a thick-slice factor >= 2, got {args.factor}")
    factors = [] if args.factor == 1 else [args.factor]
    try:
        entries = cohort_entries(args.cohort, args.split, factors)
        (weights,) = find_runs(args.runs, [args.run]).values()
    except ValueError as err:
        parser.error(str(err))

    import nibabel as nib
    from scipy import ndimage

    from cmb_kd.inference import CMBDetector

    network = build_network(network_def_of(args.run, args.runs, args.bundle), weights)
    detector = CMBDetector.from_bundle(args.bundle, "cpu", overrides={"model_path": str(weights)})
    suffix = "" if args.factor == 1 else f"_lr_x{args.factor}"
    kinds: Counter[str] = Counter()
    for entry in entries:
        subject = subject_of(entry)
        scan = args.cohort / entry[f"image{suffix}"]
        phase = None if args.no_phase or f"phase{suffix}" not in entry else args.cohort / entry[f"phase{suffix}"]
        prepared = detector.prepare(scan, phase=phase)
        probability = detector.segment(prepared, network=network).probability
        found = detector.detections(prepared, probability, args.threshold) > 0
        reference = np.asanyarray(nib.load(args.cohort / entry[f"label{suffix}"]).dataobj) > 0
        mimic_image = nib.load(args.cohort / entry["mimics"])
        mimics = np.asanyarray(mimic_image.dataobj)
        record = json.loads((args.cohort / entry["image"]).parent.joinpath(f"{subject}.json").read_text())
        calcifications = [m["centre_mm"] for m in record.get("mimics", []) if m.get("type") == "calcification"]
        components, n = ndimage.label(found, structure=np.ones((3, 3, 3), dtype=bool))
        for index in range(1, n + 1):
            component = components == index
            if (component & reference).any():
                continue
            centre_mm = (prepared.input_affine @ np.r_[ndimage.center_of_mass(component), 1.0])[:3]
            kind = kind_of(
                centre_mm,
                mimics,
                mimic_image.affine,
                calcifications,
                calcification_mm=args.calcification_mm,
                mimic_mm=args.mimic_mm,
            )
            kinds[kind] += 1
            print(f"{subject}: false positive at {np.round(centre_mm, 1).tolist()} mm: {kind}", flush=True)
    total = sum(kinds.values())
    summary = ", ".join(f"{kinds[k]} {k}" for k in KINDS)
    print(f"{args.run} on {len(entries)} {args.split} subject(s), threshold {args.threshold:g}: {total} false "
          f"positive(s): {summary}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
