"""Tests of cmb_kd.io.table: the CSV text of rows under a header."""

import csv
import io
import math

import numpy as np
import pytest

from cmb_kd.io import csv_bytes, table_cell


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


@pytest.mark.parametrize(
    "value, cell",
    [(1.23456, "1.2346"), (np.float32(0.5), "0.5"), (2.0, "2.0"), (math.nan, ""), (3, 3), ("a<b", "a<b")],
)
def test_table_cell_rounds_floats_and_empties_nan(value, cell):
    assert table_cell(value) == cell
