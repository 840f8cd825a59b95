import pytest
import torch

from cmb_kd.losses import CosineFeatureLoss, DecisionKLLoss, FeatureMSELoss, KnowledgeTransferLoss


def plkd():
    return KnowledgeTransferLoss(
        [
            {"name": "geo", "loss": CosineFeatureLoss(), "tap": "geometric", "weight": 0.5},
            {"name": "sem", "loss": CosineFeatureLoss(), "tap": "semantic", "weight": 0.5},
        ],
        supervised_weight=0.6,
        transfer_weight=0.4,
    )


def test_total_is_weighted_sum_of_named_terms():
    loss = plkd()
    s = {"geometric": torch.randn(2, 4, 4, 4, 4), "semantic": torch.randn(2, 8, 2, 2, 2)}
    t = {k: torch.randn_like(v) for k, v in s.items()}
    sup = torch.tensor(0.7)
    out = loss(sup, s, t)
    geo = CosineFeatureLoss()(s["geometric"], t["geometric"])
    sem = CosineFeatureLoss()(s["semantic"], t["semantic"])
    torch.testing.assert_close(out["geo"], geo)
    torch.testing.assert_close(out["transfer"], 0.5 * geo + 0.5 * sem)
    torch.testing.assert_close(out["total"], 0.6 * sup + 0.4 * (0.5 * geo + 0.5 * sem))
    assert set(out) == {"supervised", "geo", "sem", "transfer", "total"}


def test_formula_and_taps():
    loss = plkd()
    assert str(loss) == (
        "total = 0.6·supervised + 0.4·(0.5·geo[CosineFeatureLoss](geometric) + 0.5·sem[CosineFeatureLoss](semantic))"
    )
    assert loss.student_taps == ["geometric", "semantic"] == loss.teacher_taps


def test_ktvit_terms_and_teacher_tap():
    terms = [{"name": f"f{i}", "loss": FeatureMSELoss(), "tap": f"feature{i}", "weight": 0.25} for i in range(1, 5)]
    terms.append({"name": "kl", "loss": DecisionKLLoss(), "tap": "decision", "teacher_tap": "decision", "weight": 1})
    loss = KnowledgeTransferLoss(terms)
    assert loss.student_taps == ["feature1", "feature2", "feature3", "feature4", "decision"]


@pytest.mark.parametrize(
    "terms, kwargs, err, match",
    [
        ([], {}, ValueError, "non-empty"),
        (
            [{"name": "a", "loss": FeatureMSELoss(), "tap": "x", "weight": -1}],
            {},
            ValueError,
            "weight: expected a number >= 0",
        ),
        ([{"name": "a", "loss": FeatureMSELoss(), "tap": "x"}], {"transfer_weight": -0.1}, ValueError, "transfer_w"),
        ([{"name": "total", "loss": FeatureMSELoss(), "tap": "x"}], {}, ValueError, "reserved"),
        ([{"name": "a", "loss": FeatureMSELoss()}], {}, ValueError, r"lacks key\(s\) \['tap'\]"),
        ([{"name": "a", "loss": "mse", "tap": "x"}], {}, TypeError, "nn.Module"),
        ([{"name": "a", "loss": FeatureMSELoss(), "tap": "x", "w": 1}], {}, ValueError, "unknown key"),
    ],
)
def test_bad_terms(terms, kwargs, err, match):
    with pytest.raises(err, match=match):
        KnowledgeTransferLoss(terms, **kwargs)


def test_missing_tap_lists_available():
    loss = plkd()
    with pytest.raises(KeyError, match="available"):
        loss(torch.tensor(1.0), {"geometric": torch.randn(1, 2, 2, 2, 2)}, {"geometric": torch.randn(1, 2, 2, 2, 2)})
