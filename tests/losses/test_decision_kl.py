import math

import pytest
import torch

from cmb_kd.losses import DecisionKLLoss


def bernoulli_kl(p, q):
    return p * (p / q).log() + (1 - p) * ((1 - p) / (1 - q)).log()


def test_sigmoid_matches_eq5_per_voxel():
    zs, zt = torch.randn(2, 1, 4, 4, 2), torch.randn(2, 1, 4, 4, 2)
    ps, pt = torch.sigmoid(zs), torch.sigmoid(zt)
    expected = bernoulli_kl(ps, pt).flatten(1).mean(1)
    torch.testing.assert_close(DecisionKLLoss(reduction="none")(zs, zt), expected, rtol=1e-5, atol=1e-6)
    reverse = bernoulli_kl(pt, ps).flatten(1).mean(1)
    torch.testing.assert_close(
        DecisionKLLoss(direction="teacher_student", reduction="none")(zs, zt), reverse, rtol=1e-5, atol=1e-6
    )


def test_softmax_matches_torch_kl_div():
    zs, zt = torch.randn(2, 3, 4, 4, 2), torch.randn(2, 3, 4, 4, 2)
    # KL(P_S || P_T) = kl_div(input=log P_T, target=log P_S, log_target=True), summed over C, mean over voxels
    ref = torch.nn.functional.kl_div(zt.log_softmax(1), zs.log_softmax(1), log_target=True, reduction="none")
    torch.testing.assert_close(DecisionKLLoss(activation="softmax")(zs, zt), ref.sum(1).mean(), rtol=1e-5, atol=1e-6)


def test_temperature_scaling():
    zs, zt = torch.randn(1, 1, 4, 4, 2), torch.randn(1, 1, 4, 4, 2)
    t = 4.0
    expected = DecisionKLLoss()(zs / t, zt / t) * t * t
    torch.testing.assert_close(DecisionKLLoss(temperature=t)(zs, zt), expected)


@pytest.mark.parametrize("inputs", ["logits", "probabilities"])
def test_safe_at_zero_and_one(inputs):
    if inputs == "logits":
        s = torch.tensor([math.inf, -math.inf, 100.0, -100.0]).view(1, 1, 4, 1, 1)
        t = torch.tensor([-math.inf, math.inf, 100.0, -100.0]).view(1, 1, 4, 1, 1)
    else:
        s = torch.tensor([1.0, 0.0, 1.0, 0.0]).view(1, 1, 4, 1, 1)
        t = torch.tensor([0.0, 1.0, 1.0, 0.0]).view(1, 1, 4, 1, 1)
    s.requires_grad_(True)
    value = DecisionKLLoss(inputs=inputs)(s, t)
    value.backward()
    assert torch.isfinite(value) and value.item() > 0
    assert torch.isfinite(s.grad).all()
    same = DecisionKLLoss(inputs=inputs)(t, t)
    assert same.item() == pytest.approx(0.0, abs=1e-5)


def test_non_negative_and_zero_for_equal():
    z = torch.randn(2, 1, 4, 4, 4)
    assert DecisionKLLoss()(z, z).item() == pytest.approx(0.0, abs=1e-6)
    assert DecisionKLLoss()(z, torch.randn_like(z)).item() > 0


def test_bad_arguments():
    with pytest.raises(ValueError, match="temperature"):
        DecisionKLLoss(temperature=0)
    with pytest.raises(ValueError, match="direction"):
        DecisionKLLoss(direction="sideways")
    with pytest.raises(ValueError, match="softmax needs at least 2 channels"):
        DecisionKLLoss(activation="softmax")(torch.randn(1, 1, 2, 2, 2), torch.randn(1, 1, 2, 2, 2))
