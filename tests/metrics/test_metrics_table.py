from pathlib import Path

import pytest

from cmb_kd.metrics import EvaluationResult, LesionCounts, SubjectEvaluation, format_metrics_table


def result(**settings):
    counts = [LesionCounts(tp=2, fp=1, fn=1, duplicates=1, voxel_tp=6, voxel_fp=2, voxel_fn=2), LesionCounts()]
    subjects = tuple(
        SubjectEvaluation(f"sub-00{i}_T2S_lr-x4", Path("p"), Path("r"), c) for i, c in enumerate(counts, 1)
    )
    return EvaluationResult(subjects=subjects, settings=settings, missing_subjects=("sub-009",))


@pytest.mark.parametrize(
    "settings, per_subject, expected_lines",
    [
        (
            {"matching": "overlap", "connectivity": 26, "max_distance_mm": None},
            False,
            [
                "TPR (%)                       66.7",
                "FP_avg (per subject)          0.50",
                "TP / FP / FN / dup.     2 / 1 / 1 / 1",
            ],
        ),
        (
            {"matching": "overlap or centroid distance", "connectivity": 6, "max_distance_mm": 3.0},
            True,
            ["sub-002_T2S_lr-x4     0    0    0    0    0    0    n/a    n/a    n/a    n/a"],
        ),
    ],
)
def test_table(settings, per_subject, expected_lines):
    text = format_metrics_table(result(**settings), per_subject=per_subject)
    lines = text.splitlines()
    for line in expected_lines:
        assert line in lines
    assert "2 subject(s), 3 reference lesion(s), 4 predicted component(s)" in lines[0]
    assert "not evaluated (no prediction): sub-009" in lines
    assert ("<= 3.0 mm" in lines[0]) == (settings["max_distance_mm"] is not None)
    assert not text.endswith("\n")
