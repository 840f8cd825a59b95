import numpy as np
import pytest
import torch
from matplotlib.image import imread
from monai.data import MetaTensor

from cmb_kd.inference import SaveMIPd, render_mip_picture

AFFINE = torch.diag(torch.tensor([0.5, 0.5, 0.8, 1.0], dtype=torch.float64))


def _data(name: str = "/scans/sub-001_TOF.nii.gz") -> dict:
    generator = torch.Generator().manual_seed(0)
    image = MetaTensor(torch.rand(1, 16, 12, 8, generator=generator), affine=AFFINE, meta={"filename_or_obj": name})
    pred = torch.zeros(1, 16, 12, 8)
    pred[0, 4, 3:9, :] = 0.9  # vessels above the threshold ...
    pred[0, 10, 5, :] = 0.4  # ... and a weaker response below it
    return {"image": image, "pred": pred}


def test_writes_the_picture_beside_the_mask_name_and_passes_the_data_through(tmp_path) -> None:
    data = _data()
    out = SaveMIPd("pred", output_dir=tmp_path / "out", output_postfix="vessel_mip", threshold=0.5)(data)
    assert out["pred"] is data["pred"] and out["image"] is data["image"]
    (path,) = (tmp_path / "out").iterdir()
    assert path.name == "sub-001_TOF_vessel_mip.png"
    expected = render_mip_picture(data["image"][0].numpy(), data["pred"][0].numpy() >= 0.5, AFFINE.numpy())
    assert np.array_equal(np.round(imread(path)[..., :3] * 255).astype(np.uint8), expected)


def test_a_plain_nii_name_and_a_binary_prediction(tmp_path) -> None:
    data = _data("/scans/case07.nii")
    data["pred"] = (data["pred"] > 0.5).float()
    SaveMIPd(["pred"], output_dir=tmp_path, output_postfix="mip")(data)
    assert [p.name for p in tmp_path.iterdir()] == ["case07_mip.png"]


def test_missing_prediction_keys_may_be_allowed(tmp_path) -> None:
    data = _data()
    del data["pred"]
    SaveMIPd("pred", output_dir=tmp_path, allow_missing_keys=True)(data)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda d: d.pop("image"), "key 'image' is missing"),
        (lambda d: d.pop("pred"), "key 'pred' is missing"),
        (lambda d: d.update(image=d["image"].as_tensor()), "expected a MetaTensor loaded from a NIfTI file"),
        (lambda d: d["image"].meta.update(filename_or_obj="scan.mha"), "filename_or_obj 'scan.mha'"),
        (lambda d: d.update(pred=torch.zeros(1, 16, 12, 9)), r"on the image's grid \(16, 12, 8\)"),
    ],
)
def test_bad_data_raise(tmp_path, edit, match: str) -> None:
    data = _data()
    edit(data)
    with pytest.raises(ValueError, match=match):
        SaveMIPd("pred", output_dir=tmp_path)(data)


@pytest.mark.parametrize("threshold", [0.0, 1.5])
def test_a_threshold_outside_the_probabilities_raises(threshold: float) -> None:
    with pytest.raises(ValueError, match="threshold: expected a probability"):
        SaveMIPd("pred", threshold=threshold)
