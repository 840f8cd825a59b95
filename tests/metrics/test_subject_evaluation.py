import math
from pathlib import Path

import pytest

from cmb_kd.metrics import SUBJECT_COLUMNS, LesionCounts, SubjectEvaluation


@pytest.mark.parametrize(
    "counts, tpr, ppv",
    [(LesionCounts(tp=1, fp=1, fn=0, duplicates=1), 1.0, 0.5), (LesionCounts(), math.nan, math.nan)],
)
def test_row(counts, tpr, ppv):
    row = SubjectEvaluation("sub-001_T2S", Path("p.nii.gz"), Path("sub-001/r.nii.gz"), counts).as_row()
    assert tuple(row) == SUBJECT_COLUMNS
    assert row["reference"] == "sub-001/r.nii.gz" and row["n_pred"] == counts.n_pred
    for got, want in ((row["tpr"], tpr), (row["ppv"], ppv)):
        assert (math.isnan(got) and math.isnan(want)) or got == want
