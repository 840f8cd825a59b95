"""Tests of the candidate record."""

from __future__ import annotations

import dataclasses
import json

import pytest

from cmb_kd.candidates import Candidate


def test_fields_and_row():
    candidate = Candidate(voxel=(1, 2, 3), mm=(1.0, 2.0, 12.0), score=3.5, sources=("dark_spots", "frst"))
    row = candidate.as_dict()
    assert json.loads(json.dumps(row)) == {
        "voxel": [1, 2, 3],
        "mm": [1.0, 2.0, 12.0],
        "score": 3.5,
        "sources": ["dark_spots", "frst"],
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        candidate.score = 1.0  # type: ignore[misc]
