"""Tests of cmb_kd.evaluation.wall_time: the training wall time of the runs as a table."""

from __future__ import annotations

import json

from cmb_kd.evaluation import read_wall_time, wall_time_table


def test_wall_time_table(tmp_path) -> None:
    (tmp_path / "teacher").mkdir()
    record = {"invocations": [{"seconds": 600.0, "finished": False}, {"seconds": 300.0, "finished": True}]}
    (tmp_path / "teacher" / "wall_time.json").write_text(json.dumps({**record, "seconds": 900.0}))
    wall_times = {name: read_wall_time(tmp_path, name) for name in ("teacher", "plkd-s0")}
    table = wall_time_table(wall_times)
    assert table.splitlines()[2:] == ["| teacher | 15.0 | 2 |", "| plkd-s0 | not recorded | |"]
