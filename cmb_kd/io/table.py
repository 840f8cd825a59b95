"""CSV tables as the package writes them: a header of known columns, one row per mapping, ``\n`` line ends."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["csv_bytes"]


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
