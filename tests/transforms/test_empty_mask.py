import numpy as np
import pytest
import torch
from monai.data import MetaTensor
from monai.transforms import Orientationd

from cmb_kd.transforms import EmptyMaskd

AFFINE = torch.diag(torch.tensor([-2.0, 2.0, 3.0, 1.0], dtype=torch.float64))


def _label(kind: str):
    array = np.zeros((1, 6, 5, 4), np.uint8)
    array[0, 2, 2, 1] = 1
    if kind == "numpy":
        return array
    if kind == "tensor":
        return torch.from_numpy(array)
    return MetaTensor(torch.from_numpy(array), affine=AFFINE, meta={"filename_or_obj": "label.nii.gz"})


@pytest.mark.parametrize("kind, expected_type", [("numpy", np.ndarray), ("tensor", torch.Tensor), ("meta", MetaTensor)])
def test_missing_keys_get_zeros_on_the_grid_and_type_of_the_reference(kind, expected_type):
    label = _label(kind)
    d = EmptyMaskd(["mimics", "other"], like_key="label")({"label": label})
    for key in ("mimics", "other"):
        assert isinstance(d[key], expected_type) and tuple(d[key].shape) == (1, 6, 5, 4)
        assert d[key].dtype in (np.uint8, torch.uint8) and not np.asarray(d[key]).any()
    assert d["label"] is label
    if kind == "meta":
        assert torch.equal(d["mimics"].affine, AFFINE) and d["mimics"].meta["filename_or_obj"] == "label.nii.gz"
        d["mimics"][0, 0, 0, 0] = 1  # one array per key, none shared with another
        assert not d["other"].any()


def test_present_keys_are_kept_as_they_are():
    supplied = torch.ones(1, 6, 5, 4, dtype=torch.uint8)
    data = {"label": _label("meta"), "mimics": supplied}
    d = EmptyMaskd("mimics")(data)
    assert d["mimics"] is supplied and d is not data  # a new dict; the input is not changed


def test_an_empty_mask_follows_orientation_like_the_label():
    d = EmptyMaskd("mimics")({"label": _label("meta")})
    d = Orientationd(["label", "mimics"], axcodes="LPS")(d)
    assert d["mimics"].shape == d["label"].shape and torch.equal(d["mimics"].affine, d["label"].affine)


@pytest.mark.parametrize(
    "data, match",
    [
        ({"image": torch.zeros(1, 4, 4, 4)}, r"key 'label' is missing"),
        ({"label": torch.zeros(4, 4, 4)}, r"key 'label': expected a channel-first \(C, H, W, D\)"),
    ],
)
def test_bad_input(data, match):
    with pytest.raises(ValueError, match=match):
        EmptyMaskd("mimics")(data)
