"""Tests of RandAppearanced: contrast warp, bias field and presentation per training patch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cmb_kd.transforms import RandAppearanced

ZERO = -6.0
OFF = {"warp_prob": 0.0, "bias_prob": 0.0, "strip_prob": 0.0}


def _patch(seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    image = torch.randn(1, 16, 16, 8, generator=g)
    image[0, 8, 8, 4] = -3.0  # a dark CMB
    brain = torch.zeros(1, 16, 16, 8, dtype=torch.uint8)
    brain[:, 4:12, 4:12, 2:6] = 1
    label = torch.zeros(1, 16, 16, 8)
    label[0, 8, 8, 4] = 1.0
    label[0, 4, 4, 2] = 1.0  # a lesion on the brain's edge
    return {"image": image, "brainmask": brain, "label": label, "zero_level": ZERO}


def _seeded(**kwargs) -> RandAppearanced:
    transform = RandAppearanced("image", **kwargs)
    transform.set_random_state(0)
    return transform


def test_nothing_drawn_is_the_identity():
    data = _patch()
    out = _seeded(**OFF)(data)
    assert torch.equal(out["image"], data["image"]) and torch.equal(out["label"], data["label"])
    assert torch.equal(_seeded(prob=0.0)(data)["image"], data["image"])


def test_the_warp_is_monotonic_keeps_the_median_and_moves_the_zero():
    data = _patch()
    transform = _seeded(warp_prob=1.0, gamma_range=(2.0, 2.0), bias_prob=0.0, strip_prob=0.0)
    data["image"] = torch.tensor([ZERO, -3.0, -1.0, 0.0, 1.0, 4.0]).view(1, 6, 1, 1).expand(1, 6, 16, 8).contiguous()
    data["brainmask"] = torch.ones_like(data["image"], dtype=torch.uint8)
    data["label"] = torch.zeros_like(data["image"])
    out = transform(data)["image"][0, :, 0, 0]
    m = -ZERO
    expected = (m * ((torch.tensor([ZERO, -3.0, -1.0, 0.0, 1.0, 4.0]) + m) / m) ** 2 - m) / 2.0
    assert torch.allclose(out, expected, atol=1e-5)
    assert torch.all(out[1:] > out[:-1])  # darker stays darker: a CMB is still a CMB
    assert out[3] == pytest.approx(0.0) and out[0] == pytest.approx(ZERO / 2.0)


def test_the_stripped_presentation_sets_the_zero_outside_the_mask_and_clears_the_label():
    data = _patch()
    transform = _seeded(warp_prob=0.0, bias_prob=0.0, strip_prob=1.0, strip_margin_range=(-1, -1))
    out = transform(data)
    kept = torch.zeros(1, 16, 16, 8, dtype=torch.bool)
    kept[:, 5:11, 5:11, 3:5] = True  # the brain eroded by one voxel
    assert torch.allclose(out["image"][~kept], torch.full_like(out["image"][~kept], ZERO))
    assert torch.allclose(out["image"][kept], data["image"][kept], atol=1e-5)
    assert out["label"][0, 8, 8, 4] == 1.0 and out["label"][0, 4, 4, 2] == 0.0  # the edge lesion went with the edge


def test_a_loose_mask_keeps_a_rim_around_the_brain():
    data = _patch()
    out = _seeded(warp_prob=0.0, bias_prob=0.0, strip_prob=1.0, strip_margin_range=(2, 2))(data)
    kept = torch.zeros(1, 16, 16, 8, dtype=torch.bool)
    kept[:, 2:14, 2:14, 0:8] = True
    assert torch.allclose(out["image"][kept], data["image"][kept], atol=1e-5)
    assert torch.allclose(out["image"][~kept], torch.full_like(out["image"][~kept], ZERO))
    assert torch.equal(out["label"], data["label"])


def test_the_bias_field_is_smooth_and_within_its_amplitude():
    data = _patch()
    data["image"] = torch.zeros(1, 16, 16, 8)  # the brain median everywhere: the output is the field itself
    transform = _seeded(warp_prob=0.0, bias_prob=1.0, max_bias=0.3, strip_prob=0.0)
    out = transform(data)["image"]
    field = (out - ZERO) / -ZERO  # b · m / m
    log = torch.log(field)
    amplitude = transform.draw["bias"][0]
    assert 0.0 < amplitude <= 0.3 and float(log.abs().max()) == pytest.approx(amplitude, rel=1e-4)
    assert float(torch.diff(log, dim=1).abs().max()) < 0.3  # smooth: no jump between neighbours


def test_a_seed_reproduces_the_draw():
    first = _seeded()(_patch())["image"]
    assert torch.equal(first, _seeded()(_patch())["image"])


def test_bad_settings_and_inputs_are_refused():
    with pytest.raises(ValueError, match="gamma_range"):
        RandAppearanced("image", gamma_range=(2.0, 1.0))
    with pytest.raises(ValueError, match="strip_prob"):
        RandAppearanced("image", strip_prob=2.0)
    data = _patch()
    data["zero_level"] = 1.0
    with pytest.raises(ValueError, match="zero_level"):
        _seeded(warp_prob=1.0)(data)
    data = _patch()
    del data["zero_level"]
    with pytest.raises(ValueError, match="zero_level"):
        _seeded()(data)
    data = _patch()
    data["brainmask"] = data["brainmask"][:, :8]
    with pytest.raises(ValueError, match="brainmask"):
        _seeded(strip_prob=1.0)(data)
    assert np.isfinite(_seeded()(_patch())["image"].numpy()).all()
