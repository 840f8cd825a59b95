"""Tests of benchmarks/bench_ktvit_training.py: the figures it reports and the table it prints."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PATH = ROOT / "benchmarks" / "bench_ktvit_training.py"
SPEC = importlib.util.spec_from_file_location("bench_ktvit_training", PATH)
bench = importlib.util.module_from_spec(SPEC)
sys.modules["bench_ktvit_training"] = bench
SPEC.loader.exec_module(bench)


def test_the_compact_width_has_the_size_the_docs_quote() -> None:
    millions, gflops = bench.forward_gflops("compact")
    assert (round(millions, 2), round(gflops, 1)) == (1.01, 7.4)


@pytest.mark.slow
def test_the_table_has_one_row_per_width_and_thread_count(tmp_path) -> None:
    lines = bench.main(["--widths", "compact", "--threads", "1", "--batch", "1", "--repeats", "1",
                        "--output", str(tmp_path / "table.md")])  # fmt: skip
    header, row = lines
    assert "| width | parameters |" in header and "batch 1, median of 1" in header
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[:4] == ["compact", "1.01 M", "7.4", "1"]
    assert all(float(cell) > 0 for cell in cells[4:])
    assert (tmp_path / "table.md").read_text() == "\n".join(lines) + "\n"
