"""Networks: screening FCN, E²U-Net, KT-ViT, candidate ResNet, and feature taps for distillation."""

from cmb_kd.networks.candidate_resnet import CandidateResNet3D
from cmb_kd.networks.device import as_device
from cmb_kd.networks.e2unet import E2UNet
from cmb_kd.networks.ktvit import KTViT
from cmb_kd.networks.output_prior import initialise_output_prior
from cmb_kd.networks.screening_fcn import ScreeningFCN
from cmb_kd.networks.taps import FeatureTaps
from cmb_kd.networks.validation import check_channel_counts, check_network_input, check_spatial_dims, positive_ints
from cmb_kd.networks.weights import WRAPPER_KEYS, load_network_weights

__all__ = [
    "WRAPPER_KEYS",
    "load_network_weights",
    "CandidateResNet3D",
    "E2UNet",
    "FeatureTaps",
    "KTViT",
    "ScreeningFCN",
    "as_device",
    "check_channel_counts",
    "check_network_input",
    "check_spatial_dims",
    "initialise_output_prior",
    "positive_ints",
]
