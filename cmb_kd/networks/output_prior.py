"""Start a segmentation network at the rarity of its foreground: the output bias set to the prior's logit."""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["initialise_output_prior"]

_CONVOLUTIONS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


def initialise_output_prior(network: nn.Module, probability: float = 0.01, layer: str | None = None) -> nn.Module:
    """Set the bias of the network's output convolution to ``log(p / (1 - p))``, in place.

    CMBs fill about 0.1 % of a training patch. With a zero output bias an untrained network predicts a probability
    of about 0.5 everywhere, and Adam moves the bias by about one learning rate per step, so the first few thousand
    iterations only learn that the background is background. Starting the sigmoid at ``probability`` (the prior
    initialisation of focal-loss detectors) removes that phase; the weights are left as they are.

    Args:
        network: the network; its output layer is ``layer`` or, by default, the last convolution with a bias in
            registration order (``head.conv`` of E²U-Net, ``conv6.conv`` of the screening FCN,
            ``output_block.conv.conv`` of MONAI's DynUNet).
        probability: the foreground probability the untrained network predicts, in (0, 1).
        layer: dotted name of the output convolution (``network.get_submodule(layer)``).

    Returns:
        ``network`` itself, so that a config can write ``initialise_output_prior(@network_def)``.

    Raises:
        ValueError: for a probability outside (0, 1), or no (named) convolution with a bias.

    Example:
        >>> net = initialise_output_prior(E2UNet(spatial_dims=3, in_channels=1, out_channels=1), 0.01)
        >>> round(float(torch.sigmoid(net.head.conv.bias)), 4)
        0.01
    """
    if isinstance(probability, bool) or not isinstance(probability, (int, float)) or not 0 < probability < 1:
        raise ValueError(f"probability: expected a number in (0, 1), got {probability!r}")
    if layer is not None:
        try:
            output = network.get_submodule(layer)
        except AttributeError as err:
            raise ValueError(f"layer: {type(network).__name__} has no submodule {layer!r}") from err
        if not isinstance(output, _CONVOLUTIONS) or output.bias is None:
            raise ValueError(f"layer: expected a convolution with a bias at {layer!r}, got {type(output).__name__}")
    else:
        found = [m for m in network.modules() if isinstance(m, _CONVOLUTIONS) and m.bias is not None]
        if not found:
            raise ValueError(f"network: {type(network).__name__} has no convolution with a bias to initialise")
        output = found[-1]
    with torch.no_grad():
        output.bias.fill_(math.log(probability / (1.0 - probability)))
    return network
