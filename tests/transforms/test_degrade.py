import numpy as np
import pytest
import torch
from monai.data import MetaTensor
from scipy.ndimage import gaussian_filter, zoom

from cmb_kd.transforms import DegradeResolution, DegradeResolutiond

# Keys cubic convolution (a = -0.75) and scipy's cubic B-spline interpolation (zoom order=3, after the same slab
# averaging) are different kernels; they agree to this RMS error relative to the input's standard deviation, on
# white noise and on a smooth random field alike (measured 0.016-0.037 for factors 2, 4, 8).
REF_TOL = 0.05


def _scipy_reference(x: np.ndarray, f: int) -> np.ndarray:
    lr = x.reshape(*x.shape[:-1], x.shape[-1] // f, f).mean(-1)
    return zoom(lr, (1,) * (x.ndim - 1) + (f,), order=3, grid_mode=True, mode="nearest")


@pytest.mark.parametrize("factor", [1, 2, 4, 8, (2, 2, 1), (2, 1, 4)])
def test_constant_stays_constant_and_shape_dtype_kept(factor):
    x = torch.full((1, 8, 8, 16), 3.5, dtype=torch.float64)
    out = DegradeResolution(factor)(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.allclose(out, x, atol=1e-12)


def test_factor_one_is_identity():
    x = torch.randn(2, 6, 6, 6)
    assert torch.equal(DegradeResolution(1)(x), x)


@pytest.mark.parametrize("f", [2, 4, 8])
def test_spectral_energy_above_new_nyquist_is_removed(f):
    g = torch.Generator().manual_seed(f)
    x = torch.randn(1, 16, 16, 64, generator=g, dtype=torch.float64)
    out = DegradeResolution(f)(x)
    freqs = np.fft.rfftfreq(64)
    high = torch.as_tensor(freqs > 0.5 / f)
    e_in = torch.fft.rfft(x, dim=-1).abs().pow(2)[..., high].sum()
    e_out = torch.fft.rfft(out, dim=-1).abs().pow(2)[..., high].sum()
    # white noise: input keeps (1 - 1/f) of its energy above the LR Nyquist; the degraded output keeps under 5 % of it
    assert float(e_out / e_in) < 0.05


@pytest.mark.parametrize("f", [2, 4, 8])
@pytest.mark.parametrize("smooth", [True, False])
def test_agrees_with_scipy_zoom_reference(f, smooth):
    rng = np.random.default_rng(f)
    x = rng.normal(size=(1, 12, 12, 64))
    if smooth:
        x = gaussian_filter(x, (0, 2, 2, 2))
    ref = _scipy_reference(x, f)
    out = DegradeResolution(f)(torch.as_tensor(x)).numpy()
    rel = np.sqrt(((out - ref) ** 2).mean()) / x.std()
    assert rel < REF_TOL


def test_in_plane_factor_equals_torch_bicubic():
    x = torch.randn(1, 32, 24, 3)
    out = DegradeResolution((2, 2, 1))(x)
    planes = torch.nn.functional.avg_pool2d(x.permute(3, 0, 1, 2), 2)
    ref = torch.nn.functional.interpolate(planes, scale_factor=2, mode="bicubic", align_corners=False)
    assert torch.allclose(out, ref.permute(1, 2, 3, 0), atol=1e-5)


def test_batch_matches_per_sample_and_metatensor_kept():
    x = torch.randn(3, 1, 8, 8, 16)
    batch = DegradeResolution(4)(x)
    assert torch.allclose(batch[1], DegradeResolution(4)(x[1]), atol=1e-6)
    affine = torch.diag(torch.tensor([0.5, 0.5, 1.0, 1.0], dtype=torch.float64))
    m = MetaTensor(x[0], affine=affine)
    out = DegradeResolution(4)(m)
    assert isinstance(out, MetaTensor) and torch.equal(out.affine, affine)
    assert out.meta["degrade_factor"] == [1, 1, 4]


def test_numpy_and_integer_input_round_trip_type():
    x = np.ones((1, 4, 4, 8), np.int16)
    out = DegradeResolution(2)(x)
    assert isinstance(out, np.ndarray) and out.dtype == np.int16 and (out == 1).all()


def test_factor_setter_for_curriculum_and_dict_output_key():
    t = DegradeResolutiond("image", factor=2, output_keys="image_lr")
    x = torch.randn(1, 8, 8, 16)
    t.factor = 8
    d = t({"image": x})
    assert t.factor == (1, 1, 8) and d["image"] is x
    assert torch.allclose(d["image_lr"], DegradeResolution(8)(x))


def test_high_frequency_along_slice_axis_at_multiple_of_slab_is_cancelled():
    z = torch.arange(16, dtype=torch.float64)
    x = torch.cos(torch.pi * z).expand(1, 4, 4, 16)
    assert DegradeResolution(2)(x).abs().max() < 1e-12


@pytest.mark.parametrize(
    "make, match",
    [
        (
            lambda: DegradeResolution(4)(torch.zeros(8, 8, 16)),
            r"img: expected a channel-first .* got shape \(8, 8, 16\)",
        ),
        (lambda: DegradeResolution(3)(torch.zeros(1, 8, 8, 16)), r"factor 3 does not divide the extent 16 .* axis 2"),
        (
            lambda: DegradeResolution(2)(torch.tensor([float("nan")]).expand(1, 2, 2, 2)),
            r"img: expected finite values, got 8 NaN/Inf",
        ),
        (lambda: DegradeResolution(0), r"factor: expected integers >= 1, got 0"),
        (lambda: DegradeResolution((2, 2)), r"factor: expected an integer or three integers"),
        (lambda: DegradeResolutiond("image")({"label": torch.zeros(1, 4, 4, 4)}), r"key 'image' is missing"),
        (
            lambda: DegradeResolutiond("image", factor=3)({"image": torch.zeros(1, 4, 4, 4)}),
            r"key 'image': factor 3 does not divide the extent 4",
        ),
        (lambda: DegradeResolutiond(["a", "b"], output_keys="c"), r"output_keys: expected 2 key\(s\)"),
    ],
)
def test_bad_input(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_setter_rejects_bad_factor():
    t = DegradeResolution(2)
    with pytest.raises(ValueError, match="factor: expected integers >= 1"):
        t.factor = -2
