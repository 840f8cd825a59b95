import numpy as np
import pytest
import torch
from monai.data import MetaTensor

from cmb_kd.transforms import CandidateCentresd, RandCandidateCrop, RandCandidateCropd, component_centres


def _subject() -> dict:
    shape = (40, 44, 24)
    image = torch.rand(1, *shape)
    label = torch.zeros(1, *shape, dtype=torch.uint8)
    label[0, 10:12, 10:12, 5:7] = 1
    label[0, 30, 35, 20] = 1
    mimic = torch.zeros_like(label)
    mimic[0, 20, 5:25, 12] = 1  # a vessel segment
    brain = torch.zeros_like(label)
    brain[0, 5:35, 5:39, 2:22] = 1
    affine = torch.diag(torch.tensor([0.5, 0.5, 2.0, 1.0], dtype=torch.float64))
    return {
        "image": MetaTensor(image, affine=affine),
        "label": MetaTensor(label, affine=affine),
        "mimic": mimic,
        "brain": brain,
        "fp": np.array([[3, 3, 3]]),
    }


def test_component_centres_lie_on_components():
    d = _subject()
    centres = component_centres(d["mimic"])
    assert centres.tolist() == [[20, 14, 12]] or centres.tolist() == [[20, 15, 12]]
    assert sorted(map(tuple, component_centres(d["label"]).tolist())) == [(10, 10, 5), (30, 35, 20)]


@pytest.mark.parametrize(
    "ratios, kind",
    [((1, 0, 0, 0), "positive"), ((0, 1, 0, 0), "mimic"), ((0, 0, 1, 0), "false_positive"), ((0, 0, 0, 1), "negative")],
)
def test_each_kind_centres_patches_where_expected(ratios, kind):
    d = _subject()
    t = RandCandidateCropd(
        ["image", "label"], "label", "mimic", "fp", "brain", spatial_size=(20, 20, 16), num_samples=6,
        positive=ratios[0], mimic=ratios[1], false_positive=ratios[2], negative=ratios[3], jitter=0,
    ).set_random_state(0)  # fmt: skip
    out = t(d)
    assert len(out) == 6
    for sample in out:
        image, label = sample["image"], sample["label"]
        assert image.shape == label.shape == (1, 20, 20, 16)
        assert image.meta["patch_kind"] == kind
        centre = image.meta["patch_center"]
        assert image[0, 10, 10, 8] == d["image"][(0, *centre)]
        if kind == "positive":
            assert label[0, 10, 10, 8] == 1
        if kind == "mimic":
            assert d["mimic"][(0, *centre)] == 1
        if kind == "false_positive":
            assert centre == [3, 3, 3]
            assert float(image[0, :3].abs().sum()) == 0.0  # padded at the border
        if kind == "negative":
            assert d["brain"][(0, *centre)] == 1
        # the patch affine maps patch voxels to the same world points
        start = np.array(centre) - np.array([10, 10, 8])
        assert np.allclose(image.affine[:3, 3].numpy(), d["image"].affine.numpy()[:3, :3] @ start)


def test_false_positive_mask_gives_its_voxels_as_centres():
    d = _subject()
    mask = torch.zeros_like(d["label"])
    mask[0, 3, 3, 3] = mask[0, 25, 30, 10] = 1
    d["fp"] = mask
    t = RandCandidateCropd(
        "image", "label", fp_centers_key="fp", spatial_size=(8, 8, 4), num_samples=40,
        positive=0, mimic=0, negative=0, jitter=0,
    ).set_random_state(3)  # fmt: skip
    centres = {tuple(s["image"].meta["patch_center"]) for s in t(d)}
    assert centres == {(3, 3, 3), (25, 30, 10)}


def test_subject_without_cmb_gives_other_kinds_only():
    d = _subject()
    d["label"] = torch.zeros_like(d["label"])
    out = RandCandidateCropd("image", "label", "mimic", "fp", "brain", num_samples=20, positive=10).set_random_state(1)(
        d
    )
    assert {s["image"].meta["patch_kind"] for s in out} <= {"mimic", "false_positive", "negative"}


def test_replay_and_set_random_state():
    d = _subject()
    a = RandCandidateCropd(["image", "label"], "label", num_samples=5, spatial_size=(48, 48, 24)).set_random_state(7)
    b = RandCandidateCropd(["image", "label"], "label", num_samples=5, spatial_size=(48, 48, 24)).set_random_state(7)
    for sa, sb in zip(a(d), b(d)):
        assert torch.equal(sa["image"], sb["image"]) and torch.equal(sa["label"], sb["label"])
    crop = RandCandidateCrop((8, 8, 4), num_samples=2).set_random_state(0)
    first = crop(d["image"], label=d["label"])
    again = crop(d["image"], randomize=False)
    assert all(torch.equal(x, y) for x, y in zip(first, again))


def test_plain_tensor_and_jitter_bounds():
    d = _subject()
    crop = RandCandidateCrop((8, 8, 4), num_samples=30, mimic=0, false_positive=0, negative=0, jitter=(2, 2, 1))
    patches = crop.set_random_state(3)(d["image"].as_tensor(), label=d["label"])
    assert all(type(p) is torch.Tensor and p.shape == (1, 8, 8, 4) for p in patches)
    for _, c in crop.centers:
        assert min(np.abs(np.array(c) - np.array(r)).max() for r in [(10, 10, 5), (30, 35, 20)]) <= 2


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: RandCandidateCrop((48, 48)), r"spatial_size: expected one or three positive integers"),
        (lambda: RandCandidateCrop(num_samples=0), r"num_samples: expected an integer >= 1, got 0"),
        (lambda: RandCandidateCrop(positive=0, mimic=0, false_positive=0, negative=0), r"positive sum"),
        (lambda: RandCandidateCrop(jitter=-1), r"jitter: expected one or three integers >= 0"),
        (lambda: RandCandidateCrop()(torch.zeros(4, 4, 4)), r"img: expected a channel-first"),
        (
            lambda: RandCandidateCrop()(torch.zeros(1, 4, 4, 4), fp_centers=np.zeros((2, 2))),
            r"fp_centers: expected finite voxel indices of shape \(N, 3\) or a mask \(1, H, W, D\), got shape \(2, 2\)",
        ),
        (
            lambda: RandCandidateCrop()(torch.zeros(1, 4, 4, 4), fp_centers=torch.zeros(1, 4, 4, 5)),
            r"fp_centers: expected a mask of spatial shape \(4, 4, 4\), got \(4, 4, 5\)",
        ),
        (
            lambda: RandCandidateCrop()(torch.zeros(1, 4, 4, 4), label=torch.zeros(1, 4, 4, 5)),
            r"label: expected spatial shape \(4, 4, 4\), got \(4, 4, 5\)",
        ),
        (lambda: RandCandidateCropd("image", "label")({"image": torch.zeros(1, 4, 4, 4)}), r"key 'label' is missing"),
        (
            lambda: RandCandidateCropd(["image", "label"], "label")(
                {"image": torch.zeros(1, 4, 4, 4), "label": torch.zeros(1, 4, 4, 5)}
            ),
            r"key 'label': expected spatial shape \(4, 4, 4\) like key 'image'",
        ),
    ],
)
def test_bad_input(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_centres_computed_once_give_the_same_draws():
    d = _subject()
    cached = CandidateCentresd("label", "mimic", "fp")(d)
    pools = cached["candidate_centres"]
    assert set(pools) == {"positive", "mimic", "false_positive"}
    assert {tuple(c) for c in pools["positive"]} == {tuple(c) for c in component_centres(d["label"])}
    # the masks are no longer read: centres come from the cached pools, and the draws are those of the masks
    blank = {**cached, "label": torch.zeros_like(d["label"]), "mimic": torch.zeros_like(d["mimic"])}
    args = dict(keys=["image", "label"], label_key="label", mimic_key="mimic", fp_centers_key="fp", brain_key="brain")
    a = RandCandidateCropd(**args, num_samples=12).set_random_state(5)(d)
    b = RandCandidateCropd(**args, num_samples=12, centres_key="candidate_centres").set_random_state(5)(blank)
    assert [s["image"].meta["patch_center"] for s in a] == [s["image"].meta["patch_center"] for s in b]
    assert {s["image"].meta["patch_kind"] for s in b} >= {"positive", "mimic"}
    with pytest.raises(ValueError, match="pools: expected"):
        RandCandidateCrop((8, 8, 4)).randomize(spatial_shape=(40, 40, 20), pools={"positive": np.zeros((0, 3))})
    with pytest.raises(ValueError, match="'no_such_key' is missing"):
        CandidateCentresd("label", "no_such_key")(d)
