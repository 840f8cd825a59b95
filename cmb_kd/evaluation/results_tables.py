"""The results tables in Markdown: the main table (the PLKD paper's format), the ×4 ablation table (the paper's
Table 4) and the table of F1 per threshold."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence

from cmb_kd.evaluation.cohort_evaluation import HR, factor_label
from cmb_kd.evaluation.run_names import seed_runs

__all__ = [
    "ABLATION_FACTOR",
    "ABLATION_ROWS",
    "MAIN_ROWS",
    "METRICS",
    "format_ablation_table",
    "format_main_table",
    "format_mean_sd",
    "threshold_table",
]

METRICS: tuple[tuple[str, str, bool], ...] = (
    ("tpr", "TPR (%)", True),
    ("ppv", "PPV (%)", True),
    ("fp_avg", "FP_avg", False),
    ("f1", "F1 (%)", True),
    ("dice", "Dice (%)", True),
)
"""Table columns: metric key of :func:`summarize_lesion_counts`, header, shown in percent."""
MAIN_ROWS: tuple[tuple[str, str], ...] = (
    ("teacher", "Teacher on HR (upper bound)"),
    ("plkd", "PLKD student (E²U-Net)"),
    ("direct", "Direct KD student"),
    ("nokd", "No-KD student"),
    ("dynunet", "DynUNet (nnU-Net), no KD"),
)
"""Rows of the main table: run family, label."""
ABLATION_FACTOR = 4
"""Thick-slice factor of the ablation table, and at which a student's threshold is chosen."""
ABLATION_ROWS: tuple[tuple[str, str], ...] = (
    ("ablation-2d", "2D"),
    ("ablation-3d", "3D"),
    ("ablation-hybrid", "2D+3D"),
    ("nokd", "+FCM"),
    ("direct", "+KD"),
    ("plkd", "+PLKD"),
)
"""Rows of the ablation table (paper's Table 4) at ×4: run family (``ablation-MODE`` for the ablation runs), label."""

Summaries = Mapping[str, Mapping[str, Mapping[str, float]]]
"""Run name to factor key (``"4"``, or ``"hr"`` for the teacher) to pooled metrics."""


def format_mean_sd(values: Sequence[float], *, percent: bool) -> str:
    """``mean ± sd`` of per-seed values (sample sd).

    Args:
        values: one value per seed.
        percent: show the values times 100 with one decimal, else as they are with two.

    Returns:
        The text; one value is shown alone; ``n/a`` when there is none or any is undefined (nan: no reference
        lesion or no prediction for that seed).
    """
    if not values or any(math.isnan(v) for v in values):
        return "n/a"
    scale, digits = (100.0, 1) if percent else (1.0, 2)
    mean = statistics.fmean(values) * scale
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(values) * scale:.{digits}f}"


def _cells(summaries: Summaries, runs: Sequence[str], factor: str) -> list[str]:
    return [format_mean_sd([summaries[r][factor][key] for r in runs], percent=pc) for key, _, pc in METRICS]


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _cohort_line(split: str, n_subjects: Mapping[str, int], n_ref: Mapping[str, int]) -> str:
    parts = [
        f"{factor_label(f)}: {_plural(n_subjects[f], 'subject')}, {_plural(n_ref[f], 'reference lesion')}"
        for f in n_subjects
    ]
    return f"Split `{split}`; " + "; ".join(parts) + "."


def format_main_table(
    summaries: Summaries,
    factors: Sequence[int],
    *,
    split: str,
    n_subjects: Mapping[str, int],
    n_ref: Mapping[str, int],
) -> str:
    """The main results table in Markdown (the PLKD paper's format).

    Args:
        summaries: run name to factor key (``"4"``, or ``"hr"`` for the teacher) to the pooled metrics of
            :func:`summarize_lesion_counts`.
        factors: the column groups, in order.
        split: the datalist list evaluated, for the line under the table.
        n_subjects: factor key to the number of subjects.
        n_ref: factor key to the number of reference lesions.

    Returns:
        The table, a line with the cohort and, when some rows have no run, a line listing them.
    """
    header = ["Method"] + [f"×{f} {title}" for f in factors for _, title, _ in METRICS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    missing = []
    for family, label in MAIN_ROWS:
        if family == "teacher":
            runs, keys, name = (["teacher"] if "teacher" in summaries else []), [HR] * len(factors), "teacher"
        else:
            runs, keys, name = seed_runs(family, list(summaries)), [str(f) for f in factors], f"{family}-sN"
        if not runs:
            missing.append(f"{label} (`{name}`)")
            continue
        if family != "teacher":
            label += f" ({_plural(len(runs), 'seed')})"
        lines.append("| " + " | ".join([label] + [c for key in keys for c in _cells(summaries, runs, key)]) + " |")
    lines += ["", _cohort_line(split, n_subjects, n_ref)]
    lines.append(
        "Students: mean ± sd over the seeds; the teacher segments the HR scans (same value in every column); "
        "TPR, PPV, F1 and Dice in percent, FP_avg in false positives per subject."
    )
    if missing:
        lines.append("Not shown (no evaluated run): " + ", ".join(missing) + ".")
    return "\n".join(lines)


def format_ablation_table(summaries: Summaries, factors: Sequence[int]) -> str:
    """The ×4 ablation table in Markdown (the paper's Table 4).

    Args:
        summaries: run name to factor key to pooled metrics, as for :func:`format_main_table`.
        factors: the factors evaluated.

    Returns:
        One row per family of :data:`ABLATION_ROWS`, the mean ± sd over its seeds, a note, and a line listing the
        rows without a run; a line saying it was not evaluated when ×4 is not among ``factors``.
    """
    if ABLATION_FACTOR not in factors:
        return f"Not evaluated: the ablation is at ×{ABLATION_FACTOR}, not among the factors {list(factors)}."
    header = ["Model"] + [title for _, title, _ in METRICS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    missing = []
    for family, label in ABLATION_ROWS:
        runs = seed_runs(family, list(summaries))
        if runs:
            label += f" ({_plural(len(runs), 'seed')})"
            lines.append("| " + " | ".join([label] + _cells(summaries, runs, str(ABLATION_FACTOR))) + " |")
        else:
            names = f"`{family}`, `{family}-sN`" if family.startswith("ablation-") else f"`{family}-sN`"
            missing.append(f"{label} ({names})")
    lines += [
        "",
        f"×{ABLATION_FACTOR} thick slices, mean ± sd over the seeds of each row (+FCM, +KD and +PLKD are the no-KD, "
        "direct-KD and PLKD students of the main table); no FCM in the 2D, 3D and 2D+3D rows.",
    ]
    if missing:
        lines.append("Not shown (no evaluated run): " + ", ".join(missing) + ".")
    return "\n".join(lines)


def threshold_table(
    sweeps: Mapping[str, Mapping[float, Mapping[str, Mapping[str, float]]]],
    chosen: Mapping[str, float],
    judged_at: Mapping[str, str],
) -> str:
    """Markdown table of pooled F1 per run and threshold.

    Args:
        sweeps: run name to threshold to factor key to pooled metrics.
        chosen: run name to its chosen threshold, shown in bold.
        judged_at: run name to the factor key whose F1 is shown.

    Returns:
        The table and a line naming the factors.
    """
    thresholds = sorted({t for sweep in sweeps.values() for t in sweep})
    header = ["Run", *(f"F1 at {t:g}" for t in thresholds), "Chosen"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, sweep in sweeps.items():
        cells = []
        for t in thresholds:
            cell = format_mean_sd([sweep[t][judged_at[name]]["f1"]], percent=True) if t in sweep else ""
            cells.append(f"**{cell}**" if t == chosen[name] else cell)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {chosen[name]:g} |")
    factors = ", ".join(dict.fromkeys(factor_label(f) for f in judged_at.values()))
    lines += ["", f"Pooled lesion F1 (%) for each probability threshold, at {factors}."]
    return "\n".join(lines)
