"""A MONAI ``CheckpointSaver`` whose files survive a kill: written atomically, the old one removed after the new."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ignite.distributed as idist
import torch
from ignite.handlers.checkpoint import BaseSaveHandler, Checkpoint
from monai.handlers import CheckpointSaver

from cmb_kd.io import write_atomic

__all__ = ["AtomicCheckpointSaver", "save_atomic"]

logger = logging.getLogger(__name__)


def save_atomic(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save(obj)`` to ``path`` so that a kill at any moment leaves either the old file or the new one.

    Written through :func:`cmb_kd.io.write_atomic`: the bytes go to a hidden temporary file in the destination
    folder, are flushed to the disk (``fsync``), and the file is renamed over ``path`` (``os.replace``, atomic on
    POSIX); the folder entry is flushed too. The file gets the permissions of a plain ``open()`` write (``0o666``
    less the umask). A failed or interrupted write removes its temporary file (a ``SIGKILL`` leaves it as
    ``.NAME.XXXX.tmp``, never under the final name).

    Args:
        obj: what ``torch.save`` accepts (a state dict, a dict of state dicts).
        path: the destination; its folder must exist.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        FileNotFoundError: the folder of ``path`` does not exist.
        OSError: the write fails (the temporary file is removed first).
    """
    target = Path(path)
    if not target.parent.is_dir():
        raise FileNotFoundError(f"{target.parent}: checkpoint folder does not exist; expected an existing folder")
    return write_atomic(target, lambda handle: torch.save(obj, handle))


class _AtomicDiskSaver(BaseSaveHandler):
    """Ignite save handler writing through :func:`save_atomic` and deferring removals until the next save is done.

    Ignite's ``Checkpoint`` removes the file it drops *before* writing the new one; here the removal is only noted
    and carried out once the new file is in place, so the folder never holds fewer complete checkpoints than asked.
    ``filename``, when given, replaces every name (MONAI's fixed ``final_filename`` / ``key_metric_filename``).
    """

    def __init__(self, dirname: str | os.PathLike, filename: str | None = None) -> None:
        self.dirname = Path(dirname)
        self.filename = filename
        self._pending: list[str] = []

    def __call__(self, checkpoint: Mapping, filename: str, metadata: Mapping | None = None) -> None:
        name = self.filename or filename
        if idist.get_rank() != 0:
            return
        self.dirname.mkdir(parents=True, exist_ok=True)
        save_atomic(checkpoint, self.dirname / name)
        pending, self._pending = self._pending, []
        for old in pending:
            if old != name:
                (self.dirname / old).unlink(missing_ok=True)

    def remove(self, filename: str) -> None:
        self._pending.append(self.filename or filename)


class AtomicCheckpointSaver(CheckpointSaver):
    """MONAI's ``CheckpointSaver`` (same arguments, same file names) made safe against a kill and exact on resume.

    What changes:

    - every file (interval checkpoints, the final model, the best model) is written by :func:`save_atomic`: a kill
      during a write leaves the previous file intact and a hidden temporary file, never a truncated file under a
      final name;
    - with ``n_saved`` the old checkpoint is deleted only after the new one is complete, and the files of the same
      kind left by an earlier run (``checkpoint_epoch=5.pt`` beside a resumed run's ``checkpoint_epoch=30.pt``) are
      removed too, so the folder holds the newest ``n_saved``;
    - the key-metric tracking (which score the best model was saved with) is this handler's ``state_dict``: put
      the validation saver in the trainer's checkpoint (``checkpoint_objects``) and a resumed run saves
      ``best_<model>.pt`` only for a better score than before the interruption;
    - with ``save_final``, a run that stops on an exception does not write the final file (MONAI's saver writes
      it then, so that a crashed run looks finished); the interval checkpoint is the point to resume from.

    Args:
        save_dir, save_dict, ...: as ``monai.handlers.CheckpointSaver``.

    Raises:
        ValueError, AssertionError: as ``monai.handlers.CheckpointSaver``.
    """

    def __init__(self, save_dir: str, save_dict: dict, **kwargs: Any) -> None:
        super().__init__(save_dir, save_dict, **kwargs)
        fixed = {
            "_final_checkpoint": kwargs.get("final_filename"),
            "_key_metric_checkpoint": kwargs.get("key_metric_filename"),
            "_interval_checkpoint": None,
        }
        for attribute, filename in fixed.items():
            checkpoint: Checkpoint | None = getattr(self, attribute)
            if checkpoint is not None:
                checkpoint.save_handler = _AtomicDiskSaver(save_dir, filename)
        if self._interval_checkpoint is not None:
            self._interval_checkpoint.save_handler = _IntervalDiskSaver(
                save_dir, self._interval_checkpoint.score_name, kwargs.get("n_saved")
            )

    def exception_raised(self, engine: Any, e: Exception) -> None:
        """Re-raise ``e`` without writing the final file: only a finished run has final weights."""
        self.logger.warning("training stopped by %s: no final checkpoint written", type(e).__name__)
        raise e

    def state_dict(self) -> dict[str, Any]:
        """``{"key_metric": [(score, file name), ...]}``: the key-metric tracking (empty without key metric)."""
        saved = [] if self._key_metric_checkpoint is None else self._key_metric_checkpoint._saved
        return {"key_metric": [(item.priority, item.filename) for item in saved]}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore the key-metric tracking from :meth:`state_dict`.

        Raises:
            KeyError: ``state_dict`` lacks ``key_metric``.
        """
        if "key_metric" not in state_dict:
            raise KeyError(f"AtomicCheckpointSaver state lacks 'key_metric'; got keys {sorted(state_dict)}.")
        if self._key_metric_checkpoint is not None:
            self._key_metric_checkpoint._saved = [
                Checkpoint.Item(priority, filename) for priority, filename in state_dict["key_metric"]
            ]


class _IntervalDiskSaver(_AtomicDiskSaver):
    """The interval checkpoints' save handler: after each save, older files of the same kind are removed.

    ``<prefix>_<name>_<epoch|iteration>=<N>.pt`` files of the folder beyond the newest ``n_saved`` (by ``N``) go,
    whoever wrote them, so a resumed run does not leave its predecessor's checkpoints behind.
    """

    def __init__(self, dirname: str | os.PathLike, score_name: str, n_saved: int | None) -> None:
        super().__init__(dirname)
        self.score_name = score_name
        self.n_saved = n_saved

    def __call__(self, checkpoint: Mapping, filename: str, metadata: Mapping | None = None) -> None:
        super().__call__(checkpoint, filename, metadata)
        if self.n_saved is None or idist.get_rank() != 0:
            return
        basename = (metadata or {}).get("basename") or filename.split(f"_{self.score_name}=")[0]
        pattern = re.compile(rf"^{re.escape(basename)}_{re.escape(self.score_name)}=(\d+)\.pt$")
        found = sorted(
            ((int(m.group(1)), p) for p in self.dirname.iterdir() if (m := pattern.match(p.name))), reverse=True
        )
        for _, stale in found[self.n_saved :]:
            logger.info("removing the older checkpoint %s", stale)
            stale.unlink(missing_ok=True)
