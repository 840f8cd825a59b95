import torch

from cmb_kd.handlers import is_complete_checkpoint, latest_checkpoint, save_atomic


def test_latest_by_number(tmp_path):
    assert latest_checkpoint(tmp_path / "missing") is None
    assert latest_checkpoint(tmp_path) is None
    for name in ["checkpoint_epoch=2.pt", "checkpoint_epoch=10.pt", "checkpoint_epoch=9.pt", "other_epoch=99.pt"]:
        save_atomic({"x": torch.zeros(1)}, tmp_path / name)
    assert latest_checkpoint(tmp_path).endswith("checkpoint_epoch=10.pt")


def test_latest_checkpoint_skips_damaged_files(tmp_path, caplog):
    for epoch in (2, 3):
        save_atomic({"epoch": epoch, "w": torch.ones(100)}, tmp_path / f"checkpoint_epoch={epoch}.pt")
    good = (tmp_path / "checkpoint_epoch=3.pt").read_bytes()
    (tmp_path / "checkpoint_epoch=4.pt").write_bytes(good[: len(good) // 2])  # truncated by a kill
    (tmp_path / "checkpoint_epoch=5.pt").write_bytes(b"")  # empty
    corrupt = bytearray(good)
    corrupt[good.index(b"\x00\x00\x80\x3f" * 100) + 50] ^= 0xFF
    (tmp_path / "checkpoint_epoch=6.pt").write_bytes(bytes(corrupt))  # a flipped byte in the data
    with caplog.at_level("WARNING"):
        assert latest_checkpoint(tmp_path).endswith("checkpoint_epoch=3.pt")
    assert sum("damaged checkpoint" in r.getMessage() for r in caplog.records) == 3
    assert not is_complete_checkpoint(tmp_path / "missing.pt")
    for name in ("checkpoint_epoch=2.pt", "checkpoint_epoch=3.pt"):
        (tmp_path / name).write_bytes(b"not a zip")
    assert latest_checkpoint(tmp_path) is None
