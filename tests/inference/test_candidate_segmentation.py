"""Tests of CandidatePatchInferer: crops around centres, padding at borders, paste-back by maximum, shared crops."""

from __future__ import annotations

import pytest
import torch

from cmb_kd.inference import CandidatePatchInferer
from cmb_kd.inference.candidate_segmentation import _select_crop_centres
from cmb_kd.networks import E2UNet

MERGE = (12, 12, 6)


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
    ("centres", "merge_distance", "chosen"),
    [
        ([(20, 20, 10), (25, 20, 10)], MERGE, [0]),  # 5 voxels apart in-plane: one crop
        ([(20, 20, 10), (20, 33, 10)], MERGE, [0, 1]),  # 13 voxels apart in-plane: two crops
        ([(20, 20, 10), (32, 8, 4)], MERGE, [0]),  # on the edge of the box on every axis: shared
        ([(20, 20, 10), (20, 20, 17)], MERGE, [0, 1]),  # 7 slices apart: a crop of its own
        ([(25, 20, 10), (20, 20, 10)], MERGE, [0]),  # the first centre keeps the crop
        ([(20, 20, 10), (30, 20, 10), (40, 20, 10)], MERGE, [0, 2]),  # only chosen crops cover, not skipped centres
        ([(30, 20, 10), (20, 20, 10), (40, 20, 10)], MERGE, [0]),  # order matters: the middle one first covers both
        ([(20, 20, 10), (21, 20, 10), (20, 20, 11)], (0, 0, 0), [0, 1, 2]),  # no merging
        ([], MERGE, []),
    ],
)
def test_greedy_crop_selection(centres: list, merge_distance: tuple, chosen: list[int]) -> None:
    assert _select_crop_centres(centres, merge_distance) == chosen


def _clustered_centres() -> list[tuple[int, int, int]]:
    # a chain of candidates along a vein, a small cluster and an isolated one, highest score first
    vein = [(14 + 3 * t, 30 + t, 10 + t % 3) for t in range(10)]
    return vein + [(50, 12, 20), (52, 14, 21), (49, 11, 19), (8, 56, 4)]


@pytest.mark.parametrize(
    "network", [torch.tanh, torch.nn.Conv3d(1, 1, 1).requires_grad_(False)], ids=["tanh", "conv1x1x1"]
)
def test_merged_crops_give_the_same_probabilities_around_every_centre(network) -> None:
    torch.manual_seed(0)
    image = torch.randn(1, 1, 64, 64, 28)
    centres = _clustered_centres()
    calls = []

    def counted(x: torch.Tensor) -> torch.Tensor:
        calls.append(x.shape[0])
        return network(x)

    separate = CandidatePatchInferer(batch_size=4, merge_distance=None)
    merged = CandidatePatchInferer(batch_size=4)
    assert merged.merge_distance == MERGE
    full = separate(image, counted, centres=centres)
    assert separate.last_crop_count == sum(calls) == len(centres)
    calls.clear()
    shared = merged(image, counted, centres=centres)
    assert merged.last_crop_count == sum(calls) < len(centres) // 2
    # a per-voxel network gives the same value at a voxel in every crop that holds it
    for i, j, k in centres:
        box = (0, 0, slice(max(i - 2, 0), i + 3), slice(max(j - 2, 0), j + 3), slice(max(k - 2, 0), k + 3))
        assert shared[box].gt(0).all()
        assert torch.equal(shared[box], full[box])
    covered = shared > 0
    assert torch.equal(shared[covered], full[covered])
    assert not shared[~covered].any()


@pytest.mark.parametrize("merge_distance", [None, (0, 0, 0)])
def test_no_merging_runs_one_crop_per_distinct_centre(merge_distance) -> None:
    inferer = CandidatePatchInferer((6, 6, 4), merge_distance=merge_distance)
    assert inferer.last_crop_count == 0
    inferer(torch.rand(1, 1, 16, 16, 8), _identity, centres=[(6, 6, 4), (7, 6, 4), (6, 6, 4), (6, 7, 5)])
    assert inferer.last_crop_count == 3
    inferer(torch.rand(1, 1, 16, 16, 8), _identity, centres=[])
    assert inferer.last_crop_count == 0


@pytest.mark.parametrize(
    ("patch_size", "merge_distance", "expected"),
    [
        ((48, 48, 24), "auto", (12, 12, 6)),
        ((16, 16, 8), "auto", (4, 4, 2)),
        ((4, 4, 2), "auto", (1, 1, 0)),
        ((48, 48, 24), [23, 0, 11], (23, 0, 11)),
        ((5, 5, 3), (2, 2, 1), (2, 2, 1)),
        ((48, 48, 24), None, None),
    ],
)
def test_merge_distance_values(patch_size: tuple, merge_distance, expected) -> None:
    assert CandidatePatchInferer(patch_size, merge_distance=merge_distance).merge_distance == expected


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"patch_size": (4, 4)}, "patch_size"),
        ({"patch_size": (4, 0, 2)}, "patch_size"),
        ({"patch_size": (4.5, 4, 2)}, "patch_size"),
        ({"batch_size": 0}, "batch_size"),
        ({"padding_mode": "wrap"}, "wrap"),
        ({"merge_distance": (-1, 0, 0)}, "merge_distance: expected .* non-negative integers"),
        ({"merge_distance": (12, 12, 12)}, r"merge_distance: .*smaller than half of patch_size \(48, 48, 24\)"),
        ({"merge_distance": (24, 0, 0)}, "merge_distance"),
        ({"patch_size": (5, 5, 3), "merge_distance": (3, 0, 0)}, "merge_distance"),
        ({"merge_distance": (12, 12)}, "merge_distance"),
        ({"merge_distance": (1.5, 0, 0)}, "merge_distance"),
        ({"merge_distance": (True, 0, 0)}, "merge_distance"),
        ({"merge_distance": 6}, "merge_distance"),
        ({"merge_distance": "quarter"}, "merge_distance: expected None, 'auto'"),
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


def test_without_centres_it_takes_the_candidates_recorded_in_the_meta_data() -> None:
    from monai.data import MetaTensor

    image = MetaTensor(torch.rand(1, 1, 12, 11, 10))
    image.meta["candidate_voxels"] = torch.tensor([[5, 5, 5]])
    inferer = CandidatePatchInferer((4, 4, 2), sigmoid=False)
    out = inferer(image, _identity)
    assert isinstance(out, MetaTensor) and inferer.last_crop_count == 1  # a MetaTensor in, a MetaTensor out
    assert torch.equal(out.as_tensor(), inferer(image.as_tensor(), _identity, centres=[(5, 5, 5)]))


def test_without_centres_or_recorded_candidates_it_finds_its_own_dark_spots() -> None:
    image = torch.full((1, 1, 24, 24, 12), 100.0)
    image[0, 0, 2:22, 2:22, 1:11] += torch.rand(20, 20, 10)  # brain above a background of 100
    image[0, 0, 12, 11, 6] = 20.0  # one dark spot
    inferer = CandidatePatchInferer((8, 8, 4), sigmoid=False)
    out = inferer(image, _identity)
    assert inferer.last_crop_count >= 1
    assert out[0, 0, 12, 11, 6] == 20.0  # the spot's crop was pasted back


def test_sliding_window_mode_covers_the_whole_volume() -> None:
    image = torch.rand(1, 1, 20, 18, 10)
    out = CandidatePatchInferer((8, 8, 4), mode="sliding_window", sigmoid=False)(image, _identity)
    assert out.shape == image.shape and torch.allclose(out, image, atol=1e-5)  # blended identity is the identity
    with pytest.raises(ValueError, match="everywhere"):
        CandidatePatchInferer(mode="everywhere")
