"""Results tables written into Markdown files between the markers ``<!-- results:NAME:start -->`` and
``<!-- results:NAME:end -->``."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from cmb_kd.io import write_bytes_atomic

__all__ = ["MARKERS", "check_markers", "marker", "replace_between_markers", "write_tables_into"]

logger = logging.getLogger(__name__)

MARKERS = ("table", "magnitude", "ablation", "walltime")
"""Names of the marker pairs ``<!-- results:NAME:start -->`` / ``<!-- results:NAME:end -->`` of the results."""


def marker(name: str, end: str) -> str:
    """The Markdown comment ``<!-- results:NAME:start -->`` (``end`` is ``"start"`` or ``"end"``)."""
    return f"<!-- results:{name}:{end} -->"


def replace_between_markers(text: str, name: str, content: str, *, source: str | os.PathLike) -> str:
    """``text`` with what lies between the ``name`` markers replaced by ``content`` (markers kept).

    Args:
        text: a Markdown text holding the markers once each.
        name: the markers' name.
        content: what goes between them (stripped, on lines of its own).
        source: the file ``text`` comes from, for the messages.

    Returns:
        The new text.

    Raises:
        ValueError: naming ``source`` when a marker is missing, repeated, or the end comes before the start.
    """
    start, end = marker(name, "start"), marker(name, "end")
    for tag in (start, end):
        if text.count(tag) != 1:
            found = "missing" if tag not in text else f"found {text.count(tag)} times"
            raise ValueError(f"{source}: marker {tag} {found}; expected it exactly once")
    head, rest = text.split(start)
    if end not in rest:
        raise ValueError(f"{source}: marker {end} comes before {start}")
    tail = rest.split(end)[1]
    return f"{head}{start}\n{content.strip()}\n{end}{tail}"


def check_markers(paths: Sequence[Path]) -> None:
    """Checks that every file of ``paths`` exists and holds every marker pair of :data:`MARKERS` once.

    Args:
        paths: Markdown files.

    Raises:
        ValueError: naming the file that is missing or the marker that is wrong.
    """
    for path in paths:
        if not path.is_file():
            raise ValueError(f"--write-docs: {path}: file not found")
        text = path.read_text(encoding="utf-8")
        for name in MARKERS:
            try:
                replace_between_markers(text, name, "", source=path)
            except ValueError as err:
                raise ValueError(f"--write-docs: {err}") from err


def write_tables_into(paths: Sequence[Path], tables: Mapping[str, str]) -> None:
    """Replaces, in each file of ``paths``, the text between each marker pair of :data:`MARKERS` by its table.

    Args:
        paths: Markdown files checked by :func:`check_markers`.
        tables: marker name to table.

    Raises:
        ValueError: naming the file whose markers are wrong.
    """
    for path in paths:
        text = path.read_text(encoding="utf-8")
        for name in MARKERS:
            text = replace_between_markers(text, name, tables[name], source=path)
        write_bytes_atomic(path, text.encode("utf-8"))
        logger.info("wrote the tables into %s", path)
