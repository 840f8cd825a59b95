"""Draws the loss curves of docs/training.md from the console logs of a teacher run and a PLKD student run.

Reads the StatsHandler lines (``Epoch: E/N, Iter: i/L -- loss: ... loss_supervised: ...``) and the curriculum lines
(``stage 'middle' from iteration 21: factor 4``) that ``monai.bundle run --logging_file configs/logging.conf``
writes, and plots per iteration: the teacher's supervised loss, and the student's total, supervised and transfer
terms with the curriculum stage boundaries.

Usage: python scripts/plot_training.py --teacher-log teacher.log --student-log plkd.log
           [--output docs/images/training_curves.png] [--smooth 5] [--title TEXT]
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

STATS = re.compile(r"Epoch: (\d+)/(\d+), Iter: (\d+)/(\d+) -- (.*)$")
TERM = re.compile(r"(loss\w*): ([-+0-9.eE]+|nan|inf)")
STAGE = re.compile(r"stage '(\w+)' from iteration (\d+): factor (\S+)")


def read_log(path: str | Path) -> tuple[dict[str, list[tuple[int, float]]], list[tuple[str, int, str]]]:
    """Parse one console log.

    Args:
        path: the log file.

    Returns:
        ``(curves, stages)``: loss name -> ``[(global iteration, value)]`` and ``[(stage, first iteration, factor)]``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the log holds no StatsHandler loss line.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such log file")
    curves: dict[str, list[tuple[int, float]]] = {}
    stages: list[tuple[str, int, str]] = []
    for line in path.read_text(errors="replace").splitlines():
        if m := STATS.search(line):
            epoch, _, it, length, rest = m.groups()
            step = (int(epoch) - 1) * int(length) + int(it)
            for name, value in TERM.findall(rest):
                curves.setdefault(name, []).append((step, float(value)))
        elif m := STAGE.search(line):
            name, start, factor = m.groups()
            if not any(s[0] == name for s in stages):
                stages.append((name, int(start), factor.rstrip(":")))
    if not curves:
        raise ValueError(f"{path}: no 'Epoch: E/N, Iter: i/L -- loss: ...' line; expected a StatsHandler log")
    return curves, stages


def smooth(values: list[float], window: int) -> list[float]:
    """Trailing moving average over ``window`` points (``window <= 1``: unchanged)."""
    if window <= 1:
        return list(values)
    out, acc = [], 0.0
    for i, v in enumerate(values):
        acc += v
        if i >= window:
            acc -= values[i - window]
        out.append(acc / min(i + 1, window))
    return out


def plot(
    teacher_log: str | Path, student_log: str | Path, output: str | Path, window: int = 5, title: str = ""
) -> Path:
    """Write the two-panel figure (teacher, student) to ``output`` and return its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    teacher, _ = read_log(teacher_log)
    student, stages = read_log(student_log)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), dpi=90)
    panels = [
        (axes[0], teacher, [("loss", "supervised (Dice + CE)", "C0")], "HR teacher (train.json + teacher.json)"),
        (
            axes[1],
            student,
            [
                ("loss", "total = 0.6 sup + 0.4 transfer", "k"),
                ("loss_supervised", "supervised (Dice + CE)", "C0"),
                ("loss_transfer", "transfer (cosine, mean of 2 taps)", "C3"),
                ("loss_geometric", "geometric tap", "C1"),
                ("loss_semantic", "semantic tap", "C2"),
            ],
            "PLKD student on LR (train.json + distill_plkd.json)",
        ),
    ]
    for ax, curves, series, title in panels:
        for key, label, colour in series:
            if key not in curves:
                continue
            steps, values = zip(*curves[key])
            thin = key in ("loss_geometric", "loss_semantic")
            ax.plot(steps, values, color=colour, alpha=0.15, lw=0.8)
            ax.plot(steps, smooth(list(values), window), color=colour, lw=1.0 if thin else 1.8, label=label,
                    ls="--" if thin else "-")  # fmt: skip
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"loss (thin: per iteration, bold: mean of {window})")
    for name, start, factor in stages:
        axes[1].axvline(start - 0.5, color="grey", lw=0.8, ls=":")
        axes[1].text(start + 0.5, 0.86, f"{name} x{factor}", transform=axes[1].get_xaxis_transform(), fontsize=8)
    axes[1].legend(fontsize=7, loc="center right")
    axes[0].legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10, y=1.0)
    fig.tight_layout()
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output)
    plt.close(fig)
    return output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher-log", required=True)
    parser.add_argument("--student-log", required=True)
    parser.add_argument("--output", default="docs/images/training_curves.png")
    parser.add_argument("--smooth", type=int, default=5, help="moving-average window in iterations")
    parser.add_argument("--title", default="", help="title above both panels")
    args = parser.parse_args()
    print(plot(args.teacher_log, args.student_log, args.output, args.smooth, args.title))


if __name__ == "__main__":
    main()
