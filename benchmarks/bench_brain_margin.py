"""Stage-1 sensitivity on a cohort's native scans with the skull-stripped mask grown by a few millimetres.

Usage: python benchmarks/bench_brain_margin.py --cohort data/cohort [--split validation] [--factor 4]
           [--grow-mm 0 2 3]

Skull stripping is tight at the cortical surface, where lobar CMBs sit, and stage 1 only looks inside the mask.
For every subject of the split, the native thick-slice scan ``image_lr_xF`` is skull-stripped by
``SkullStrip(grow_mm=g)`` for each ``g`` and the default ``CandidateDetector`` (cap from ``--max-candidates``) runs
on the magnitude inside that mask. A CMB (26-connected component of ``label_lr_xF``) is found when a candidate
centre lies within 3 mm (per axis, in voxels of the scan) of one of its voxels, as in ``bench_candidates.py``.
Use a split that no choice has been made on (the cohort's ``validation`` split is never used in training).
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import torch
from monai.data import MetaTensor
from scipy import ndimage

from cmb_kd.candidates import CandidateDetector
from cmb_kd.transforms import SkullStrip

HIT_MM = 3.0


def found_components(components: np.ndarray, centres: list, spacing: np.ndarray) -> set[int]:
    """Labels of the components with a voxel within ``HIT_MM`` (per axis) of a candidate centre."""
    reach = np.ceil(HIT_MM / spacing).astype(int)
    found: set[int] = set()
    for centre in centres:
        v = np.round(centre).astype(int)
        low, high = np.maximum(v - reach, 0), v + reach + 1
        window = components[low[0] : high[0], low[1] : high[1], low[2] : high[2]]
        found |= set(np.unique(window[window > 0]).tolist())
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohort", type=Path, required=True, help="cohort folder written by cmb-kd synth")
    parser.add_argument("--split", default="validation", help="datalist list (default validation)")
    parser.add_argument("--factor", type=int, default=4, help="thick-slice factor of the native scan")
    parser.add_argument("--grow-mm", nargs="+", type=float, default=[0.0, 2.0, 3.0], help="mask growth radii, mm")
    parser.add_argument("--max-candidates", type=int, default=100, help="candidate cap (the bundle's default)")
    args = parser.parse_args()
    datalist = args.cohort / "datalist.json"
    if not datalist.is_file():
        parser.error(f"{datalist}: not found; expected a cohort written by 'cmb-kd synth'")
    entries = json.loads(datalist.read_text()).get(args.split)
    if not entries:
        parser.error(f"{datalist}: no subjects in split {args.split!r}")
    key = f"x{args.factor}"
    detector = CandidateDetector(max_candidates=args.max_candidates)
    tally = {g: [0, 0] for g in args.grow_mm}
    start = time.perf_counter()
    for entry in entries:
        image = nib.load(args.cohort / entry[f"image_lr_{key}"])
        array = np.asarray(image.get_fdata(), dtype=np.float32)
        label = np.asarray(nib.load(args.cohort / entry[f"label_lr_{key}"]).get_fdata()) > 0
        components, n = ndimage.label(label, structure=np.ones((3, 3, 3), dtype=bool))
        spacing = np.asarray(image.header.get_zooms()[:3], dtype=float)
        scan = MetaTensor(torch.from_numpy(array)[None], affine=torch.as_tensor(image.affine))
        for grow in args.grow_mm:
            mask = np.asarray(SkullStrip(grow_mm=grow)(scan)[0]) != 0
            centres = [c.voxel for c in detector(array, mask, image.affine)]
            tally[grow][0] += len(found_components(components, centres, spacing))
            tally[grow][1] += n
    print(
        f"{len(entries)} subjects of {args.cohort} ({args.split}), native x{args.factor}; cap {args.max_candidates}; "
        f"hit within {HIT_MM} mm; {time.perf_counter() - start:.0f} s in all\n"
    )
    print("| skull-stripped mask grown by (mm) | sensitivity (found / CMBs) |")
    print("|---:|---:|")
    for grow, (found, total) in tally.items():
        print(f"| {grow:g} | {found / max(total, 1):.3f} ({found} / {total}) |")


if __name__ == "__main__":
    main()
