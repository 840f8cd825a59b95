"""The per-rank summaries of a distributed batch run (``cmb_summary_shards/``), and how a later run folds those an
unfinished run left back into ``cmb_summary.csv``."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from cmb_kd.inference.batch_result import InferenceOutcome
from cmb_kd.inference.output_writer import OutputWriter
from cmb_kd.io import OutputError, prepare_folder

__all__ = ["SHARDS_FOLDER", "SummaryShardWriter", "fold_shards", "remove_shards", "shard_rows"]

logger = logging.getLogger(__name__)

SHARDS_FOLDER = "cmb_summary_shards"
"""Sub-folder of the output folder that holds the per-rank summaries while a distributed run goes on."""

_SHARD_NAME = re.compile(r"rank-(\d+)-of-(\d+)\.csv")


class SummaryShardWriter(OutputWriter):
    """An :class:`OutputWriter` whose summary is the shard of one rank of a distributed run.

    Scan outputs go into ``output_dir`` as usual; the summary is ``output_dir/cmb_summary_shards/rank-R-of-N.csv``
    (``R`` and ``N`` written with five digits), so that no two ranks ever write one file.

    Args:
        output_dir: the run's output folder; it and its shard folder are created when missing.
        rank: the rank, ``0 <= rank < world_size``.
        world_size: the number of ranks, at least 1.

    Raises:
        ValueError: for a bad rank or world size.
        OutputError: when the folders cannot be created or written.
    """

    def __init__(self, output_dir: str | os.PathLike, rank: int, world_size: int) -> None:
        numbers = (rank, world_size)
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers) or not 0 <= rank < world_size:
            raise ValueError(f"rank, world_size: expected integers with 0 <= rank < world_size, got {numbers}")
        super().__init__(output_dir)
        self.rank, self.world_size = rank, world_size
        prepare_folder(self.output_dir / SHARDS_FOLDER)

    @property
    def summary_path(self) -> Path:
        """``output_dir/cmb_summary_shards/rank-R-of-N.csv``."""
        return self.output_dir / SHARDS_FOLDER / f"rank-{self.rank:05d}-of-{self.world_size:05d}.csv"


def _shard_files(output_dir: str | os.PathLike) -> list[tuple[Path, int, int]]:
    """The shard files in ``output_dir``'s shard folder, sorted by name, with their rank and world size."""
    folder = Path(output_dir) / SHARDS_FOLDER
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        match = _SHARD_NAME.fullmatch(path.name)
        if match and path.is_file() and int(match[1]) < int(match[2]):
            found.append((path, int(match[1]), int(match[2])))
    return found


def shard_rows(output_dir: str | os.PathLike) -> dict[str, dict[str, str]]:
    """The rows of every shard in ``output_dir``, by name (a later shard file's row of a name wins).

    Raises:
        OutputError: naming a shard that is not a summary of ``cmb-kd infer``.
    """
    rows: dict[str, dict[str, str]] = {}
    for _, rank, world_size in _shard_files(output_dir):
        rows.update({row["name"]: row for row in SummaryShardWriter(output_dir, rank, world_size).read_summary()})
    return rows


def remove_shards(output_dir: str | os.PathLike) -> None:
    """Remove the shard files of ``output_dir`` and their folder; a folder holding other files is kept (with a
    warning naming it).

    Raises:
        OutputError: naming a shard that cannot be removed.
    """
    folder = Path(output_dir) / SHARDS_FOLDER
    for path, _, _ in _shard_files(output_dir):
        try:
            path.unlink(missing_ok=True)
        except OSError as err:
            problem = f"cannot remove this summary shard ({err.strerror or type(err).__name__})"
            raise OutputError(path, problem, "a writable output folder") from err
    try:
        folder.rmdir()
    except FileNotFoundError:
        pass
    except OSError as err:
        logger.warning("%s: kept (%s); it holds files that are not summary shards", folder, err.strerror)


def fold_shards(writer: OutputWriter) -> list[dict[str, str]]:
    """Fold the shards an unfinished distributed run left in ``writer``'s folder into its summary; return its rows.

    A distributed run stopped before rank 0 gathered its shards (a kill, a crash) has the rows of its finished scans
    in the shards only. Every batch run calls this first, holding the folder's lock, so leftover shards are newer
    than the summary: each shard row replaces the summary's row of its name (or is added), and the shards are
    removed. Without shards, the summary's rows are returned as they are.

    Returns:
        The rows of ``cmb_summary.csv`` afterwards (:meth:`OutputWriter.read_summary`).

    Raises:
        OutputError: for a shard or a summary that is not a summary of ``cmb-kd infer`` (never overwritten), or one
            that cannot be written or removed.
    """
    earlier = writer.read_summary()
    if not _shard_files(writer.output_dir):
        return earlier
    rows = shard_rows(writer.output_dir)
    if rows:
        writer.write_summary([InferenceOutcome.from_row(row) for row in rows.values()], earlier=earlier)
        logger.info("%d row(s) left by an unfinished distributed run folded into %s", len(rows), writer.summary_path)
    remove_shards(writer.output_dir)
    return writer.read_summary()
