"""Tests of cmb_kd.evaluation.run_networks: the network config of a run, its own or the bundle's."""

from __future__ import annotations

import json
from pathlib import Path

from _test_files import TINY_E2UNET

from cmb_kd.evaluation import network_def_of

ROOT = Path(__file__).resolve().parents[2]


def test_default_network_defs_follow_the_bundle(tmp_path) -> None:
    bundle = ROOT / "bundles" / "cmb_lr_mri_segmentation"
    ablation = network_def_of("ablation-2d", tmp_path, bundle)
    assert ablation["_target_"] == "cmb_kd.networks.E2UNet" and ablation["fcm"] is False
    assert ablation["conv_mode"] == "2d"
    assert network_def_of("ablation-hybrid-s1", tmp_path, bundle)["conv_mode"] == "hybrid"
    assert network_def_of("dynunet-s1", tmp_path, bundle)["_target_"] == "DynUNet"
    (tmp_path / "plkd-s0").mkdir()
    (tmp_path / "plkd-s0" / "network_def.json").write_text(json.dumps(TINY_E2UNET))
    assert network_def_of("plkd-s0", tmp_path, bundle) == TINY_E2UNET
