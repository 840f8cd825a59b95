"""Exclusive lock of an output folder, so that two batch runs never write into one folder at the same time."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from types import TracebackType

from cmb_kd.io import OutputError

try:
    import fcntl
except ImportError:  # not a POSIX system
    fcntl = None

__all__ = ["LOCK_NAME", "OutputFolderLock"]

LOCK_NAME = ".cmb_kd_infer.lock"
"""Name of the hidden lock file that :class:`OutputFolderLock` creates in the output folder."""

_BUSY = (errno.EWOULDBLOCK, errno.EAGAIN)
_OPEN_FLAGS = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


class OutputFolderLock:
    """Exclusive, non-blocking lock of ``folder`` for the duration of a batch run (a context manager).

    The lock is ``fcntl.flock(LOCK_EX | LOCK_NB)`` on the hidden file ``folder/.cmb_kd_infer.lock``. The operating
    system releases it when the holding process ends, however it ends (crash, ``kill -9``), so no stale lock is
    left; the empty lock file stays in the folder (removing it would let two runs lock two different files).
    A second lock of the same folder, by another process or another :class:`OutputFolderLock` in this one, is
    refused at once. Linux and other POSIX systems; a file system without ``flock`` (some network mounts) is
    refused with a clear error rather than left unprotected.

    Args:
        folder: an existing output folder.

    Attributes:
        folder: the locked folder.
        path: the lock file.

    Raises:
        OutputError: from :meth:`acquire`, naming the folder when another run holds the lock, or when the folder
            cannot be locked (no ``flock`` on this platform or file system, lock file not writable).
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self._descriptor: int | None = None

    @property
    def locked(self) -> bool:
        """Whether this object holds the lock."""
        return self._descriptor is not None

    def acquire(self) -> None:
        """Take the lock, or fail at once when another run holds it.

        Raises:
            OutputError: naming the folder when another run holds the lock or it cannot be locked; also when this
                object already holds it.
        """
        if self._descriptor is not None:
            raise OutputError(self.folder, "is already locked by this OutputFolderLock", "one acquire per release")
        if fcntl is None:
            raise OutputError(
                self.folder, "cannot lock the folder (no fcntl.flock on this platform)", "a POSIX system (Linux)"
            )
        try:
            descriptor = os.open(self.path, _OPEN_FLAGS, 0o666)
        except OSError as err:
            raise OutputError(
                self.folder,
                f"cannot open the lock file {LOCK_NAME} ({err.strerror or type(err).__name__})",
                "a writable output folder",
            ) from err
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(descriptor)
            if err.errno in _BUSY:
                raise OutputError(
                    self.folder,
                    f"another cmb-kd infer run is writing into this folder (it holds {self.path})",
                    "one run at a time per output folder: wait for the other run to finish, or choose another "
                    "output folder",
                ) from err
            raise OutputError(
                self.folder,
                f"cannot lock the folder ({err.strerror or type(err).__name__})",
                "an output folder on a file system with flock (a local disk)",
            ) from err
        self._descriptor = descriptor

    def release(self) -> None:
        """Release the lock (nothing happens when it is not held)."""
        descriptor, self._descriptor = self._descriptor, None
        if descriptor is not None:
            os.close(descriptor)  # closing the last descriptor of the open file releases the flock

    def __enter__(self) -> OutputFolderLock:
        self.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.release()
