import pytest
import torch
from conftest import TINY

from cmb_kd.networks import KTViT

SIZES = {"embed_channels": (4, 8), "hidden_sizes": (16, 32, 64), "num_heads": (2, 2, 2)}


@pytest.mark.slow
def test_ktvit_overlay_trains_l_net_from_frozen_h_net(bundle_copy, run_bundle):
    """The KT-ViT overlay runs with MSE at four feature levels and KL at the decision from a frozen H-net."""
    root = bundle_copy
    (root / "models").mkdir()
    torch.save(KTViT(3, 1, 1, patch_size=(4, 4, 2), **SIZES).state_dict(), root / "models" / "teacher_ktvit.pt")
    overrides = [arg for key, value in SIZES.items() for arg in (f"--network_def#{key}", str(list(value)))]
    channels = TINY.index("--network_def#channels")
    tiny = TINY[:channels] + TINY[channels + 2 :]  # E2UNet widths do not apply to KT-ViT
    out = run_bundle(
        root, ["train.json", "distill_ktvit.json"], *overrides, "--max_epochs", "1", "--val_interval", "100", tiny=tiny
    )
    for term in ("feature1", "feature2", "feature3", "feature4", "decision"):
        assert f"loss_{term}" in out, term
    assert (root / "models" / "model_ktvit.pt").is_file() or any((root / "runs" / "ktvit").rglob("*.pt"))
