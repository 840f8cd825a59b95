"""Plain-text table of an evaluation, as printed by ``cmb-kd evaluate``."""

from __future__ import annotations

import math

from cmb_kd.metrics.evaluation_result import EvaluationResult

__all__ = ["format_metrics_table"]

_PERCENT_ROWS = (("TPR", "tpr"), ("PPV", "ppv"), ("F1", "f1"), ("Dice (pooled voxels)", "dice"))


def _percent(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{100.0 * value:.1f}"


def format_metrics_table(result: EvaluationResult, *, per_subject: bool = False) -> str:
    """Formats the pooled metrics (and optionally one line per subject) as a fixed-width text table.

    Ratios are shown in percent with one decimal, as in Table 2 of paper ``000``; ``n/a`` marks an undefined
    ratio (no reference lesion, or no lesion and no prediction).

    Args:
        result: the result of :func:`cmb_kd.metrics.evaluate_folders`.
        per_subject: also list every subject's counts, TPR, PPV, F1 and Dice.

    Returns:
        The table, lines separated by ``\\n``, without a trailing newline.

    Raises:
        ValueError: when ``result`` holds no subject.
    """
    metrics = result.metrics
    settings = result.settings
    matching = settings.get("matching", "overlap")
    if settings.get("max_distance_mm") is not None:
        matching = f"{matching} <= {settings['max_distance_mm']} mm"
    lines = [
        f"CMB detection: {int(metrics['n_subjects'])} subject(s), {int(metrics['n_ref'])} reference lesion(s), "
        f"{int(metrics['n_pred'])} predicted component(s); matching: {matching}, "
        f"{settings.get('connectivity', 26)}-connectivity",
        f"{'metric':<24}{'value':>10}",
    ]
    for label, key in _PERCENT_ROWS[:2]:
        lines.append(f"{label + ' (%)':<24}{_percent(metrics[key]):>10}")
    lines.append(f"{'FP_avg (per subject)':<24}{metrics['fp_avg']:>10.2f}")
    for label, key in _PERCENT_ROWS[2:]:
        lines.append(f"{label + ' (%)':<24}{_percent(metrics[key]):>10}")
    lines.append(f"{'Dice (subject mean) (%)':<24}{_percent(metrics['dice_mean']):>10}")
    tally = f"{int(metrics['tp'])} / {int(metrics['fp'])} / {int(metrics['fn'])} / {int(metrics['duplicates'])}"
    lines.append(f"{'TP / FP / FN / dup.':<24}{tally:>10}")
    if result.missing_subjects:
        lines.append(f"not evaluated (no prediction): {', '.join(result.missing_subjects)}")
    if per_subject:
        width = max(len("name"), *(len(s.name) for s in result.subjects))
        lines.append("")
        lines.append(
            f"{'name':<{width}}  {'ref':>4} {'pred':>4} {'TP':>4} {'FP':>4} {'FN':>4} {'dup':>4} "
            f"{'TPR':>6} {'PPV':>6} {'F1':>6} {'Dice':>6}"
        )
        for subject in result.subjects:
            c = subject.counts
            lines.append(
                f"{subject.name:<{width}}  {c.n_ref:>4} {c.n_pred:>4} {c.tp:>4} {c.fp:>4} {c.fn:>4} "
                f"{c.duplicates:>4} {_percent(c.tpr):>6} {_percent(c.ppv):>6} {_percent(c.f1):>6} "
                f"{_percent(c.dice):>6}"
            )
    return "\n".join(lines)
