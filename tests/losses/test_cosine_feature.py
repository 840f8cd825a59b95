import pytest
import torch

from cmb_kd.losses import CosineFeatureLoss


def test_sample_mode_matches_flattened_formula():
    s, t = torch.randn(3, 4, 5, 6, 2), torch.randn(3, 4, 5, 6, 2)
    fs, ft = s.flatten(1), t.flatten(1)
    expected = 1 - (fs * ft).sum(1) / (fs.norm(dim=1) * ft.norm(dim=1))
    torch.testing.assert_close(CosineFeatureLoss(reduction="none")(s, t), expected)
    torch.testing.assert_close(CosineFeatureLoss()(s, t), expected.mean())


def test_voxel_mode_is_mean_over_voxels_of_channel_cosine():
    s, t = torch.randn(2, 3, 4, 4, 2), torch.randn(2, 3, 4, 4, 2)
    expected = (1 - (s * t).sum(1) / (s.norm(dim=1) * t.norm(dim=1))).flatten(1).mean(1)
    torch.testing.assert_close(CosineFeatureLoss(mode="voxel", reduction="none")(s, t), expected)


@pytest.mark.parametrize("scale, expected", [(2.0, 0.0), (-1.0, 2.0)])
def test_invariants(scale, expected):
    x = torch.randn(2, 4, 3, 3, 3)
    assert CosineFeatureLoss()(scale * x, x).item() == pytest.approx(expected, abs=1e-6)


def test_zero_features_are_finite():
    loss = CosineFeatureLoss()(torch.zeros(1, 2, 3, 3, 3, requires_grad=True), torch.randn(1, 2, 3, 3, 3))
    assert torch.isfinite(loss) and loss.item() == pytest.approx(1.0)


def test_adapter_maps_channels_and_trains():
    loss = CosineFeatureLoss(student_channels=4, teacher_channels=8)
    s = torch.randn(2, 4, 3, 3, 3, requires_grad=True)
    value = loss(s, torch.randn(2, 8, 3, 3, 3))
    value.backward()
    assert loss.adapter is not None and loss.adapter.conv.weight.grad is not None
    assert CosineFeatureLoss(student_channels=8, teacher_channels=8).adapter is None


@pytest.mark.parametrize(
    "s_shape, t_shape, match",
    [
        (
            (2, 4, 3, 3, 3),
            (2, 8, 3, 3, 3),
            r"student shape \(2, 4, 3, 3, 3\).*teacher shape \(2, 8, 3, 3, 3\).*adapter",
        ),
        ((2, 4, 3, 3, 3), (2, 4, 6, 6, 6), r"student shape \(2, 4, 3, 3, 3\).*teacher shape \(2, 4, 6, 6, 6\)"),
    ],
)
def test_shape_mismatch_names_both_shapes(s_shape, t_shape, match):
    with pytest.raises(ValueError, match=match):
        CosineFeatureLoss()(torch.randn(*s_shape), torch.randn(*t_shape))


def test_bad_arguments():
    with pytest.raises(ValueError, match="mode"):
        CosineFeatureLoss(mode="pixel")
    with pytest.raises(ValueError, match="student_channels"):
        CosineFeatureLoss(student_channels=4)
    with pytest.raises(TypeError, match="teacher: expected a torch.Tensor"):
        CosineFeatureLoss()(torch.randn(1, 2, 2), [1.0])


def test_float32_under_half_inputs():
    s, t = torch.randn(2, 4, 3, 3, 3).bfloat16(), torch.randn(2, 4, 3, 3, 3).bfloat16()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        value = CosineFeatureLoss()(s, t)
    assert value.dtype == torch.float32
