import json
from pathlib import Path

import pytest

from cmb_kd.metrics import EvaluationResult, LesionCounts, SubjectEvaluation


def subject(name, counts):
    return SubjectEvaluation(name, Path(f"{name}_cmb_mask.nii.gz"), Path(f"{name}.nii.gz"), counts)


def test_pooled_counts_and_json_safe_dict():
    result = EvaluationResult(
        subjects=(subject("a", LesionCounts(tp=1, fp=2, voxel_tp=3)), subject("b", LesionCounts())),
        settings={"connectivity": 26},
        missing_subjects=("c",),
    )
    assert result.counts == LesionCounts(tp=1, fp=2, voxel_tp=3)
    assert result.metrics["fp_avg"] == 1.0
    data = result.to_dict()
    json.dumps(data, allow_nan=False)  # nan is written as null
    assert data["metrics"]["tpr"] == 1.0 and data["metrics"]["tp"] == 1 and isinstance(data["metrics"]["tp"], int)
    assert data["subjects"][1]["f1"] is None
    assert data["missing_subjects"] == ["c"] and data["settings"] == {"connectivity": 26}


def test_empty_result_has_no_metrics():
    with pytest.raises(ValueError, match="at least one subject"):
        _ = EvaluationResult(subjects=()).metrics
