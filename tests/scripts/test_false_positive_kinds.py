"""Tests of scripts/false_positive_kinds.py: the naming rule and its bad-input messages."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location("false_positive_kinds", ROOT / "scripts" / "false_positive_kinds.py")
false_positive_kinds = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(false_positive_kinds)

AFFINE = np.diag([2.0, 2.0, 2.0, 1.0])
AFFINE[:3, 3] = (-20.0, -20.0, -20.0)


def _mimics() -> np.ndarray:
    mimics = np.zeros((20, 20, 20), dtype=np.uint8)
    mimics[5, 5:15, 10] = 1  # a vein along y at world x = -10 mm, z = 0 mm
    mimics[15, 15, 15] = 3  # dropout at world (10, 10, 10) mm
    return mimics


@pytest.mark.parametrize(
    ("centre", "kind"),
    [
        ((0.0, 0.0, 0.0), "calcification"),  # 1 mm from the calcification centre
        ((-10.0, 0.0, 1.0), "vein"),
        ((10.0, 10.0, 11.0), "dropout"),
        ((-15.0, 15.0, -15.0), "other"),
    ],
)
def test_kind_of_names_the_mimic_at_the_centre(centre, kind) -> None:
    calcifications = [(1.0, 0.0, 0.0)]
    assert false_positive_kinds.kind_of(np.array(centre), _mimics(), AFFINE, calcifications) == kind


def test_a_calcification_farther_than_the_limit_is_not_named() -> None:
    kind = false_positive_kinds.kind_of(np.zeros(3), _mimics(), AFFINE, [(6.0, 0.0, 0.0)], calcification_mm=4.0)
    assert kind == "other"


def test_bad_arguments_exit_with_a_message(tmp_path, capsys) -> None:
    base = ["--cohort", str(tmp_path), "--run", "plkd-s0"]
    for argv, message in [
        ([*base, "--threshold", "1.5"], "--threshold: expected a probability in (0, 1)"),
        ([*base, "--threshold", "0.5", "--factor", "0"], "--factor: expected 1 (HR)"),
        ([*base, "--threshold", "0.5"], "datalist.json: not found"),
    ]:
        with pytest.raises(SystemExit):
            false_positive_kinds.main(argv)
        assert message in capsys.readouterr().err, argv
