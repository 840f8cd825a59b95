"""Makes the simulator picture of docs/data.md: one subject, HR beside native x4 LR, CMBs and mimics marked.

Usage: python scripts/synth_figure.py [--seed 3] [--output docs/images/synth_subject.png]
"""

from __future__ import annotations

import argparse

from cmb_kd.synth import SynthConfig, simulate_subject
from cmb_kd.synth.preview import plot_subject


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--field", type=float, default=3.0)
    parser.add_argument("--output", default="docs/images/synth_subject.png")
    args = parser.parse_args()
    subject = simulate_subject(SynthConfig(field_strengths=(args.field,)), seed=args.seed)
    print(plot_subject(subject, args.output, factor=4))


if __name__ == "__main__":
    main()
