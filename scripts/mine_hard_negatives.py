"""Finds the hard negatives of a cohort: stage-1 candidates of its native thick-slice scans that are not CMBs.

Stage 2 only ever sees patches centred on stage-1 candidates, most of which are not CMBs (vessels, air and bone
interfaces, dark spots at the skull base). Random brain patches rarely land there, so a network trained on them
alone learns little about what it will be asked at inference. This script runs the network-independent part of the
bundle's detector (:meth:`CMBDetector.prepare`: working grid, skull stripping, standardisation, candidates) on every
native scan ``image_lr_xF`` of the chosen subjects and keeps each candidate farther than ``--min-distance-mm`` from
every CMB voxel of the HR ``label``. The kept centres of all factors are marked, one voxel each, in a mask on the HR
grid, ``OUT/<subject>_hard-negatives.nii.gz``.

``OUT/datalist.json`` is the cohort's datalist with a ``hard_negatives`` key (absolute path) in every entry of the
mined lists, so that a training run given ``--datalist_file OUT/datalist.json`` (and the cohort as ``dataset_dir``)
draws its ``false_positive`` patches from them (``RandCandidateCropd(fp_centers_key="hard_negatives")``). Only
training and validation subjects are mined by default: the test subjects stay unseen. A subject whose mask exists
is not mined again, so an interrupted run resumes (delete ``OUT`` to mine with other settings).

Usage: python scripts/mine_hard_negatives.py --cohort data/cohort --out data/hard_negatives [--factors 2 4 8]
           [--splits training validation] [--min-distance-mm 3] [--bundle PATH] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

BUNDLE = Path(__file__).resolve().parents[1] / "bundles" / "cmb_lr_mri_segmentation"
KEY = "hard_negatives"
"""Datalist key of the hard-negative mask."""


def hard_negative_voxels(
    centres_mm: np.ndarray, label: np.ndarray, affine: np.ndarray, min_distance_mm: float
) -> np.ndarray:
    """Voxel indices on the label's grid of the world centres ``(N, 3)`` farther than ``min_distance_mm`` from
    every label voxel (and inside the grid), ``(M, 3)`` int.
    """
    from scipy import ndimage

    if centres_mm.size == 0:
        return np.zeros((0, 3), np.int64)
    homogeneous = np.c_[centres_mm, np.ones(len(centres_mm))]
    voxels = np.rint((np.linalg.inv(affine) @ homogeneous.T).T[:, :3]).astype(np.int64)
    inside = np.all((voxels >= 0) & (voxels < np.array(label.shape)), axis=1)
    voxels = voxels[inside]
    if not label.any():
        return voxels
    spacing = np.sqrt((affine[:3, :3] ** 2).sum(0))
    distance = ndimage.distance_transform_edt(label == 0, sampling=spacing)
    return voxels[distance[tuple(voxels.T)] > min_distance_mm]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohort", type=Path, required=True, help="cohort folder written by cmb-kd synth")
    parser.add_argument("--out", type=Path, required=True, help="folder for the masks and the datalist")
    parser.add_argument("--factors", nargs="+", type=int, default=[2, 4, 8], help="native thick-slice factors")
    parser.add_argument("--splits", nargs="+", default=["training", "validation"], help="datalist lists to mine")
    parser.add_argument("--min-distance-mm", type=float, default=3.0, help="distance from every CMB voxel")
    parser.add_argument("--bundle", type=Path, default=BUNDLE, help="bundle whose inference.json builds the detector")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args(argv)

    datalist = args.cohort / "datalist.json"
    if not datalist.is_file():
        parser.error(f"--cohort: {datalist}: not found; expected a cohort written by 'cmb-kd synth'")
    lists = json.loads(datalist.read_text())
    for split in args.splits:
        if not isinstance(lists.get(split), list):
            parser.error(f"--splits: {datalist} has no list {split!r}")
        for index, entry in enumerate(lists[split]):
            for key in ["label", *(f"image_lr_x{f}" for f in args.factors)]:
                if key not in entry or not (args.cohort / entry[key]).is_file():
                    parser.error(f"--factors: {datalist}: {split}[{index}] has no readable {key!r}")
    if args.out.resolve() == args.cohort.resolve():
        parser.error("--out: expected a folder other than the cohort's (the cohort is left as it is)")

    import nibabel as nib

    from cmb_kd.inference import CMBDetector

    detector = CMBDetector.from_bundle(args.bundle, args.device, overrides={"allow_untrained": True})
    args.out.mkdir(parents=True, exist_ok=True)
    total = 0
    for split in args.splits:
        for number, entry in enumerate(lists[split], start=1):
            start = time.perf_counter()
            subject = str(entry.get("subject", Path(entry["image"]).parent.name))
            path = (args.out / f"{subject}_hard-negatives.nii.gz").resolve()
            entry[KEY] = str(path)
            if path.is_file():
                total += int(np.asanyarray(nib.load(path).dataobj).sum())
                continue
            reference = nib.load(args.cohort / entry["label"])
            label = np.asanyarray(reference.dataobj).reshape(reference.shape[:3]) > 0
            mask = np.zeros(label.shape, np.uint8)
            counts = []
            for factor in args.factors:
                prepared = detector.prepare(args.cohort / entry[f"image_lr_x{factor}"])
                centres = np.array([c.mm for c in prepared.candidates], dtype=np.float64).reshape(-1, 3)
                voxels = hard_negative_voxels(centres, label, reference.affine, args.min_distance_mm)
                mask[tuple(voxels.T)] = 1
                counts.append(f"×{factor} {len(voxels)}/{len(centres)}")
            partial = path.with_name(f".{path.name}")
            nib.save(nib.Nifti1Image(mask, reference.affine), partial)
            partial.replace(path)
            total += int(mask.sum())
            print(
                f"[{split} {number}/{len(lists[split])}] {subject}: hard negatives of candidates {', '.join(counts)} "
                f"({time.perf_counter() - start:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
    (args.out / "datalist.json").write_text(json.dumps(lists, indent=1) + "\n")
    print(f"{total} hard-negative voxels; wrote {args.out / 'datalist.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
