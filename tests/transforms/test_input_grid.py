import numpy as np
import pytest
import torch
from monai.data import MetaTensor

from cmb_kd.transforms import ResampleToInputGrid, ResampleToInputGridd, ResampleToWorkingGrid, ResampleToWorkingGridd


def _thick_scan() -> MetaTensor:
    affine = torch.tensor([[-0.5, 0, 0, 40], [0, 0, 4.0, -20], [0, 0.5, 0, 10], [0, 0, 0, 1]], dtype=torch.float64)
    return MetaTensor(torch.rand(1, 12, 10, 6), affine=affine)


@pytest.mark.parametrize("mode, lossless", [("max", True), ("nearest", False)])
def test_max_mode_keeps_a_lesion_between_thick_slice_centres(mode, lossless):
    scan = _thick_scan()
    work = ResampleToWorkingGrid()(scan)
    hits = []
    # every working voxel along the thick axis, alone, must survive in "max" mode
    for j in range(work.shape[2]):
        lesion = torch.zeros(work.shape, dtype=torch.uint8)
        lesion[0, 3, j, 2] = 1
        meta = {k: v for k, v in work.meta.items() if k != "affine"}
        back = ResampleToInputGrid(mode)(MetaTensor(lesion, affine=work.affine, meta=meta))
        hits.append(int(back.sum()))
    assert (min(hits) >= 1) is lossless
    assert max(hits) >= 1


def test_dict_with_ref_key_native_or_working():
    scan = _thick_scan()
    d = ResampleToWorkingGridd("image")({"image": scan, "native": scan})
    pred = MetaTensor((d["image"].as_tensor() > 0.5).to(torch.uint8), affine=d["image"].affine)
    for ref in ("image", "native"):
        out = ResampleToInputGridd("pred", ref_key=ref)({**d, "pred": pred})["pred"]
        assert out.shape == scan.shape and torch.equal(out.affine, scan.affine)


def test_identity_grid_round_trip_is_exact():
    x = MetaTensor(torch.randint(0, 4, (1, 5, 6, 7)), affine=torch.eye(4, dtype=torch.float64))
    assert torch.equal(ResampleToInputGrid()(ResampleToWorkingGrid(mode="nearest")(x)).as_tensor(), x.as_tensor())


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: ResampleToInputGrid()(torch.zeros(1, 2, 2, 2)), r"img: expected the working-grid affine"),
        (
            lambda: ResampleToInputGrid()(
                torch.zeros(1, 2, 2, 2), input_affine=np.eye(4), input_shape=(2, 2), affine=np.eye(4)
            ),
            r"expected an input grid shape of three positive sizes",
        ),
        (
            lambda: ResampleToInputGrid()(
                torch.zeros(1, 2, 2, 2),
                input_affine=np.array([[0.7, 0.7, 0, 0], [-0.7, 0.7, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]),
                input_shape=(2, 2, 2),
                affine=np.eye(4),
            ),
            r"expected a working grid made from this input grid",
        ),
        (lambda: ResampleToInputGrid(mode="mean"), r"mean"),
        (
            lambda: ResampleToInputGridd("pred", ref_key="ref")({"pred": torch.zeros(1, 2, 2, 2)}),
            r"key 'ref' is missing",
        ),
    ],
)
def test_bad_input(make, match):
    with pytest.raises(ValueError, match=match):
        make()
