"""The training configs cache whole volumes with their masks as uint8 and hand the trainer float32 patches."""

import monai
import pytest
import torch
from monai.bundle import ConfigParser
from monai.transforms import Compose, LoadImage

from cmb_kd.transforms import RandCandidateCropd


def _parser(bundle_dir, cohort, configs=("train.json", "native_lr.json")) -> ConfigParser:
    parser = ConfigParser()
    parser.read_config([str(bundle_dir / "configs" / name) for name in configs])
    parser.update({"dataset_dir": str(cohort), "device": "$torch.device('cpu')", "patch_size": [32, 32, 16]})
    return parser


def test_masks_are_cached_as_uint8_with_their_values(bundle_dir, cohort) -> None:
    parser = _parser(bundle_dir, cohort)
    entry = monai.data.load_decathlon_datalist(str(cohort / "datalist.json"), True, "training", str(cohort))[0]
    cached = Compose(parser.get_parsed_content("deterministic_transforms"))(dict(entry))
    for key in ("image", "image_lr_x4"):
        assert cached[key].dtype == torch.float32
    for key in ("label", "brainmask", "mimics"):
        assert cached[key].dtype == torch.uint8
    label = LoadImage(image_only=True)(entry["label"])
    assert int(cached["label"].sum()) == int(label.sum()) > 0  # the crop keeps every CMB voxel, values unchanged


def test_training_and_validation_labels_reach_the_engines_as_float32(bundle_dir, cohort) -> None:
    parser = _parser(bundle_dir, cohort)
    entry = monai.data.load_decathlon_datalist(str(cohort / "datalist.json"), True, "training", str(cohort))[0]
    patches = parser.get_parsed_content("train#preprocessing")(dict(entry))
    assert len(patches) == parser.get_parsed_content("num_samples")
    for patch in patches:
        assert patch["label"].dtype == patch["image"].dtype == torch.float32
        assert set(patch["label"].unique().tolist()) <= {0.0, 1.0}
    whole = parser.get_parsed_content("validate#preprocessing")(dict(entry))
    assert whole["label"].dtype == torch.float32 and whole["label"].shape == whole["image"].shape


def test_masks_of_the_datalist_are_used_as_they_are(bundle_dir, cohort) -> None:
    parser = _parser(bundle_dir, cohort)
    entry = monai.data.load_decathlon_datalist(str(cohort / "datalist.json"), True, "training", str(cohort))[0]
    cached = Compose(parser.get_parsed_content("deterministic_transforms"))(dict(entry))
    for key in ("brainmask", "mimics"):  # the crop to the brain keeps every brain and mimic voxel
        assert int(cached[key].sum()) == int(LoadImage(image_only=True)(entry[key]).sum())


def test_a_datalist_of_scans_and_labels_alone_trains_as_monai_label_gives_it(bundle_dir, cohort) -> None:
    """MONAI Label's training task gives ``{"image", "label"}`` only: the brain is found by skull stripping, as
    inference does, and the mimic mask is empty (no mimic-centred patches)."""
    parser = _parser(bundle_dir, cohort, ["train.json"])
    full = monai.data.load_decathlon_datalist(str(cohort / "datalist.json"), True, "training", str(cohort))[0]
    entry = {"image": full["image"], "label": full["label"]}
    cached = Compose(parser.get_parsed_content("deterministic_transforms"))(dict(entry))
    assert cached["brainmask"].dtype == cached["mimics"].dtype == torch.uint8
    assert cached["brainmask"].shape == cached["mimics"].shape == cached["image"].shape
    assert int(cached["mimics"].sum()) == 0 and int(cached["brainmask"].sum()) > 0
    assert int(cached["label"].sum()) == int(LoadImage(image_only=True)(entry["label"]).sum()) > 0
    parser["num_samples"] = 12
    preprocessing = parser.get_parsed_content("train#preprocessing").set_random_state(seed=0)
    crop = next(t for t in preprocessing.transforms if isinstance(t, RandCandidateCropd))
    kinds = {}
    for name, sample in (("full", full), ("scan and label", entry)):
        patches = preprocessing(dict(sample))
        assert len(patches) == 12 and all(patch["image"].shape == patch["label"].shape for patch in patches)
        kinds[name] = {kind for kind, _ in crop.cropper.centers}
    assert "mimic" in kinds["full"] and "mimic" not in kinds["scan and label"]


def test_a_scan_without_its_label_still_fails_naming_the_key(bundle_dir, cohort) -> None:
    parser = _parser(bundle_dir, cohort, ["train.json"])
    full = monai.data.load_decathlon_datalist(str(cohort / "datalist.json"), True, "training", str(cohort))[0]
    with pytest.raises(RuntimeError) as failure:
        Compose(parser.get_parsed_content("deterministic_transforms"))({"image": full["image"]})
    assert "Key `label` of transform `LoadImaged` was missing" in str(failure.value.__cause__)


def test_the_ids_monai_label_overrides_are_those_of_training(bundle_dir) -> None:
    """MONAI Label 0.8.5's ``BundleTrainTask`` sets these ids of ``train.json`` (``monailabel/tasks/train/bundle.py``)
    and runs ``run``; its checkpoint loader names the network ``network``."""
    parser = ConfigParser()
    parser.read_config(str(bundle_dir / "configs" / "train.json"))
    for id_ in ("bundle_root", "device", "network", "run", "train#dataset#data", "validate#dataset#data"):
        assert id_ in parser, id_
    assert parser["train#trainer#max_epochs"] == "@max_epochs"
    assert parser["train#trainer#train_handlers"] == "@train#handlers" and isinstance(parser["train#handlers"], list)
