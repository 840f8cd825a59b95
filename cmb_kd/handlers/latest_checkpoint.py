"""Find the newest resumable checkpoint in a folder (used by the bundle configs to resume)."""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["latest_checkpoint"]


def latest_checkpoint(folder: str | Path, prefix: str = "checkpoint") -> str | None:
    """Return the checkpoint with the largest epoch / iteration number in ``folder``, or ``None``.

    MONAI's ``CheckpointSaver`` names its files ``<prefix>_epoch=<N>.pt`` (or ``_iteration=<N>``,
    ``_final_iteration=<N>``). The number, not the modification time, decides which is the latest.

    Args:
        folder: the checkpoint folder (a missing folder gives ``None``).
        prefix: the file prefix of the saver.

    Returns:
        The path as a string, or ``None`` when there is no checkpoint to resume from.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return None
    pattern = re.compile(rf"^{re.escape(prefix)}_(?:final_)?(?:epoch|iteration)=(\d+)\.pt$")
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := pattern.match(p.name))]
    return str(max(found)[1]) if found else None
