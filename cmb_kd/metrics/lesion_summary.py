"""Pooling of per-subject lesion counts into the cohort metrics of Table 2 (paper ``000``)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from cmb_kd.metrics.lesion_counts import LesionCounts

__all__ = ["SUMMARY_KEYS", "summarize_lesion_counts"]

SUMMARY_KEYS: tuple[str, ...] = (
    "tpr",
    "ppv",
    "fp_avg",
    "f1",
    "dice",
    "dice_mean",
    "n_subjects",
    "n_ref",
    "n_pred",
    "tp",
    "fp",
    "fn",
    "duplicates",
)
"""Keys of the dictionary returned by :func:`summarize_lesion_counts`, in display order."""


def summarize_lesion_counts(counts: Sequence[LesionCounts]) -> dict[str, float]:
    """Pools per-subject counts over a cohort.

    Lesion counts are pooled over subjects (micro average) before taking ratios, as in paper ``000``:

    - ``tpr = ΣTP / (ΣTP + ΣFN)``, ``ppv = ΣTP / (ΣTP + ΣFP)``, ``f1 = 2ΣTP / (2ΣTP + ΣFP + ΣFN)``;
    - ``fp_avg = ΣFP / N`` with N the number of subjects, those without lesions or predictions included;
    - ``dice`` pools voxel counts: ``2ΣTPv / (2ΣTPv + ΣFPv + ΣFNv)``;
    - ``dice_mean`` is the mean of the per-subject voxel Dice over the subjects where it is defined (a subject
      whose prediction and reference are both empty has no Dice and is left out of the mean).

    A subject with no reference lesion and no prediction adds nothing to the pooled counts and one to N. A pooled
    ratio is nan only when its denominator is zero over the whole cohort.

    Args:
        counts: one :class:`LesionCounts` per subject.

    Returns:
        A dictionary with the keys of :data:`SUMMARY_KEYS`: the ratios as floats in [0, 1] (or nan), ``fp_avg``
        as a float, and the pooled counts and ``n_subjects`` as floats holding whole numbers.

    Raises:
        ValueError: when ``counts`` is empty or holds something other than :class:`LesionCounts`.
    """
    counts = list(counts)
    if not counts:
        raise ValueError("counts must hold at least one subject, got an empty sequence.")
    for index, item in enumerate(counts):
        if not isinstance(item, LesionCounts):
            raise ValueError(f"counts[{index}]: expected a LesionCounts, got {type(item).__name__}")
    pooled = sum(counts, LesionCounts())
    subject_dice = [item.dice for item in counts if not math.isnan(item.dice)]
    n_subjects = len(counts)
    return {
        "tpr": pooled.tpr,
        "ppv": pooled.ppv,
        "fp_avg": pooled.fp / n_subjects,
        "f1": pooled.f1,
        "dice": pooled.dice,
        "dice_mean": sum(subject_dice) / len(subject_dice) if subject_dice else math.nan,
        "n_subjects": float(n_subjects),
        "n_ref": float(pooled.n_ref),
        "n_pred": float(pooled.n_pred),
        "tp": float(pooled.tp),
        "fp": float(pooled.fp),
        "fn": float(pooled.fn),
        "duplicates": float(pooled.duplicates),
    }
