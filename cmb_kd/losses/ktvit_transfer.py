"""The KT-ViT objective (eq. 7) as one call: MSE at the four feature levels and KL at the decision."""

from __future__ import annotations

from collections.abc import Sequence

from cmb_kd.losses.decision_kl import DecisionKLLoss
from cmb_kd.losses.feature_mse import FeatureMSELoss
from cmb_kd.losses.knowledge_transfer import KnowledgeTransferLoss

__all__ = ["KTVIT_FEATURE_TAPS", "ktvit_transfer_loss"]

KTVIT_FEATURE_TAPS: tuple[str, ...] = ("feature1", "feature2", "feature3", "feature4")
"""The four feature taps of :class:`~cmb_kd.networks.KTViT` where the H-net transfers features to the L-net."""


def ktvit_transfer_loss(
    feature_weights: Sequence[float] = (0.25, 0.25, 0.25, 0.25),
    decision_weight: float = 1.0,
    *,
    temperature: float = 1.0,
    supervised_weight: float = 1.0,
    transfer_weight: float = 1.0,
) -> KnowledgeTransferLoss:
    """Build L_total = L_BCE + Σ_{i=1..4} w_i·MSE(feature_i) + w·KL(P_L ‖ P_H) (KT-ViT, ``001``, eq. 7).

    One term per feature tap of :class:`~cmb_kd.networks.KTViT` (``feature1`` .. ``feature4``, a
    :class:`FeatureMSELoss` each, logged as ``loss_feature1`` ..) and one at its ``decision`` tap (the logits; a
    sigmoid :class:`DecisionKLLoss` KL(P_L ‖ P_H), logged as ``loss_decision``). The supervised term (BCE of the
    L-net against the labels) is the trainer's own loss, passed in by
    :class:`~cmb_kd.handlers.DistillationHandler`. The paper does not give the weights w_i and w: the defaults
    weigh the four feature levels equally (0.25 each) and the decision as one feature level's sum (1.0).

    Both bundles that train a KT-ViT L-net (the vessel bundle and the CMB bundle's ``distill_ktvit.json``) build
    their transfer loss here, so the two objectives cannot drift apart.

    Args:
        feature_weights: the four weights w_1..w_4 of the feature MSE terms, each >= 0.
        decision_weight: the weight w of the decision KL term, >= 0.
        temperature: temperature of the decision KL (1 is the paper's plain KL).
        supervised_weight: weight of the supervised loss (1 in the paper).
        transfer_weight: weight of the sum of the transfer terms (1 in the paper).

    Returns:
        The :class:`KnowledgeTransferLoss`, terms named ``feature1`` .. ``feature4`` and ``decision``.

    Raises:
        ValueError: not exactly four feature weights, or a negative weight or temperature.
    """
    weights = [float(w) for w in feature_weights]
    if len(weights) != len(KTVIT_FEATURE_TAPS):
        raise ValueError(
            f"feature_weights: expected {len(KTVIT_FEATURE_TAPS)} weights (one per feature tap "
            f"{', '.join(KTVIT_FEATURE_TAPS)}), got {list(feature_weights)}"
        )
    terms: list[dict] = [
        {"name": tap, "loss": FeatureMSELoss(), "tap": tap, "weight": w} for tap, w in zip(KTVIT_FEATURE_TAPS, weights)
    ]
    kl = DecisionKLLoss(activation="sigmoid", direction="student_teacher", temperature=temperature)
    terms.append({"name": "decision", "loss": kl, "tap": "decision", "weight": decision_weight})
    return KnowledgeTransferLoss(terms, supervised_weight=supervised_weight, transfer_weight=transfer_weight)
