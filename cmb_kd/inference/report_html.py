"""The report of one scan as a single self-contained HTML page: the header of its picture, the picture itself and
the lesion table, sortable by any column. The page loads nothing from elsewhere: the picture is embedded as a
``data:`` URI, the style and the few lines of script that sort the table are inline."""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from typing import Any

from cmb_kd.checks import as_affine, spacing_of
from cmb_kd.inference.lesion_table import Lesion, as_lesions
from cmb_kd.inference.location_output import lesion_columns, with_location
from cmb_kd.inference.report_text import FOOTER, header_lines
from cmb_kd.io import table_cell

__all__ = ["render_report_html", "report_html"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR = re.compile(r"[A-Za-z]+|#[0-9A-Fa-f]{3,8}")
_STYLE = """
body { background: #000; color: #fff; font: 14px/1.4 system-ui, sans-serif; margin: 1em; }
header h1 { font-size: 1.3em; margin: 0 0 0.2em; }
header p { margin: 0.1em 0; }
header h1, header p { overflow-wrap: anywhere; }
img { display: block; max-width: 100%; height: auto; margin: 1em 0; }
.table { overflow-x: auto; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
caption { text-align: left; color: #aaa; padding-bottom: 0.3em; }
th, td { border: 1px solid #555; padding: 0.2em 0.5em; text-align: right; }
th button { background: none; border: 0; padding: 0; color: inherit; font: inherit; font-weight: bold; }
th button { cursor: pointer; }
th[aria-sort="ascending"] button::after { content: " \\25B2"; }
th[aria-sort="descending"] button::after { content: " \\25BC"; }
footer { color: #999; margin-top: 1em; font-size: 0.9em; }
"""
# a cell sorts by its data-value when it has one (numbers, as numbers), else by its text; empty cells last
_SCRIPT = """
"use strict";
document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  function key(cell) {
    if (cell.hasAttribute("data-value")) return [0, Number(cell.getAttribute("data-value"))];
    var text = cell.textContent.trim();
    return [text ? 1 : 2, text];
  }
  heads.forEach(function (head, column) {
    head.querySelector("button").addEventListener("click", function () {
      var sign = head.getAttribute("aria-sort") === "ascending" ? -1 : 1;
      heads.forEach(function (other) { other.setAttribute("aria-sort", "none"); });
      head.setAttribute("aria-sort", sign > 0 ? "ascending" : "descending");
      var body = table.tBodies[0];
      Array.prototype.slice.call(body.rows).sort(function (a, b) {
        var x = key(a.cells[column]), y = key(b.cells[column]);
        if (x[0] !== y[0]) return x[0] - y[0];
        return sign * (x[0] === 0 ? x[1] - y[1] : x[1].localeCompare(y[1]));
      }).forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def report_html(
    header: Sequence[tuple[str, str]],
    pictures: Sequence[bytes],
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    *,
    footer: str = FOOTER,
) -> str:
    """Build a report page from its parts: header lines, PNG pictures and a table.

    The page holds, in order, the ``header`` lines (the first as the heading and the page's title; every line
    wraps, none is cut), each picture as an ``<img>`` with a ``data:image/png;base64`` source, the table under
    ``columns`` and the ``footer``. Cells are shown as the CSV files show them (:func:`cmb_kd.io.table_cell`); a
    cell holding a finite real number also carries it, unrounded, as ``data-value``, which the column sort uses, so
    that numbers sort as numbers (other cells by their text, empty cells last). Clicking a column's name sorts the
    rows by it, clicking again reverses the order. Every text is escaped; a Content-Security-Policy forbids loading
    anything but the page's own inline style, script and ``data:`` pictures.

    Args:
        header: ``(text, colour)`` per line, at least one (as :func:`header_lines` gives them); the colour is a CSS
            colour name or ``#`` hex code, on a black page.
        pictures: PNG files' bytes, shown in order.
        columns: the table's columns, in order.
        rows: one mapping of column to value per row; a row's missing column is an empty cell.
        footer: the last line.

    Returns:
        The HTML text (UTF-8 when written).

    Raises:
        ValueError: for an empty header, a line that is not a ``(text, colour)`` pair with a CSS colour name or hex
            code, a picture that is not PNG bytes, or a row with a key outside ``columns``.
    """
    if not header:
        raise ValueError("header: expected at least one (text, colour) line, got none")
    lines = []
    for index, line in enumerate(header):
        text, colour = line if isinstance(line, tuple) and len(line) == 2 else (line, None)
        if not isinstance(colour, str) or not _COLOUR.fullmatch(colour):
            raise ValueError(f"header[{index}]: expected a (text, CSS colour name or #hex code) pair, got {line!r}")
        tag = "h1" if index == 0 else "p"
        lines.append(f'<{tag} style="color: {colour}">{html.escape(str(text))}</{tag}>')
    images = [
        f'<img alt="axial slices, each detection numbered as in the table" src="{_png_data_uri(picture, index)}">'
        for index, picture in enumerate(pictures)
    ]
    title = html.escape(str(header[0][0]))
    policy = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            '<head>\n<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{policy}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{title}</title>\n<style>{_STYLE}</style>\n</head>",
            "<body>",
            "<header>",
            *lines,
            "</header>",
            *images,
            _table(columns, rows),
            f"<footer>{html.escape(footer)}</footer>",
            f"<script>{_SCRIPT}</script>",
            "</body>",
            "</html>\n",
        ]
    )


def _png_data_uri(picture: bytes, index: int) -> str:
    """The ``data:`` URI of a PNG file's bytes."""
    if not isinstance(picture, (bytes, bytearray)):
        raise ValueError(f"pictures[{index}]: expected the bytes of a PNG file, got {type(picture).__name__}")
    if bytes(picture[:8]) != _PNG_SIGNATURE:
        start = bytes(picture[:8])
        raise ValueError(f"pictures[{index}]: expected the bytes of a PNG file, got bytes starting {start!r}")
    return "data:image/png;base64," + base64.b64encode(bytes(picture)).decode("ascii")


def _table(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    """The sortable ``<table>`` of ``rows`` under ``columns``."""
    # a long column name may break after its underscores (centroid_x_ / mm), so that the numbers set the width
    names = [html.escape(str(column)).replace("_", "_<wbr>") for column in columns]
    heads = "".join(f'<th scope="col" aria-sort="none"><button type="button">{n}</button></th>' for n in names)
    body = []
    for index, row in enumerate(rows):
        unknown = [key for key in row if key not in columns]
        if unknown:
            raise ValueError(f"rows[{index}]: expected keys among the columns {list(columns)}, got also {unknown}")
        body.append("<tr>" + "".join(_cell(row.get(column, "")) for column in columns) + "</tr>")
    caption = f"{len(rows)} lesion(s); click a column's name to sort by it"
    return "\n".join(
        [
            '<div class="table"><table class="sortable">',
            f"<caption>{html.escape(caption)}</caption>",
            f"<thead><tr>{heads}</tr></thead>",
            "<tbody>",
            *body,
            "</tbody>",
            "</table></div>",
        ]
    )


def _cell(value: Any) -> str:
    """One ``<td>``: the value as the CSV shows it, and a finite real number also as its ``data-value``."""
    shown = html.escape(str(table_cell(value)))
    if isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value):
        number = int(value) if isinstance(value, Integral) else float(value)
        return f'<td data-value="{number!r}">{shown}</td>'
    return f"<td>{shown}</td>"


def render_report_html(
    picture: bytes,
    lesions: Sequence[Lesion],
    affine: Any,
    *,
    title: str | None = None,
    phase_used: bool | None = None,
    location: Any = None,
) -> str:
    """The HTML page of a scan's report (:func:`report_html`): the header of its picture, the picture, and its lesion
    table with the columns of ``NAME_cmb_lesions.csv`` (:data:`LESION_COLUMNS`, then each lesion's region, class,
    side and MNI coordinates when ``location``), sortable.

    The header is the picture's own (:func:`header_lines`: title, count, voxel size, phase, thick-slice warning) and
    the footer its :data:`FOOTER`, so that both say the same.

    Args:
        picture: the PNG of :func:`render_report_png` for the same scan, lesions, title and phase.
        lesions: the lesion table of the scan's mask (:func:`lesion_table`); their number is the count shown.
        affine: the scan's 4x4 voxel-to-world affine (gives the voxel size shown).
        title: first header line (default: the number of detections).
        phase_used: whether the phase image was used (said in the header); None: not said.
        location: the :class:`~cmb_kd.location.LocationResult` of ``lesions`` (header and table); None: none.

    Returns:
        The HTML text.

    Raises:
        ValueError: for a picture that is not PNG bytes, a bad affine, or ``lesions`` that are not :class:`Lesion`
            objects.
    """
    voxel = spacing_of(as_affine(affine, "affine"))
    rows = with_location([lesion.as_row() for lesion in as_lesions(lesions)], location)
    header = header_lines(title, len(rows), voxel, phase_used, location)
    return report_html(header, [picture], lesion_columns(location), rows)
