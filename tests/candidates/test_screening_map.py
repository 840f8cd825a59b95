"""Tests of ScreeningScoreMap: the screening FCN's probability over a whole volume, by its own inferer."""

import numpy as np
import pytest
import torch
from monai.inferers import SimpleInferer, SlidingWindowInferer

from cmb_kd.candidates import ScreeningScoreMap
from cmb_kd.networks import ScreeningFCN


class _Constant(torch.nn.Module):
    """Logits equal to the input (one channel) or (input, -input) (two channels)."""

    def __init__(self, channels: int = 1) -> None:
        super().__init__()
        self.channels = channels
        self.unused = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x if self.channels == 1 else torch.cat([-x, x], dim=1)


def test_one_channel_gives_the_sigmoid_and_two_the_softmax_of_the_cmb_channel():
    image = torch.linspace(-3, 3, 4 * 5 * 6).reshape(1, 1, 4, 5, 6)
    one = ScreeningScoreMap(_Constant(1), SimpleInferer())(image)
    assert one.dtype == np.float32 and one.shape == (4, 5, 6)
    np.testing.assert_allclose(one, torch.sigmoid(image[0, 0]).numpy(), rtol=1e-6)
    two = ScreeningScoreMap(_Constant(2), SimpleInferer())(image)
    np.testing.assert_allclose(two, torch.sigmoid(2 * image[0, 0]).numpy(), rtol=1e-5)  # softmax of (-x, x)


def test_a_real_fcn_by_sliding_window_in_eval_mode_and_amp_ignored_on_the_cpu():
    torch.manual_seed(0)
    network = ScreeningFCN(3, 1, 1).train()
    score = ScreeningScoreMap(network, SlidingWindowInferer((16, 16, 8), sw_batch_size=1), amp=True)
    assert not score.network.training
    out = score(torch.randn(1, 1, 20, 18, 10))
    assert out.shape == (20, 18, 10) and np.all((out >= 0) & (out <= 1))
    with pytest.raises(ValueError, match="network: expected a torch.nn.Module"):
        ScreeningScoreMap("fcn")
