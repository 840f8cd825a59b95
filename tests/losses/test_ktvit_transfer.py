import pytest
import torch

from cmb_kd.losses import KTVIT_FEATURE_TAPS, KnowledgeTransferLoss, ktvit_transfer_loss
from cmb_kd.networks import FeatureTaps, KTViT

TINY = {"embed_channels": (2, 4), "hidden_sizes": (8, 8, 16), "num_heads": (2, 2, 4), "patch_size": 2}


def _bernoulli_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """KL(P_L ‖ P_H) of voxel-wise Bernoulli distributions written out from eq. 5, averaged over the voxels."""
    p, q = torch.sigmoid(student_logits.double()), torch.sigmoid(teacher_logits.double())
    kl = p * torch.log(p / q) + (1 - p) * torch.log((1 - p) / (1 - q))
    return kl.flatten(1).mean(dim=1).mean()


def _features(generator: torch.Generator) -> dict[str, torch.Tensor]:
    shapes = {"feature1": (2, 4, 8, 8, 4), "feature2": (2, 8, 4, 4, 2), "feature3": (2, 16, 2, 2, 1)}
    shapes |= {"feature4": (2, 4, 8, 8, 4), "decision": (2, 1, 8, 8, 4)}
    return {name: torch.randn(shape, generator=generator) for name, shape in shapes.items()}


def test_total_is_eq_7_written_out() -> None:
    generator = torch.Generator().manual_seed(0)
    student, teacher = _features(generator), _features(generator)
    weights, w = (0.1, 0.2, 0.3, 0.4), 0.5
    out = ktvit_transfer_loss(weights, w)(torch.tensor(0.7), student, teacher)
    mse = [((student[t] - teacher[t]) ** 2).double().mean() for t in KTVIT_FEATURE_TAPS]
    kl = _bernoulli_kl(student["decision"], teacher["decision"])
    expected = 0.7 + sum(wi * m for wi, m in zip(weights, mse)) + w * kl
    assert set(out) == {"supervised", *KTVIT_FEATURE_TAPS, "decision", "transfer", "total"}
    for tap, value in zip(KTVIT_FEATURE_TAPS, mse):
        torch.testing.assert_close(out[tap].double(), value, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(out["decision"].double(), kl, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(out["total"].double(), expected, rtol=1e-5, atol=1e-7)


def test_formula_names_every_term_and_its_tap() -> None:
    loss = ktvit_transfer_loss()
    assert isinstance(loss, KnowledgeTransferLoss)
    assert loss.formula == (
        "total = 1·supervised + 1·(0.25·feature1[FeatureMSELoss](feature1) + 0.25·feature2[FeatureMSELoss](feature2)"
        " + 0.25·feature3[FeatureMSELoss](feature3) + 0.25·feature4[FeatureMSELoss](feature4)"
        " + 1·decision[DecisionKLLoss](decision))"
    )


def test_the_taps_are_those_ktvit_declares() -> None:
    """Every tap of the loss resolves on a KT-ViT, and identical H-net and L-net give zero transfer."""
    loss = ktvit_transfer_loss()
    net = KTViT(3, 1, 1, **TINY).eval()
    x = torch.rand(1, 1, 16, 16, 8)
    with FeatureTaps(net, loss.student_taps) as taps:
        net(x)
        features = taps.collect()
    out = loss(torch.tensor(0.3), features, {k: v.clone() for k, v in features.items()})
    assert loss.student_taps == [*KTVIT_FEATURE_TAPS, "decision"] == loss.teacher_taps
    torch.testing.assert_close(out["transfer"], torch.tensor(0.0), atol=1e-6, rtol=0.0)
    torch.testing.assert_close(out["total"], torch.tensor(0.3))


def test_temperature_reaches_the_decision_term() -> None:
    assert ktvit_transfer_loss(temperature=2.0).losses["decision"].temperature == 2.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"feature_weights": (1.0, 1.0, 1.0)}, "expected 4 weights"),
        ({"feature_weights": (1.0, -1.0, 1.0, 1.0)}, "weight: expected a number >= 0"),
        ({"decision_weight": -0.5}, "weight: expected a number >= 0"),
        ({"temperature": 0.0}, "temperature"),
        ({"transfer_weight": -1.0}, "transfer_weight"),
    ],
)
def test_bad_arguments_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ktvit_transfer_loss(**kwargs)
