import math

import pytest

from cmb_kd.metrics import LesionCounts

NAN = math.nan


@pytest.mark.parametrize(
    "counts, expected",
    [
        # (tp, fp, fn, dup, vtp, vfp, vfn) -> (tpr, ppv, f1, dice, n_ref, n_pred)
        (LesionCounts(3, 1, 1, 0, 10, 2, 2), (0.75, 0.75, 0.75, 20 / 24, 4, 4)),
        (LesionCounts(1, 0, 0, 1, 4, 1, 0), (1.0, 1.0, 1.0, 8 / 9, 1, 2)),
        (LesionCounts(0, 0, 2, 0, 0, 0, 5), (0.0, NAN, 0.0, 0.0, 2, 0)),
        (LesionCounts(0, 2, 0, 0, 0, 3, 0), (NAN, 0.0, 0.0, 0.0, 0, 2)),
        (LesionCounts(), (NAN, NAN, NAN, NAN, 0, 0)),
    ],
)
def test_derived_metrics(counts, expected):
    tpr, ppv, f1, dice, n_ref, n_pred = expected
    for got, want in ((counts.tpr, tpr), (counts.ppv, ppv), (counts.f1, f1), (counts.dice, dice)):
        assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want)
    assert (counts.n_ref, counts.n_pred) == (n_ref, n_pred)


def test_f1_equals_harmonic_mean_when_defined():
    counts = LesionCounts(tp=5, fp=3, fn=2)
    assert counts.f1 == pytest.approx(2 * counts.tpr * counts.ppv / (counts.tpr + counts.ppv))


def test_addition_pools_and_round_trips():
    a, b = LesionCounts(1, 2, 3, 4, 5, 6, 7), LesionCounts(1, 1, 1, 1, 1, 1, 1)
    assert (a + b).as_tuple() == (2, 3, 4, 5, 6, 7, 8)
    assert LesionCounts.from_sequence([2.0, 3, 4, 5, 6, 7, 8]) == a + b
    assert LesionCounts.field_names()[:3] == ("tp", "fp", "fn")


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: LesionCounts(tp=-1), "tp: expected a non-negative integer"),
        (lambda: LesionCounts(fp=1.5), "fp: expected a non-negative integer"),
        (lambda: LesionCounts.from_sequence([1, 2]), "values must hold 7 counts"),
        (lambda: LesionCounts.from_sequence([1, 2, 3, 4, 5, 6, 0.5]), r"values\[\w+\]: expected a whole number"),
    ],
)
def test_bad_values(build, match):
    with pytest.raises(ValueError, match=match):
        build()
