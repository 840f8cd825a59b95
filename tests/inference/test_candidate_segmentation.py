"""Tests of CandidatePatchInferer: crops around centres, padding at borders, paste-back by maximum."""

from __future__ import annotations

import pytest
import torch

from cmb_kd.inference import CandidatePatchInferer
from cmb_kd.networks import E2UNet


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x.clone()


def test_no_centres_gives_zeros() -> None:
    out = CandidatePatchInferer((4, 4, 2))(torch.rand(1, 1, 10, 9, 8), _identity, centres=[])
    assert out.shape == (1, 1, 10, 9, 8)
    assert out.dtype == torch.float32
    assert not out.any()


def test_identity_network_pastes_the_crop_back_exactly() -> None:
    image = torch.rand(1, 1, 12, 11, 10)
    inferer = CandidatePatchInferer((4, 4, 2), sigmoid=False)
    out = inferer(image, _identity, centres=[(5, 5, 5)])
    # the crop centred on voxel c spans [c - p//2, c - p//2 + p)
    assert torch.equal(out[..., 3:7, 3:7, 4:6], image[..., 3:7, 3:7, 4:6])
    out[..., 3:7, 3:7, 4:6] = 0
    assert not out.any()


@pytest.mark.parametrize("centre", [(0, 0, 0), (11, 10, 9), (0, 10, 4)])
def test_centres_at_the_border_are_padded(centre: tuple[int, int, int]) -> None:
    image = torch.rand(1, 1, 12, 11, 10) + 1.0
    out = CandidatePatchInferer((6, 6, 4), sigmoid=False)(image, _identity, centres=[centre])
    assert out.shape == image.shape
    assert out[(0, 0, *centre)] == image[(0, 0, *centre)]


def test_overlaps_combine_by_maximum_and_batches_do_not_matter() -> None:
    calls = []

    def network(x: torch.Tensor) -> torch.Tensor:
        calls.append(x.shape[0])
        # a different constant logit per crop: the crop's own mean
        return x.mean(dim=(1, 2, 3, 4), keepdim=True).expand_as(x).clone()

    image = torch.rand(1, 1, 16, 16, 8)
    centres = [(6, 6, 4), (8, 8, 4), (9, 6, 3)]
    one = CandidatePatchInferer((6, 6, 4), batch_size=1)(image, network, centres=centres)
    assert calls == [1, 1, 1]
    many = CandidatePatchInferer((6, 6, 4), batch_size=8)(image, network, centres=centres + [(6, 6, 4)])
    assert calls[-1] == 3  # duplicate centres run once
    assert torch.allclose(one, many)
    means = [torch.sigmoid(image[..., i - 3 : i + 3, j - 3 : j + 3, k - 2 : k + 2].mean()) for i, j, k in centres]
    assert torch.isclose(one[0, 0, 7, 6, 3], max(means[0], means[1], means[2]))


def test_e2unet_runs_under_no_grad_and_gives_probabilities() -> None:
    torch.manual_seed(0)
    net = E2UNet(3, 1, 1).eval()
    image = torch.randn(1, 1, 40, 40, 20, requires_grad=True)
    out = CandidatePatchInferer((16, 16, 8), batch_size=2)(image, net, centres=[(5, 5, 5), (30, 20, 10), (20, 20, 19)])
    assert not out.requires_grad
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert float(out.max()) > 0.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"patch_size": (4, 4)}, "patch_size"),
        ({"patch_size": (4, 0, 2)}, "patch_size"),
        ({"patch_size": (4.5, 4, 2)}, "patch_size"),
        ({"batch_size": 0}, "batch_size"),
        ({"padding_mode": "wrap"}, "wrap"),
    ],
)
def test_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        CandidatePatchInferer(**kwargs)


def test_bad_calls() -> None:
    inferer = CandidatePatchInferer((4, 4, 2))
    with pytest.raises(ValueError, match=r"inputs: expected a tensor \(1, C, X, Y, Z\)"):
        inferer(torch.rand(1, 10, 9, 8), _identity, centres=[(1, 1, 1)])
    with pytest.raises(ValueError, match=r"centres\[0\]: expected a voxel index inside the volume"):
        inferer(torch.rand(1, 1, 10, 9, 8), _identity, centres=[(10, 1, 1)])
    with pytest.raises(ValueError, match="network: expected an output"):
        inferer(torch.rand(1, 1, 10, 9, 8), lambda x: x[..., :1], centres=[(1, 1, 1)])
