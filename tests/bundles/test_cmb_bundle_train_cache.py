"""The training configs cache whole volumes with their masks as uint8 and hand the trainer float32 patches."""

import monai
import torch
from monai.bundle import ConfigParser
from monai.transforms import Compose, LoadImage


def _parser(bundle_dir, cohort) -> ConfigParser:
    parser = ConfigParser()
    parser.read_config([str(bundle_dir / "configs" / name) for name in ("train.json", "native_lr.json")])
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
