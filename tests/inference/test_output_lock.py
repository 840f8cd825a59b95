"""Tests of OutputFolderLock: one run per output folder, across processes, released when its holder ends."""

from __future__ import annotations

import errno
import subprocess
import sys

import pytest
from _inference_helpers import hold_lock, release

from cmb_kd.inference import LOCK_NAME, OutputError, OutputFolderLock
from cmb_kd.inference import output_lock as output_lock_module

_TRY_LOCK = """
import fcntl, os, sys
descriptor = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o666)
try:
    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    sys.exit(3)
"""


def _other_process_can_lock(folder) -> bool:
    done = subprocess.run([sys.executable, "-c", _TRY_LOCK, str(folder / LOCK_NAME)], timeout=30)
    assert done.returncode in (0, 3)
    return done.returncode == 0


def test_lock_excludes_other_processes_and_other_locks_until_released(tmp_path) -> None:
    lock = OutputFolderLock(tmp_path)
    with lock:
        assert lock.locked and lock.path == tmp_path / LOCK_NAME
        assert not _other_process_can_lock(tmp_path)
        with pytest.raises(OutputError, match="another cmb-kd infer run is writing into this folder"):
            OutputFolderLock(tmp_path).acquire()
        with pytest.raises(OutputError, match="already locked by this OutputFolderLock"):
            lock.acquire()
    assert not lock.locked and _other_process_can_lock(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [LOCK_NAME]  # the empty lock file stays


@pytest.mark.parametrize("ending", ["exit", "kill"])
def test_lock_held_by_another_process_is_refused_then_free_when_it_ends(tmp_path, ending) -> None:
    holder = hold_lock(tmp_path)
    try:
        with pytest.raises(OutputError, match="another cmb-kd infer run is writing into this folder") as info:
            OutputFolderLock(tmp_path).acquire()
        assert str(info.value).startswith(f"{tmp_path}: ") and "\n" not in str(info.value)
    finally:
        if ending == "kill":
            holder.kill()  # no clean-up in the holder: the system releases the lock
            holder.wait(timeout=30)
        release(holder)
    with OutputFolderLock(tmp_path) as lock:
        assert lock.locked


def test_no_flock_fails_clearly(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(output_lock_module, "fcntl", None)
    with pytest.raises(OutputError, match=r"cannot lock the folder \(no fcntl.flock on this platform\)"):
        OutputFolderLock(tmp_path).acquire()


def test_file_system_without_flock_fails_clearly(tmp_path, monkeypatch) -> None:
    import fcntl

    def no_locks(descriptor, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    with pytest.raises(OutputError, match=r"cannot lock the folder \(No locks available\); expected .*flock"):
        OutputFolderLock(tmp_path).acquire()


def test_missing_folder_is_named(tmp_path) -> None:
    with pytest.raises(OutputError, match="cannot open the lock file"):
        OutputFolderLock(tmp_path / "missing").acquire()
