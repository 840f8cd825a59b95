"""Makes the MRA picture of docs/data.md: one TOF MRA subject on the TubeTK grid, slices, MIPs and vessel label.

Usage: python scripts/mra_figure.py [--seed 2] [--output docs/images/mra_subject.png]
"""

from __future__ import annotations

import argparse

from cmb_kd.synth import MRAConfig, simulate_mra_subject
from cmb_kd.synth.mra_preview import plot_mra_subject


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--field", type=float, default=3.0)
    parser.add_argument("--output", default="docs/images/mra_subject.png")
    args = parser.parse_args()
    subject = simulate_mra_subject(MRAConfig(field_strengths=(args.field,)), seed=args.seed)
    print(plot_mra_subject(subject, args.output, dpi=55))


if __name__ == "__main__":
    main()
