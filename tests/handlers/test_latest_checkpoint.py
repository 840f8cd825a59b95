from cmb_kd.handlers import latest_checkpoint, loss_terms


def test_latest_by_number(tmp_path):
    assert latest_checkpoint(tmp_path / "missing") is None
    assert latest_checkpoint(tmp_path) is None
    for name in ["checkpoint_epoch=2.pt", "checkpoint_epoch=10.pt", "checkpoint_epoch=9.pt", "other_epoch=99.pt"]:
        (tmp_path / name).touch()
    assert latest_checkpoint(tmp_path).endswith("checkpoint_epoch=10.pt")


def test_loss_terms_picks_named_losses():
    import torch

    out = loss_terms([{"loss": torch.tensor(1.5), "loss_geo": 0.25, "pred": torch.zeros(2)}])
    assert out == {"loss": 1.5, "loss_geo": 0.25}
    assert loss_terms(None) == {}
