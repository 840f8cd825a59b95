"""Atomic output: bytes written under a hidden temporary name in the destination folder, then renamed into place."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cmb_kd.inference.output_error import OutputError

__all__ = ["prepare_folder", "write_bytes_atomic"]


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


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``.

    A reader never sees a half-written file under the final name, and no temporary file is left behind, whether
    the write succeeds or fails.

    Raises:
        OutputError: naming the file when the folder is missing or the write fails.
    """
    target = Path(path)
    if not target.parent.is_dir():
        raise OutputError(target.parent, "the output folder does not exist", "an existing writable folder")
    try:
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as err:
        raise OutputError(target.parent, f"cannot write into the folder ({_reason(err)})", "a writable folder") from err
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except OSError as err:
        Path(temporary).unlink(missing_ok=True)
        raise OutputError(target, f"cannot write the file ({_reason(err)})", "a writable destination") from err
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
