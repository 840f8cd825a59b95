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
