import pytest
import torch

from cmb_kd.losses import FeatureMSELoss


def test_equals_torch_mse_and_is_normalised_per_voxel():
    s, t = torch.randn(2, 3, 4, 4, 2), torch.randn(2, 3, 4, 4, 2)
    torch.testing.assert_close(FeatureMSELoss()(s, t), torch.nn.functional.mse_loss(s, t))
    # tiling the volume does not change a per-voxel mean
    big_s, big_t = s.repeat(1, 1, 2, 2, 2), t.repeat(1, 1, 2, 2, 2)
    torch.testing.assert_close(FeatureMSELoss()(big_s, big_t), FeatureMSELoss()(s, t))


def test_reductions_and_identity():
    x = torch.randn(3, 2, 4, 4, 4)
    assert FeatureMSELoss(reduction="none")(x, x).shape == (3,)
    assert FeatureMSELoss(reduction="sum")(x, x).item() == 0.0
    with pytest.raises(ValueError, match="reduction"):
        FeatureMSELoss(reduction="batch")


def test_adapter_and_mismatch():
    assert (
        FeatureMSELoss(student_channels=2, teacher_channels=5)(
            torch.randn(1, 2, 4, 4, 4), torch.randn(1, 5, 4, 4, 4)
        ).ndim
        == 0
    )
    with pytest.raises(ValueError, match=r"\(1, 2, 4, 4, 4\).*\(1, 5, 4, 4, 4\)"):
        FeatureMSELoss()(torch.randn(1, 2, 4, 4, 4), torch.randn(1, 5, 4, 4, 4))
