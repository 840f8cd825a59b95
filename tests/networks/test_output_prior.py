"""Tests of initialise_output_prior: the untrained network predicts the prior, weights untouched."""

from __future__ import annotations

import pytest
import torch
from monai.networks.nets import DynUNet

from cmb_kd.networks import E2UNet, ScreeningFCN, initialise_output_prior


@pytest.mark.parametrize(
    ("network", "layer"),
    [
        (E2UNet(spatial_dims=3, in_channels=1, out_channels=1, channels=[4, 8, 16, 32, 64]), "head.conv"),
        (ScreeningFCN(spatial_dims=3, in_channels=1, out_channels=1), "conv6.conv"),
        (
            DynUNet(3, 1, 1, kernel_size=[3, 3, 3], strides=[1, 2, 2], upsample_kernel_size=[2, 2], filters=[4, 8, 16]),
            "output_block.conv.conv",
        ),
    ],
)
def test_output_layer_found_and_untrained_output_near_the_prior(network, layer):
    before = {k: v.clone() for k, v in network.state_dict().items()}
    assert initialise_output_prior(network, 0.01) is network
    bias = network.get_submodule(layer).bias
    assert torch.allclose(torch.sigmoid(bias), torch.tensor(0.01), atol=1e-6)
    changed = [k for k, v in network.state_dict().items() if not torch.equal(v, before[k])]
    assert changed == [f"{layer}.bias"]
    network.eval()
    with torch.no_grad():
        probability = torch.sigmoid(network(torch.randn(2, 1, 32, 32, 16)))
    assert float(probability.median()) < 0.1  # an untrained network starts at the background, not at 0.5


def test_named_layer_and_bad_arguments():
    network = ScreeningFCN(spatial_dims=3, in_channels=1, out_channels=1)
    initialise_output_prior(network, 0.2, layer="conv5.conv")
    assert torch.allclose(torch.sigmoid(network.conv5.conv.bias), torch.tensor(0.2))
    for bad in (0, 1, -0.1, True, "0.1"):
        with pytest.raises(ValueError, match="probability"):
            initialise_output_prior(network, bad)
    with pytest.raises(ValueError, match="no submodule 'nope'"):
        initialise_output_prior(network, 0.1, layer="nope")
    with pytest.raises(ValueError, match="convolution with a bias at 'pool'"):
        initialise_output_prior(network, 0.1, layer="pool")
    with pytest.raises(ValueError, match="no convolution with a bias"):
        initialise_output_prior(torch.nn.Linear(2, 2))
