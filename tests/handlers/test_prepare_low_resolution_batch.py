import pytest
import torch

from cmb_kd.handlers import PrepareLowResolutionBatch
from cmb_kd.transforms import DegradeResolution


def test_degrades_on_device_and_keeps_hr():
    batch = {"image": torch.randn(2, 1, 8, 8, 8), "label": torch.zeros(2, 1, 8, 8, 8)}
    prep = PrepareLowResolutionBatch(4)
    lr, label = prep(batch, torch.device("cpu"))
    torch.testing.assert_close(lr, DegradeResolution(4)(batch["image"]))
    assert batch["image_hr"] is not None and label.shape == lr.shape == (2, 1, 8, 8, 8)
    prep.factor = 1
    torch.testing.assert_close(prep(batch)[0], batch["image"])


def test_lr_transform_and_errors():
    prep = PrepareLowResolutionBatch(2, lr_transform=lambda x: x * 0)
    assert prep({"image": torch.ones(1, 1, 4, 4, 4), "label": torch.ones(1, 1, 4, 4, 4)})[0].abs().sum() == 0
    with pytest.raises(KeyError, match="no image key 'image'"):
        prep({"img": torch.ones(1)})
    with pytest.raises(KeyError, match="no label key"):
        prep({"image": torch.ones(1, 1, 4, 4, 4)})
    with pytest.raises(TypeError, match="lr_transform"):
        PrepareLowResolutionBatch(2, lr_transform=3)
    with pytest.raises(ValueError):
        prep.factor = 0


def test_native_scans_replace_degraded_samples_at_their_factor():
    hr = torch.randn(64, 1, 8, 8, 8)
    native = torch.full_like(hr, 7.0)
    batch = {"image": hr, "label": torch.zeros_like(hr), "image_lr_x4": native}
    prep = PrepareLowResolutionBatch(4, native_keys={"4": "image_lr_x4"}, native_prob=0.5)
    torch.manual_seed(0)
    lr, _ = prep(batch)
    is_native = (lr == 7.0).flatten(1).all(1)
    degraded = DegradeResolution(4)(hr)
    torch.testing.assert_close(lr[~is_native], degraded[~is_native])
    assert 16 < int(is_native.sum()) < 48  # about half of 64 samples
    # every sample native at probability 1; a factor without native scan is always degraded
    assert (PrepareLowResolutionBatch(4, native_keys={4: "image_lr_x4"}, native_prob=1.0)(batch)[0] == 7.0).all()
    prep.factor = 2
    torch.testing.assert_close(prep(batch)[0], DegradeResolution(2)(hr))


def test_native_scan_errors():
    batch = {"image": torch.randn(2, 1, 8, 8, 8), "label": torch.zeros(2, 1, 8, 8, 8)}
    with pytest.raises(KeyError, match="no native scan key 'image_lr_x4' for factor"):
        PrepareLowResolutionBatch(4, native_keys={4: "image_lr_x4"})(batch)
    batch["image_lr_x4"] = torch.randn(2, 1, 8, 8, 4)
    with pytest.raises(ValueError, match=r"native scan 'image_lr_x4' has shape \(2, 1, 8, 8, 4\)"):
        PrepareLowResolutionBatch(4, native_keys={4: "image_lr_x4"})(batch)
    with pytest.raises(ValueError, match="native_prob"):
        PrepareLowResolutionBatch(4, native_prob=1.5)
    with pytest.raises(ValueError, match="native_keys"):
        PrepareLowResolutionBatch(4, native_keys={0: "x"})


def test_lr_noise_is_seeded_from_the_global_seed():
    """Two runs after ``set_determinism`` draw the same LR noise (the private generator of the noise transform)."""
    from monai.transforms import RandGaussianNoise
    from monai.utils import set_determinism

    def noise():
        set_determinism(0)
        prepare = PrepareLowResolutionBatch(2, lr_transform=RandGaussianNoise(prob=0.5, std=0.1), label_key=None)
        return [prepare({"image": torch.zeros(1, 1, 8, 8, 4)})[0] for _ in range(6)]

    try:
        first, second = noise(), noise()
    finally:
        set_determinism(None)
    assert any(bool(x.any()) for x in first) and any(not x.any() for x in first)  # some draws noisy, some not
    for a, b in zip(first, second):
        assert torch.equal(a, b)
    prepare = PrepareLowResolutionBatch(2, lr_transform=RandGaussianNoise(prob=1.0), label_key=None)
    seeded = [prepare.set_random_state(7)({"image": torch.zeros(1, 1, 4, 4, 2)})[0] for _ in range(2)]
    assert torch.equal(*seeded)


def test_a_random_scanner_gets_the_zero_levels_and_its_seed():
    from cmb_kd.transforms import RandScannerDegrade

    batch = {
        "image": torch.zeros(2, 1, 16, 16, 16),
        "label": torch.zeros(2, 1, 16, 16, 16),
        "zero_level": torch.tensor([-8.0, -4.0], dtype=torch.float64),
    }
    settings = {"noise_prob": 1.0, "snr_range": (4.0, 4.0), "kspace_prob": 0.0}

    def run():
        torch.manual_seed(3)
        prep = PrepareLowResolutionBatch(RandScannerDegrade(2, **settings), zero_key="zero_level")
        return prep(dict(batch))[0]

    lr = run()
    assert torch.equal(lr, run())  # seeded from the global seed, as the LR noise is
    # noise of sigma = -zero / snr: sample 0 got twice the noise of sample 1
    ratio = float(lr[0].std() / lr[1].std())
    assert ratio == pytest.approx(2.0, rel=0.15)
    with pytest.raises(KeyError, match="no zero-level key 'zero_level'"):
        PrepareLowResolutionBatch(RandScannerDegrade(2), zero_key="zero_level")({"image": batch["image"]})
