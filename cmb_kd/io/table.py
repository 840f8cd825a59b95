"""CSV tables as the package writes them: a header of known columns, one row per mapping, ``\n`` line ends."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["csv_bytes", "table_cell"]


def table_cell(value: Any) -> Any:
    """A cell as the package's tables show it: floats rounded to 4 decimals, NaN as an empty cell, others as given.

    The CSV files of ``cmb-kd infer`` and its HTML report show the same cells.
    """
    if isinstance(value, (float, np.floating)):
        return "" if math.isnan(value) else str(round(float(value), 4))
    return value


def csv_bytes(
    columns: Sequence[str], rows: Sequence[Mapping[str, Any]], cell: Callable[[Any], Any] | None = None
) -> bytes:
    """The UTF-8 CSV text of ``rows`` under the header ``columns``.

    Args:
        columns: the header, in order; a row's missing column is an empty cell.
        rows: one mapping of column to value per row (a key outside ``columns`` raises ``ValueError``).
        cell: how a value is written (e.g. floats rounded, NaN as an empty cell); values as they are if None.

    Returns:
        The table, ready for :func:`cmb_kd.io.write_bytes_atomic`.
    """
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), restval="", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row if cell is None else {key: cell(value) for key, value in row.items()})
    return buffer.getvalue().encode("utf-8")
