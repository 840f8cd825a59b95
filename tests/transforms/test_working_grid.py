import numpy as np
import pytest
import torch
from monai.data import MetaTensor
from scipy.spatial.transform import Rotation

from cmb_kd.transforms import DegradeResolution, ResampleToInputGrid, ResampleToWorkingGrid, ResampleToWorkingGridd


def _random_affine(rng: np.random.Generator, spacing: np.ndarray) -> np.ndarray:
    perm = rng.permutation(3)
    signs = rng.choice([-1.0, 1.0], 3)
    p = np.zeros((3, 3))
    p[perm, np.arange(3)] = signs
    rotation = Rotation.from_rotvec(rng.normal(0, 0.1, 3)).as_matrix()
    a = np.eye(4)
    a[:3, :3] = rotation @ p @ np.diag(spacing)
    a[:3, 3] = rng.normal(0, 30, 3)
    return a


@pytest.mark.parametrize("seed", range(12))
def test_round_trip_exact_grid_and_one_voxel_lesion_survives(seed):
    rng = np.random.default_rng(seed)
    spacing = np.array([rng.uniform(0.4, 1.2), rng.uniform(0.4, 1.2), rng.uniform(1.0, 5.0)])
    shape = tuple(int(n) for n in rng.integers(6, 24, 3))
    affine = _random_affine(rng, spacing)
    img = MetaTensor(torch.rand(1, *shape), affine=torch.as_tensor(affine))
    work = ResampleToWorkingGrid(1.0)(img)
    assert np.allclose(np.linalg.norm(work.affine[:3, :3].numpy(), axis=0), 1.0)
    lesion = torch.zeros_like(work, dtype=torch.uint8)
    j = [int(rng.integers(0, n)) for n in work.shape[1:]]
    lesion[(0, *j)] = 1
    back = ResampleToInputGrid()(lesion)
    assert tuple(back.shape) == (1, *shape) and back.dtype == torch.uint8
    assert np.array_equal(back.affine.numpy(), affine)
    # the lesion lands on the input voxel(s) containing its physical position
    u = np.linalg.solve(affine, work.affine.numpy() @ np.array([*j, 1.0]))[:3]
    near = [sorted({int(np.clip(np.floor(v + 0.5 - 1e-6), 0, n - 1)), int(np.clip(np.ceil(v - 0.5 + 1e-6), 0, n - 1))})
            for v, n in zip(u, shape)]  # fmt: skip
    hits = [int(back[0, a, b, c]) for a in near[0] for b in near[1] for c in near[2]]
    assert max(hits) == 1 and int(back.sum()) >= 1


@pytest.mark.parametrize("f", [2, 4, 8])
def test_native_thick_slices_land_on_hr_grid_like_degrade(f):
    hr_affine = np.eye(4)
    hr_affine[:3, 3] = [-10.0, -12.0, -8.0]
    x = torch.randn(1, 10, 12, 32, dtype=torch.float64)
    lr = x.reshape(1, 10, 12, 32 // f, f).mean(-1)
    lr_affine = hr_affine @ np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, f, (f - 1) / 2], [0, 0, 0, 1.0]])
    up = ResampleToWorkingGrid(1.0)(MetaTensor(lr, affine=torch.as_tensor(lr_affine)))
    assert up.shape == x.shape and np.allclose(up.affine.numpy(), hr_affine)
    assert torch.allclose(up.as_tensor(), DegradeResolution(f)(x), atol=1e-10)


def test_grid_key_brings_native_scans_onto_the_hr_grid_at_its_spacing():
    hr_affine = np.diag([2.0, 2.0, 2.0, 1.0])
    hr_affine[:3, 3] = [-10.0, -12.0, -8.0]
    x = torch.randn(1, 10, 12, 32, dtype=torch.float64)
    lr = x.reshape(1, 10, 12, 8, 4).mean(-1)
    lr_affine = hr_affine @ np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 4, 1.5], [0, 0, 0, 1.0]])
    d = {
        "image": MetaTensor(x, affine=torch.as_tensor(hr_affine)),
        "lr": MetaTensor(lr, affine=torch.as_tensor(lr_affine)),
    }
    out = ResampleToWorkingGridd("lr", spacing=1.0, grid_key="image")(d)  # the spacing is the HR scan's, 2 mm
    assert out["image"] is d["image"] and out["lr"].shape == x.shape
    assert np.allclose(out["lr"].affine.numpy(), hr_affine)
    assert torch.allclose(out["lr"].as_tensor(), DegradeResolution(4)(x), atol=1e-10)
    d["lr"] = MetaTensor(lr[:, :, :11], affine=torch.as_tensor(lr_affine))  # another field of view
    with pytest.raises(ValueError, match=r"key 'lr' \(array\): resampled at the spacing of key 'image'.*shape"):
        ResampleToWorkingGridd("lr", grid_key="image")(d)


def test_identity_grid_is_untouched_and_plain_tensor_works():
    x = torch.randn(2, 5, 6, 7)
    out = ResampleToWorkingGrid()(x)
    assert torch.equal(out.as_tensor(), x) and np.allclose(out.affine.numpy(), np.eye(4))


def test_nearest_mode_keeps_labels_and_dict_per_key_modes():
    affine = torch.diag(torch.tensor([1.0, 1.0, 3.0, 1.0], dtype=torch.float64))
    image = MetaTensor(torch.rand(1, 4, 4, 5), affine=affine)
    label = MetaTensor(torch.randint(0, 3, (1, 4, 4, 5)).to(torch.uint8), affine=affine)
    d = ResampleToWorkingGridd(["image", "label"], mode=["cubic", "nearest"])({"image": image, "label": label})
    assert d["image"].shape == d["label"].shape == (1, 4, 4, 15)
    assert d["label"].dtype == torch.uint8 and set(d["label"].unique().tolist()) <= {0, 1, 2}
    assert torch.equal(d["label"][..., 1::3], label.as_tensor())


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: ResampleToWorkingGrid()(torch.zeros(4, 4, 4)), r"img: expected a channel-first \(C, H, W, D\)"),
        (lambda: ResampleToWorkingGrid(spacing=(1, 0, 1)), r"spacing: expected one or three positive sizes"),
        (lambda: ResampleToWorkingGrid(mode="linear"), r"linear"),
        (
            lambda: ResampleToWorkingGrid()(torch.full((1, 2, 2, 2), float("inf"))),
            r"img: expected finite values, got 8 NaN/Inf",
        ),
        (
            lambda: ResampleToWorkingGrid()(torch.zeros(1, 2, 2, 2), affine=np.zeros((4, 4))),
            r"img affine: expected a finite invertible 4x4 affine",
        ),
        (lambda: ResampleToWorkingGridd("image")({}), r"key 'image' is missing"),
        (
            lambda: ResampleToWorkingGridd("image")({"image": torch.zeros(1, 2, 2)}),
            r"key 'image': expected a channel-first \(C, H, W, D\) array \(4 dimensions\), got shape \(1, 2, 2\)",
        ),
    ],
)
def test_bad_input(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.slow
def test_synthetic_native_x4_matches_degraded_hr_within_noise():
    synth = pytest.importorskip("cmb_kd.synth")
    s = synth.simulate_subject(synth.SynthConfig(shape=(96, 112, 88), spacing=2.0, lr_factors=(4,)), seed=1)
    lr = s.lr["x4"]
    up = ResampleToWorkingGrid(2.0)(MetaTensor(torch.from_numpy(lr.magnitude)[None], affine=torch.as_tensor(lr.affine)))
    assert up.shape[1:] == s.magnitude.shape and np.allclose(up.affine.numpy(), s.affine)
    degraded = DegradeResolution(4)(torch.from_numpy(s.magnitude)[None])
    brain = torch.from_numpy(s.brain_mask[None] > 0)
    diff = (up.as_tensor() - degraded)[brain] / s.acquisition["noise_sigma"]
    # The native scan averages the complex signal over each thick slice, DegradeResolution the magnitude: they differ
    # by two independent noise draws (about sigma / 2 each) plus through-slice dephasing near veins and air, which
    # only lowers the native signal. The typical brain voxel agrees within the noise level.
    assert float(diff.abs().median()) < 1.0
    assert float(diff.mean()) < 0.2


def test_the_dictionary_transform_is_inverted_onto_the_exact_input_grid_by_maximum():
    from monai.transforms import Invertd

    affine = np.diag([0.5, 0.5, 4.0, 1.0])
    affine[:3, 3] = (10.0, -5.0, 3.0)
    image = MetaTensor(torch.rand(1, 16, 14, 6), affine=torch.as_tensor(affine))
    resample = ResampleToWorkingGridd("image", spacing=1.0)
    work = resample({"image": image})["image"]
    assert [op["class"] for op in work.applied_operations] == ["ResampleToWorkingGridd"]
    spike = torch.zeros_like(work.as_tensor())
    spike[0, 3, 4, 9] = 1.0  # one working voxel inside input slice 2 (working slices 8-11 of 24)
    back = Invertd("pred", transform=resample, orig_keys="image", nearest_interp=False)(
        {"image": work, "pred": MetaTensor(spike)}
    )["pred"]
    assert tuple(back.shape) == (1, 16, 14, 6) and np.allclose(back.affine.numpy(), affine)
    assert float(back[0, :, :, 2].max()) == 1.0 and float(back.sum()) >= 1.0  # the spike survives the thick slice
    assert float(back[0, :, :, [0, 1, 3, 4, 5]].max()) == 0.0
    assert back.applied_operations == []
