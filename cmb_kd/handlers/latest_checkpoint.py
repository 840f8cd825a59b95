"""Find the newest intact resumable checkpoint in a folder (used by the bundle configs to resume)."""

from __future__ import annotations

import logging
import re
import zipfile
from pathlib import Path

__all__ = ["is_complete_checkpoint", "latest_checkpoint"]

logger = logging.getLogger(__name__)


def is_complete_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` is a complete ``torch.save`` file: a zip archive whose every member passes its CRC check.

    ``torch.save`` writes a zip archive whose directory sits at the end of the file, so an empty, truncated or
    partly overwritten file fails here without being unpickled.

    Args:
        path: the file to check (a missing file gives ``False``).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None and any(name.endswith("data.pkl") for name in archive.namelist())
    except (OSError, zipfile.BadZipFile, EOFError, ValueError, RuntimeError):
        return False


def latest_checkpoint(folder: str | Path, prefix: str = "checkpoint") -> str | None:
    """Return the intact checkpoint with the largest epoch / iteration number in ``folder``, or ``None``.

    MONAI's ``CheckpointSaver`` names its files ``<prefix>_epoch=<N>.pt`` (or ``_iteration=<N>``,
    ``_final_iteration=<N>``). The number, not the modification time, decides which is the latest. A damaged file
    (empty or truncated, e.g. written by a saver that was killed; see :func:`is_complete_checkpoint`) is skipped
    with a warning naming it, and the newest intact one before it is returned; nothing is deleted.

    Args:
        folder: the checkpoint folder (a missing folder gives ``None``).
        prefix: the file prefix of the saver.

    Returns:
        The path as a string, or ``None`` when there is no intact checkpoint to resume from.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return None
    pattern = re.compile(rf"^{re.escape(prefix)}_(?:final_)?(?:epoch|iteration)=(\d+)\.pt$")
    found = sorted(((int(m.group(1)), p) for p in folder.iterdir() if (m := pattern.match(p.name))), reverse=True)
    for _, path in found:
        if is_complete_checkpoint(path):
            return str(path)
        logger.warning("%s: damaged checkpoint (empty or truncated), skipped; resuming from an older one", path)
    return None
