"""Tests of cmb_kd.evaluation.run_names: run families and where their final weights are."""

from __future__ import annotations

from pathlib import Path

import pytest

from cmb_kd.evaluation import family_of, weights_path


@pytest.mark.parametrize(
    ("name", "family", "weights"),
    [
        ("teacher", "teacher", "teacher/models/teacher/model.pt"),
        ("plkd-s12", "plkd", "plkd-s12/models/model.pt"),
        ("dynunet-s0", "dynunet", "dynunet-s0/models/dynunet.pt"),
        ("ablation-hybrid", "ablation", "ablation-hybrid/models/model.pt"),
        ("ablation-3d-s2", "ablation", "ablation-3d-s2/models/model.pt"),
        ("screening", None, "screening/models/model.pt"),
        ("plkd", None, "plkd/models/model.pt"),
    ],
)
def test_run_names(name: str, family: str | None, weights: str) -> None:
    assert family_of(name) == family
    assert weights_path(Path("runs"), name) == Path("runs") / weights
