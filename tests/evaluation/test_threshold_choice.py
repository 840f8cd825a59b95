"""Tests of cmb_kd.evaluation.threshold_choice: the threshold of best pooled F1."""

from __future__ import annotations

from cmb_kd.evaluation import choose_threshold


def test_choose_threshold_best_f1_lowest_on_ties_nan_as_zero() -> None:
    choose = choose_threshold
    assert choose({0.5: {"f1": 0.4}, 0.7: {"f1": 0.6}, 0.9: {"f1": 0.6}}) == 0.7
    assert choose({0.5: {"f1": float("nan")}, 0.9: {"f1": 0.1}}) == 0.9
    assert choose({0.5: {"f1": float("nan")}, 0.9: {"f1": float("nan")}}) == 0.5
