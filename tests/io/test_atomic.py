"""Tests of cmb_kd.io.atomic: files written as a unit, never half-written under a final name."""

import os
import stat

import pytest
import torch
from _test_files import interrupt_rename_to

from cmb_kd.io import OutputError, prepare_folder, write_atomic, write_bytes_atomic, write_files_atomic


def _files(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_interrupted_set_write_leaves_no_file_of_it(tmp_path, monkeypatch):
    interrupt_rename_to(monkeypatch, "b.txt")
    with pytest.raises(KeyboardInterrupt):
        write_files_atomic({tmp_path / "a.txt": b"a", tmp_path / "b.txt": b"b", tmp_path / "c.txt": b"c"})
    assert _files(tmp_path) == []
    with pytest.raises(ValueError, match="files: expected distinct paths"):
        write_files_atomic({tmp_path / "a.txt": b"a", str(tmp_path / "a.txt"): b"b"})


def test_write_atomic_streams_into_the_file_and_leaves_nothing_when_the_writer_fails(tmp_path):
    path = write_atomic(tmp_path / "w.pt", lambda handle: torch.save({"w": torch.arange(4)}, handle))
    assert torch.equal(torch.load(path, weights_only=True)["w"], torch.arange(4))
    before = path.read_bytes()

    def failing(handle):
        handle.write(b"half")
        raise RuntimeError("the writer failed")

    with pytest.raises(RuntimeError, match="the writer failed"):
        write_atomic(path, failing)
    assert path.read_bytes() == before and _files(tmp_path) == ["w.pt"]  # the old file, no temporary


def test_files_get_the_mode_of_a_plain_open_and_a_missing_folder_is_named(tmp_path):
    previous = os.umask(0o027)
    try:
        written = write_bytes_atomic(tmp_path / "a.bin", b"x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(written).st_mode) == 0o640
    with pytest.raises(OutputError, match="missing: the output folder does not exist"):
        write_bytes_atomic(tmp_path / "missing" / "a.bin", b"x")


def test_prepare_folder_creates_it_or_names_why_not(tmp_path):
    assert prepare_folder(tmp_path / "new" / "out") == tmp_path / "new" / "out" and (tmp_path / "new" / "out").is_dir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="exists and is not a folder"):
        prepare_folder(tmp_path / "file")
