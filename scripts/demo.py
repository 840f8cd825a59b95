"""`make demo`: generate a small synthetic cohort and a picture of its first subject.

Writes DEMO_DIR/cohort/ (two subjects, VALDO-style, with datalist.json) and
DEMO_DIR/cohort/sub-001/sub-001_preview.png (magnitude, phase and SWI at HR beside the native
4 mm thick slices, CMBs circled). The demo folder is its own: it is replaced on every run.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from cmb_kd.synth import SynthConfig, write_cohort


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="demo_output", help="demo folder (default demo_output)")
    parser.add_argument("--subjects", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    cohort = Path(args.output) / "cohort"
    start = time.perf_counter()
    datalist_path = write_cohort(
        cohort, n_subjects=args.subjects, seed=args.seed, config=SynthConfig(), overwrite=True, preview=True
    )
    datalist = json.loads(datalist_path.read_text())
    entries = datalist["training"] + datalist["validation"] + datalist["test"]
    print(f"\nsynthetic cohort of {len(entries)} subjects in {time.perf_counter() - start:.0f} s: {cohort}/")
    for entry in entries:
        name = entry["subject"]
        print(f"  {name}: {entry['n_cmb']} CMBs; HR {entry['image']}, native 4 mm slices {entry['image_lr_x4']}")
    print(f"datalist: {datalist_path}")
    print(f"picture:  {cohort / entries[0]['subject'] / (entries[0]['subject'] + '_preview.png')}")


if __name__ == "__main__":
    main()
