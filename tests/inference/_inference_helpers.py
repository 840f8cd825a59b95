"""Constants shared by the inference tests (a uniquely named module, importable from every test file here)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

ANISOTROPIC_AFFINE = np.array(
    [
        [-0.5, 0.0, 0.0, 40.0],
        [0.0, 0.5, 0.0, -30.0],
        [0.0, 0.0, 3.0, -12.0],
        [0.0, 0.0, 0.0, 1.0],
    ]
)
"""A thick-slice grid: 0.5 x 0.5 x 3 mm voxels, x flipped, with an offset."""

_HOLD_LOCK = """
import fcntl, os, sys
descriptor = os.open(os.path.join(sys.argv[1], sys.argv[2]), os.O_RDWR | os.O_CREAT, 0o666)
fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
print("locked", flush=True)
sys.stdin.read()
"""


def hold_lock(folder, name: str = ".cmb_kd_infer.lock") -> subprocess.Popen:
    """Start a process that holds the lock of ``folder`` (``flock`` on ``folder/name``, as ``OutputFolderLock``
    takes it) until its stdin is closed; returns once the lock is held (no sleep)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(folder), name], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    line = holder.stdout.readline()
    if line != b"locked\n":
        holder.kill()
        raise RuntimeError(f"the lock holder did not take the lock of {folder} (it wrote {line!r})")
    return holder


def release(holder: subprocess.Popen) -> None:
    """End a :func:`hold_lock` process (its lock is released as it exits)."""
    holder.stdin.close()
    holder.wait(timeout=30)


def interrupt_rename_to(
    monkeypatch, suffix: str, error: BaseException | type[BaseException] = KeyboardInterrupt
) -> None:
    """Make ``os.replace`` raise ``error`` (default a Ctrl-C) when it would rename a file onto ``*suffix``."""
    replace = os.replace

    def interrupted(source, target):
        if str(target).endswith(suffix):
            raise error
        return replace(source, target)

    monkeypatch.setattr(os, "replace", interrupted)
