"""The vessel bundle's configs parse, merge and build what they promise: the paper's settings, the three models'
inputs and weights files, the transfer objective, and inference's standard ids."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from monai.bundle import ConfigParser, create_workflow, verify_net_in_out
from monai.transforms import Compose, LoadImaged, MapTransform, RandFlipd, RandRotate90d, SaveImaged

from cmb_kd.handlers import DistillationHandler, PrepareLowResolutionBatch
from cmb_kd.inference import SaveMIPd
from cmb_kd.losses import KTVIT_FEATURE_TAPS, KnowledgeTransferLoss
from cmb_kd.networks import KTViT

MODELS = {
    ("train.json",): ("models/hnet", (1, 1, 1), "runs/hnet"),
    ("train.json", "lnet.json"): ("models/lnet", (2, 2, 2), "runs/lnet"),
    ("train.json", "lnet_transfer.json"): ("models", (2, 2, 2), "runs/lnet_transfer"),
}
"""Configs of each model -> its weights folder, the factor of its LR input and its run folder."""


def _parser(bundle_dir: Path, configs: tuple[str, ...], **settings) -> ConfigParser:
    parser = ConfigParser()
    parser.read_config([str(bundle_dir / "configs" / name) for name in configs])
    parser["bundle_root"] = str(bundle_dir)
    parser["device"] = "cpu"
    for key, value in settings.items():
        parser[key] = value
    return parser


def test_every_config_is_json_and_the_metadata_is_at_0_1_0(vessel_bundle_dir) -> None:
    names = sorted(p.name for p in (vessel_bundle_dir / "configs").glob("*.json"))
    expected = ["evaluate.json", "inference.json", "lnet.json", "lnet_transfer.json", "metadata.json", "train.json"]
    assert names == expected
    for name in names:
        json.loads((vessel_bundle_dir / "configs" / name).read_text())
    assert (vessel_bundle_dir / "configs" / "logging.conf").is_file() and (vessel_bundle_dir / "LICENSE").is_file()


def test_training_uses_the_papers_settings(vessel_bundle_dir) -> None:
    parser = _parser(vessel_bundle_dir, ("train.json",))
    optimizer = parser.get_parsed_content("optimizer")
    assert isinstance(optimizer, torch.optim.Adam)
    assert optimizer.defaults["lr"] == 1e-4 and optimizer.defaults["weight_decay"] == 1e-5
    scheduler = parser.get_parsed_content("lr_scheduler")
    assert isinstance(scheduler, torch.optim.lr_scheduler.CosineAnnealingLR)
    assert scheduler.T_max == parser.get_parsed_content("max_epochs") == 20
    assert isinstance(parser.get_parsed_content("loss"), torch.nn.BCEWithLogitsLoss)
    assert parser.get_parsed_content("patch_size") == [64, 64, 32]
    augmentation = parser.get_parsed_content("train#augmentation").transforms
    flips = sorted(t.flipper.spatial_axis for t in augmentation if isinstance(t, RandFlipd))
    rotations = [t for t in augmentation if isinstance(t, RandRotate90d)]
    assert flips == [0, 1]  # horizontal and vertical flips
    assert len(rotations) == 1 and rotations[0].max_k == 3  # 90, 180 and 270 degree rotations
    assert rotations[0].spatial_axes == (0, 1) and rotations[0].prob == 0.5


@pytest.mark.parametrize("configs", list(MODELS))
def test_each_model_has_its_input_weights_and_run_folder(vessel_bundle_dir, configs) -> None:
    folder, factor, runs = MODELS[configs]
    parser = _parser(vessel_bundle_dir, configs)
    network = parser.get_parsed_content("network")
    assert isinstance(network, KTViT) and network.patch_size == (4, 4, 4)
    final = Path(parser.get_parsed_content("model_dir")) / parser.get_parsed_content("model_filename")
    assert final == vessel_bundle_dir / folder / "model.pt"
    assert Path(parser.get_parsed_content("output_dir")) == vessel_bundle_dir / runs
    for workflow in ("train", "validate"):
        prepare = parser.get_parsed_content(f"{workflow}#prepare_batch")
        assert isinstance(prepare, PrepareLowResolutionBatch) and prepare.factor == factor


def test_the_transfer_overlay_distils_from_the_frozen_hnet(vessel_bundle_dir, tmp_path) -> None:
    parser = _parser(vessel_bundle_dir, ("train.json", "lnet_transfer.json"))
    assert Path(parser.get_parsed_content("hnet_ckpt")) == vessel_bundle_dir / "models" / "hnet" / "model.pt"
    loss = parser.get_parsed_content("transfer_loss")
    assert isinstance(loss, KnowledgeTransferLoss)
    assert [(t.name, t.student_tap, t.weight) for t in loss.terms] == [
        *((tap, tap, 0.25) for tap in KTVIT_FEATURE_TAPS),
        ("decision", "decision", 1.0),
    ]
    hnet = KTViT(3, 1, 1)
    torch.save(hnet.state_dict(), tmp_path / "hnet.pt")
    parser["hnet_ckpt"] = str(tmp_path / "hnet.pt")
    handler = parser.get_parsed_content("distillation")
    assert isinstance(handler, DistillationHandler) and handler.teacher_input_key == "image_hr"
    assert not handler.teacher.training and not any(p.requires_grad for p in handler.teacher.parameters())
    assert handler.teacher is not parser.get_parsed_content("network")


def test_the_transfer_overlay_refuses_a_missing_hnet(vessel_bundle_dir, tmp_path) -> None:
    parser = _parser(vessel_bundle_dir, ("train.json", "lnet_transfer.json"), hnet_ckpt=str(tmp_path / "none.pt"))
    with pytest.raises(RuntimeError, match="DistillationHandler") as failed:
        parser.get_parsed_content("distillation")
    assert isinstance(failed.value.__cause__, FileNotFoundError)
    assert "none.pt" in str(failed.value.__cause__) and "train the teacher first" in str(failed.value.__cause__)


def test_evaluation_reads_each_models_weights(vessel_bundle_dir) -> None:
    for configs, (folder, factor, runs) in MODELS.items():
        parser = _parser(vessel_bundle_dir, (*configs, "evaluate.json"))
        assert Path(parser.get_parsed_content("model_path")) == vessel_bundle_dir / folder / "model.pt"
        assert Path(parser.get_parsed_content("eval_dir")) == vessel_bundle_dir / runs / "eval"
        assert parser.get_parsed_content("validate#prepare_batch").factor == factor
        metrics = {**parser["validate"]["key_metric"], **parser["validate"]["additional_metrics"]}
        assert sorted(m["metric_name"] for m in metrics.values()) == [
            "cldice", "dice", "fragment_ratio", "precision", "sensitivity"
        ]  # fmt: skip


@pytest.mark.filterwarnings("ignore:.*UNTRAINED:UserWarning")
def test_the_inference_workflow_has_every_property_monai_checks(vessel_bundle_dir) -> None:
    workflow = create_workflow(
        config_file=str(vessel_bundle_dir / "configs" / "inference.json"),
        workflow_type="inference",
        meta_file=str(vessel_bundle_dir / "configs" / "metadata.json"),
        bundle_root=str(vessel_bundle_dir),
        device="cpu",
        allow_untrained=True,  # the bundle ships no weights yet
    )
    assert workflow.check_properties() == []


def test_inference_standard_ids_are_composes_of_dictionary_transforms(vessel_bundle_dir, tmp_path) -> None:
    parser = _parser(vessel_bundle_dir, ("inference.json",), output_dir=str(tmp_path))
    pre, post = parser.get_parsed_content("preprocessing"), parser.get_parsed_content("postprocessing")
    assert isinstance(pre, Compose) and isinstance(post, Compose)
    assert isinstance(pre.transforms[0], LoadImaged) and isinstance(post.transforms[-1], SaveImaged)
    assert any(isinstance(t, SaveMIPd) for t in post.transforms)
    assert all(isinstance(t, MapTransform) for t in [*pre.transforms, *post.transforms])
    assert tuple(parser.get_parsed_content("inferer").roi_size) == (64, 64, 32)


def test_inference_and_training_build_the_same_network(vessel_bundle_dir) -> None:
    inference = _parser(vessel_bundle_dir, ("inference.json",))["network_def"]
    for configs in MODELS:
        assert _parser(vessel_bundle_dir, configs)["network_def"] == inference


def test_the_network_verifies_with_the_metadata_shape(vessel_bundle_dir) -> None:
    configs = vessel_bundle_dir / "configs"
    verify_net_in_out(
        net_id="network_def",
        meta_file=str(configs / "metadata.json"),
        config_file=str(configs / "inference.json"),
        device="cpu",
        bundle_root=str(vessel_bundle_dir),
    )


@pytest.mark.parametrize("brain_key", ["brain_mask", None])
def test_volumes_are_read_with_or_without_a_brain_mask(vessel_bundle_dir, mra_cohort, brain_key) -> None:
    """With the datalist's brain mask the volume is cropped to the brain (margin 4); ``--brain_key None`` keeps it."""
    parser = _parser(vessel_bundle_dir, ("train.json",), brain_key=brain_key)
    entry = json.loads((mra_cohort / "datalist.json").read_text())["test"][0]
    item = {key: str(mra_cohort / value) for key, value in entry.items() if key != "subject"}
    if brain_key is None:
        del item["brain_mask"]
    data = parser.get_parsed_content("validate#preprocessing")(item)
    assert set(data) == {"image", "label"} and data["image"].dtype == torch.float32
    assert data["image"].shape == data["label"].shape and set(data["label"].unique().tolist()) == {0.0, 1.0}
    extent = [66, 64, 33]
    if brain_key is not None:  # the brain's bounding box and a margin of 4, within the volume
        brain = np.nonzero(np.asarray(nib.load(item["brain_mask"]).dataobj))
        extent = [min(int(b.max()) + 5, n) - max(int(b.min()) - 4, 0) for b, n in zip(brain, extent)]
    # then padded to at least one 64×64×32 patch and to even sizes (the LR factor 2)
    expected = [max(e, p) + max(e, p) % 2 for e, p in zip(extent, (64, 64, 32))]
    assert list(data["image"].shape[1:]) == expected
