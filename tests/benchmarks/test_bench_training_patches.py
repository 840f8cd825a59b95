"""Tests of benchmarks/bench_training_patches.py: both data paths run from the bundle configs and are timed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from cmb_kd.synth import SynthConfig, write_cohort

ROOT = Path(__file__).resolve().parents[2]
PATH = ROOT / "benchmarks" / "bench_training_patches.py"
SPEC = importlib.util.spec_from_file_location("bench_training_patches", PATH)
bench = importlib.util.module_from_spec(SPEC)
sys.modules["bench_training_patches"] = bench
SPEC.loader.exec_module(bench)


@pytest.mark.slow
def test_both_paths_give_patches_per_second(tmp_path, capsys) -> None:
    write_cohort(tmp_path, 2, 0, config=SynthConfig(shape=(96, 112, 88), spacing=2.0, cmb_p_zero=0.0), progress=False)
    results = bench.main(["--data", str(tmp_path), "--batches", "2"])
    assert set(results) == {"plain", "randomised"}
    for row in results.values():
        assert row["patches"] == 2 * 4  # one training subject: two batches of one draw of four patches
        assert row["data_per_s"] > 0 and row["step_per_s"] > 0 and row["both_per_s"] < row["data_per_s"]
    table = capsys.readouterr().out
    assert "| plain | 8 |" in table and "| randomised | 8 |" in table
