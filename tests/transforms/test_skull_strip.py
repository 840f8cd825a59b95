import numpy as np
import pytest
import torch
from monai.data import MetaTensor

from cmb_kd.transforms import SkullStrip, SkullStripd


def dice(a, b) -> float:
    a, b = np.asarray(a) > 0, np.asarray(b) > 0
    return 2.0 * (a & b).sum() / (a.sum() + b.sum())


@pytest.mark.parametrize("grid", ["hr", "lr"])
@pytest.mark.parametrize("method", ["kmeans", "otsu"])
def test_phantom_dice(phantom, grid, method):
    p = phantom[grid]
    img = MetaTensor(torch.from_numpy(p.magnitude)[None], affine=torch.as_tensor(p.affine))
    mask = SkullStrip(method=method, include_csf=True)(img)
    assert isinstance(mask, MetaTensor) and mask.dtype == torch.uint8 and mask.shape == img.shape
    assert torch.equal(mask.affine, img.affine)
    assert dice(mask[0], p.brain_mask) >= 0.95


def test_dict_writes_mask_applies_it_and_skips_supplied(phantom):
    p = phantom["hr"]
    img = torch.from_numpy(p.magnitude)[None]
    d = SkullStripd("image", mask_key="brain", apply_mask=True, include_csf=True)({"image": img})
    assert d["brain"].shape == img.shape
    assert float(d["image"][d["brain"] == 0].abs().max()) == 0.0
    supplied = torch.zeros_like(img, dtype=torch.uint8)
    supplied[0, 20:30, 20:30, 20:30] = 1
    d = SkullStripd("image", mask_key="brain", apply_mask=True)({"image": img, "brain": supplied})
    assert d["brain"] is supplied and int((d["image"] != 0).sum()) <= 1000


def test_grow_mm_adds_a_rim_of_that_width(phantom):
    from scipy import ndimage

    p = phantom["lr"]
    img = MetaTensor(torch.from_numpy(p.magnitude)[None], affine=torch.as_tensor(p.affine))
    spacing = np.abs(np.diag(p.affine)[:3])
    tight = np.asarray(SkullStrip()(img)[0]) > 0
    grown = np.asarray(SkullStrip(grow_mm=2.0)(img)[0]) > 0
    assert (grown >= tight).all() and grown.sum() > tight.sum()
    distance = ndimage.distance_transform_edt(~tight, sampling=spacing)
    assert distance[grown].max() <= 2.0 + spacing.max()  # the ball is drawn on the voxel grid


def test_numpy_input_gives_numpy_mask(phantom):
    mask = SkullStrip(include_csf=True)(phantom["lr"].magnitude[None], affine=phantom["lr"].affine)
    assert isinstance(mask, np.ndarray) and mask.dtype == np.uint8


@pytest.mark.parametrize(
    "make, match",
    [
        (
            lambda: SkullStrip()(torch.zeros(8, 8, 8)),
            r"img: expected a channel-first magnitude .* got shape \(8, 8, 8\)",
        ),
        (lambda: SkullStrip()(torch.zeros(1, 8, 8, 8)), r"img: expected an image with signal, got an all-zero array"),
        (
            lambda: SkullStrip()(torch.full((1, 8, 8, 8), float("nan"))),
            r"img: expected finite values, got 512 NaN/Inf",
        ),
        (lambda: SkullStrip(method="watershed"), r"watershed"),
        (lambda: SkullStrip(n_classes=1), r"n_classes: expected an integer >= 2, got 1"),
        (lambda: SkullStrip(opening_mm=-1), r"opening_mm: expected a finite radius >= 0 in mm, got -1"),
        (lambda: SkullStrip(grow_mm=-2), r"grow_mm: expected a finite radius >= 0 in mm, got -2"),
        (lambda: SkullStripd("image")({"img": torch.ones(1, 4, 4, 4)}), r"key 'image' is missing"),
        (
            lambda: SkullStripd("image", mask_key="m", apply_mask=True)(
                {"image": torch.ones(1, 4, 4, 4), "m": torch.ones(1, 4, 4, 2)}
            ),
            r"key 'm': expected a mask of spatial shape \(4, 4, 4\) to match key 'image', got \(4, 4, 2\)",
        ),
    ],
)
def test_bad_input(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_too_small_volume_fails_clearly():
    with pytest.raises(ValueError, match=r"img: expected at least \[8, 8, 8\] voxels per spatial axis"):
        SkullStrip()(torch.ones(1, 6, 6, 6))


@pytest.mark.slow
def test_synthetic_subject_hr_and_native_x4():
    synth = pytest.importorskip("cmb_kd.synth")
    s = synth.simulate_subject(synth.SynthConfig(lr_factors=(4,)), seed=0)
    strip = SkullStrip()
    hr = strip(MetaTensor(torch.from_numpy(s.magnitude)[None], affine=torch.as_tensor(s.affine)))
    lr = s.lr["x4"]
    low = strip(MetaTensor(torch.from_numpy(lr.magnitude)[None], affine=torch.as_tensor(lr.affine)))
    assert dice(hr[0], s.brain_mask) >= 0.97
    assert dice(low[0], lr.brain_mask) >= 0.95
