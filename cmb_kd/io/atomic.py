"""Atomic output: every file written under a hidden temporary name in its folder, flushed, then renamed into place.

A reader never sees a half-written file under a final name: a kill at any moment leaves the old file or the new
one, and at worst a hidden ``.NAME.XXXXXXXX.tmp``. Files are created as :func:`open` creates them, with mode
``0o666`` less the process's umask (``0o644`` under the usual umask ``022``), not with the private ``0o600`` of
:func:`tempfile.mkstemp`. Every writer of the package (inference outputs, metrics, the synthetic cohort, training
checkpoints) goes through here.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import BinaryIO

from cmb_kd.io.errors import OutputError

__all__ = ["prepare_folder", "write_atomic", "write_bytes_atomic", "write_files_atomic"]

Writer = Callable[[BinaryIO], object]
"""What writes a file's content into an open binary handle (``lambda f: torch.save(obj, f)``)."""

_NEW_FILE_MODE = 0o666
"""Mode asked for a new file, as :func:`open` does; the kernel takes the umask off."""
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_NAME_ATTEMPTS = 100


def _reason(err: OSError) -> str:
    return err.strerror or type(err).__name__


def prepare_folder(folder: str | os.PathLike) -> Path:
    """Create ``folder`` (with parents) if needed and check that a file can be written into it.

    Raises:
        OutputError: naming the folder when it cannot be created or written.
    """
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise OutputError(path, "exists and is not a folder", "a folder (or a new path) for the outputs")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(path, f"cannot create the folder ({_reason(err)})", "a folder that can be created") from err
    try:
        descriptor, probe = tempfile.mkstemp(dir=path, prefix=".cmb_kd_write_test.", suffix=".tmp")
        os.close(descriptor)
        os.unlink(probe)
    except OSError as err:
        raise OutputError(path, f"cannot write into the folder ({_reason(err)})", "a writable folder") from err
    return path


def _write_temporary(target: Path, data: bytes | Writer) -> Path:
    """Write ``data`` (bytes, or a :data:`Writer`) to a new hidden file ``.NAME.XXXXXXXX.tmp`` beside ``target``
    (fsynced) and return its path.

    Raises:
        OutputError: naming the folder when no file can be created there, or ``target`` when the write fails; no
            temporary file is left behind.
    """
    for _ in range(_NAME_ATTEMPTS):
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            descriptor = os.open(temporary, _CREATE_FLAGS, _NEW_FILE_MODE)
        except FileExistsError:
            continue
        except OSError as err:
            raise OutputError(
                target.parent, f"cannot write into the folder ({_reason(err)})", "a writable folder"
            ) from err
        break
    else:
        raise OutputError(
            target.parent,
            f"cannot create a temporary file beside {target.name} ({_NAME_ATTEMPTS} names taken)",
            "a folder without thousands of .*.tmp files",
        )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            if isinstance(data, bytes):
                handle.write(data)
            else:
                data(handle)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as err:
        temporary.unlink(missing_ok=True)
        raise OutputError(target, f"cannot write the file ({_reason(err)})", "a writable destination") from err
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def _discard(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass  # clean-up after a failure: the original error is the one to report


def _sync_folder(folder: Path) -> None:
    """Flush the folder entry of a rename to the disk, where the file system allows it."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # a folder that cannot be opened for reading still holds the renamed file
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems cannot flush a folder entry; the rename itself has happened
    finally:
        os.close(descriptor)


def write_files_atomic(files: Mapping[str | os.PathLike, bytes | Writer]) -> list[Path]:
    """Write several files as a unit: every file under a temporary name first, then all renamed into place.

    When any write or rename fails (or the process is interrupted meanwhile), the files already renamed into place
    are removed and every temporary file is deleted, so that none of ``files`` is left under its final name with
    the new content; a file of the same name that existed before and was not yet replaced is left as it was.

    Args:
        files: final path -> content (bytes, or a :data:`Writer` that writes it into a handle); every folder must
            exist.

    Returns:
        The written paths, in the order of ``files``.

    Raises:
        ValueError: if ``files`` is empty or names one path twice.
        OutputError: naming the file or folder that could not be written.
    """
    targets = [Path(path) for path in files]
    if not targets:
        raise ValueError("files: expected at least one path -> bytes item, got none")
    if len({os.path.abspath(target) for target in targets}) != len(targets):
        raise ValueError(f"files: expected distinct paths, got {[str(t) for t in targets]}")
    for target in targets:
        if not target.parent.is_dir():
            raise OutputError(target.parent, "the output folder does not exist", "an existing writable folder")
    staged: list[Path] = []
    renamed: list[Path] = []
    try:
        for target, data in zip(targets, files.values()):
            staged.append(_write_temporary(target, data))
        for temporary, target in zip(staged, targets):
            try:
                os.replace(temporary, target)
            except OSError as err:
                raise OutputError(target, f"cannot write the file ({_reason(err)})", "a writable destination") from err
            renamed.append(target)
    except BaseException:
        if len(staged) == len(targets) and len(renamed) < len(targets) and not staged[len(renamed)].exists():
            renamed.append(targets[len(renamed)])  # interrupted right after its rename
        for target in renamed:
            _discard(target)
        for temporary in staged[len(renamed) :]:
            _discard(temporary)
        raise
    for folder in dict.fromkeys(target.parent for target in targets):
        _sync_folder(folder)
    return targets


def write_atomic(path: str | os.PathLike, write: Writer) -> Path:
    """Write a file through ``write(handle)`` (e.g. ``lambda f: torch.save(obj, f)``) atomically, as
    :func:`write_bytes_atomic` does for bytes; an exception raised by ``write`` leaves no file behind.

    Raises:
        OutputError: naming the file when the folder is missing or the write fails.
    """
    return write_files_atomic({path: write})[0]


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``.

    A reader never sees a half-written file under the final name, and no temporary file is left behind, whether
    the write succeeds or fails. A new file gets mode ``0o666`` less the umask, as with :func:`open`.

    Raises:
        OutputError: naming the file when the folder is missing or the write fails.
    """
    return write_files_atomic({path: data})[0]
