"""Tests of cmb_kd.evaluation.results_tables: mean ± sd cells, the main and ablation tables."""

from __future__ import annotations

import math

import pytest

from cmb_kd.evaluation import format_ablation_table, format_main_table, format_mean_sd


@pytest.mark.parametrize(
    ("values", "percent", "expected"),
    [
        ([0.812], True, "81.2"),
        ([0.8, 0.85, 0.9], True, "85.0 ± 5.0"),
        ([1.0, 2.0, 3.0], False, "2.00 ± 1.00"),
        ([0.25], False, "0.25"),
        ([0.5, math.nan], True, "n/a"),
        ([], True, "n/a"),
    ],
)
def test_format_mean_sd(values: list[float], percent: bool, expected: str) -> None:
    assert format_mean_sd(values, percent=percent) == expected


def _summary(value: float) -> dict[str, float]:
    return {"tpr": value, "ppv": value, "fp_avg": 2 * value, "f1": value, "dice": value}


def test_tables_average_over_seeds_and_list_missing_rows() -> None:
    summaries = {
        "teacher": {"hr": _summary(0.9)},
        "plkd-s0": {"4": _summary(0.7)},
        "plkd-s1": {"4": _summary(0.8)},
        "plkd-s2": {"4": _summary(0.9)},
        "nokd-s0": {"4": _summary(0.5)},
    }
    table = format_main_table(summaries, [4], split="test", n_subjects={"hr": 3, "4": 3}, n_ref={"hr": 12, "4": 10})
    rows = table.splitlines()
    assert rows[0].startswith("| Method | ×4 TPR (%) | ×4 PPV (%) | ×4 FP_avg | ×4 F1 (%) | ×4 Dice (%) |")
    assert "| Teacher on HR (upper bound) | 90.0 | 90.0 | 1.80 | 90.0 | 90.0 |" in rows
    assert "| PLKD student (E²U-Net) (3 seeds) | 80.0 ± 10.0 | 80.0 ± 10.0 | 1.60 ± 0.20 |" in table
    assert "| No-KD student (1 seed) | 50.0 |" in table
    assert "×4: 3 subjects, 10 reference lesions" in table and "HR: 3 subjects, 12 reference lesions" in table
    assert "Direct KD student (`direct-sN`)" in table and "DynUNet (nnU-Net), no KD (`dynunet-sN`)" in table
    ablation = format_ablation_table(summaries, [2, 4])
    assert "| +FCM (1 seed) | 50.0 | 50.0 | 1.00 | 50.0 | 50.0 |" in ablation
    assert "| +PLKD (3 seeds) | 80.0 ± 10.0 |" in ablation
    assert "2D (`ablation-2d`, `ablation-2d-sN`)" in ablation and "+KD (`direct-sN`)" in ablation
    summaries |= {"ablation-3d": {"4": _summary(0.6)}, "ablation-3d-s1": {"4": _summary(0.8)}}
    assert "| 3D (2 seeds) | 70.0 ± 14.1 |" in format_ablation_table(summaries, [4])
    assert "not among the factors" in format_ablation_table(summaries, [2])
