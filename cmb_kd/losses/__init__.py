"""Knowledge-transfer losses: cosine and MSE feature transfer, KL decision transfer, their weighted sum."""

from cmb_kd.losses.cosine_feature import CosineFeatureLoss
from cmb_kd.losses.decision_kl import DecisionKLLoss
from cmb_kd.losses.feature_adapter import FeatureAdapter
from cmb_kd.losses.feature_mse import FeatureMSELoss
from cmb_kd.losses.feature_pair import float32_region, prepare_pair
from cmb_kd.losses.knowledge_transfer import KnowledgeTransferLoss, TransferTerm
from cmb_kd.losses.ktvit_transfer import KTVIT_FEATURE_TAPS, ktvit_transfer_loss
from cmb_kd.losses.transfer_loss import TransferLoss

__all__ = [
    "CosineFeatureLoss",
    "DecisionKLLoss",
    "FeatureAdapter",
    "FeatureMSELoss",
    "KTVIT_FEATURE_TAPS",
    "KnowledgeTransferLoss",
    "TransferLoss",
    "TransferTerm",
    "float32_region",
    "ktvit_transfer_loss",
    "prepare_pair",
]
