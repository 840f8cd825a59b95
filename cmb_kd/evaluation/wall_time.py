"""Training wall time of the runs: read from ``RUNS/<name>/wall_time.json`` and shown as a Markdown table."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

__all__ = ["read_wall_time", "wall_time_table"]


def read_wall_time(runs_dir: Path, name: str) -> dict[str, float] | None:
    """The training wall time of run ``name``.

    Args:
        runs_dir: the folder of the runs.
        name: the run's name.

    Returns:
        ``seconds`` and ``invocations`` (number of starts) of ``RUNS/<name>/wall_time.json``, or None for a run
        trained elsewhere (no such file).
    """
    path = runs_dir / name / "wall_time.json"
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    return {"seconds": float(record["seconds"]), "invocations": len(record["invocations"])}


def wall_time_table(wall_times: Mapping[str, Mapping[str, float] | None]) -> str:
    """Markdown table of the training wall time per run.

    Args:
        wall_times: run name to :func:`read_wall_time`; runs without a record (trained elsewhere) are listed as
            "not recorded".

    Returns:
        The table.
    """
    lines = ["| Run | Wall time (min) | Invocations (resumed runs count each start) |", "|---|---|---|"]
    for name, record in wall_times.items():
        if record is None:
            lines.append(f"| {name} | not recorded | |")
            continue
        lines.append(f"| {name} | {record['seconds'] / 60:.1f} | {int(record['invocations'])} |")
    return "\n".join(lines)
