import pytest
import torch

from cmb_kd.transforms.cubic import aligned_positions, cubic_kernel_weights, cubic_resample_axis, slab_average


@pytest.mark.parametrize("frac", [0.0, 0.25, 0.5, 0.9])
def test_weights_sum_to_one(frac):
    w = cubic_kernel_weights(torch.tensor([frac], dtype=torch.float64))
    assert torch.allclose(w.sum(-1), torch.ones(1, dtype=torch.float64))


def test_integer_positions_are_exact():
    x = torch.randn(2, 9, 3)
    out = cubic_resample_axis(x, 1, torch.arange(9, dtype=torch.float32))
    assert torch.allclose(out, x, atol=1e-6)


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_matches_torch_bicubic_along_any_axis(axis):
    x = torch.randn(5, 6, 7, dtype=torch.float64)
    n = x.shape[axis]
    out = cubic_resample_axis(x, axis, aligned_positions(3 * n, 1 / 3, -1 / 3, dtype=torch.float64))
    rows = x.movedim(axis, -1).reshape(-1, 1, 1, n)
    ref = torch.nn.functional.interpolate(rows, size=(1, 3 * n), mode="bicubic", align_corners=False)
    assert torch.allclose(out.movedim(axis, -1).reshape(-1, 3 * n), ref.reshape(-1, 3 * n), atol=1e-10)


def test_slab_average_groups_consecutive_samples():
    x = torch.arange(8.0).reshape(1, 8)
    assert torch.equal(slab_average(x, 1, 4), torch.tensor([[1.5, 5.5]]))
    assert slab_average(x, 1, 1) is x
