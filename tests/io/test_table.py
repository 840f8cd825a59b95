"""Tests of cmb_kd.io.table: the CSV text of rows under a header."""

import csv
import io
import math

import pytest

from cmb_kd.io import csv_bytes


def test_rows_are_written_under_the_header_with_missing_cells_empty():
    text = csv_bytes(["a", "b", "c"], [{"a": 1, "b": "x,y"}, {"c": 2.5}]).decode("utf-8")
    assert text == 'a,b,c\n1,"x,y",\n,,2.5\n'
    assert list(csv.DictReader(io.StringIO(text)))[0] == {"a": "1", "b": "x,y", "c": ""}


def test_a_cell_format_applies_to_every_value_and_an_unknown_column_is_refused():
    def cell(value):
        return "" if isinstance(value, float) and math.isnan(value) else value

    assert csv_bytes(["v"], [{"v": math.nan}, {"v": 1}], cell) == b'v\n""\n1\n'  # csv quotes a lone empty cell
    with pytest.raises(ValueError):
        csv_bytes(["a"], [{"b": 1}])
