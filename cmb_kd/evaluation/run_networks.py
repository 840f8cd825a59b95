"""The network of a trained run: its MONAI config dict (the run's own or the bundle's) and the network with its
weights."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from monai.bundle import ConfigParser

from cmb_kd.evaluation.run_names import RUN_NAME, family_of
from cmb_kd.networks import load_network_weights

__all__ = ["NETWORK_DEF_FILE", "build_network", "network_def_of"]

NETWORK_DEF_FILE = "network_def.json"
"""File of a run folder holding the MONAI config dict of a network trained with another architecture or width."""


def network_def_of(name: str, runs: Path, bundle: Path) -> dict[str, Any]:
    """The MONAI config dict of run ``name``'s network.

    ``RUNS/<name>/network_def.json`` when the run folder holds one; otherwise the ``network_def`` of the bundle's
    ``configs/inference.json`` (E²U-Net), of ``configs/dynunet.json`` for ``dynunet-sN``, and the E²U-Net without
    FCM and with ``conv_mode`` 2d/3d/hybrid for ``ablation-*``.

    Args:
        name: the run's name.
        runs: the folder of the runs.
        bundle: the bundle folder whose configs give the default networks.

    Returns:
        A config dict with ``_target_``.

    Raises:
        ValueError: naming the run's ``network_def.json`` when it is not a config dict with ``_target_``.
    """
    own = runs / name / NETWORK_DEF_FILE
    if own.is_file():
        network_def = json.loads(own.read_text())
        if not isinstance(network_def, dict) or "_target_" not in network_def:
            raise ValueError(f"{own}: expected a config dict with '_target_', got {network_def!r}")
        return network_def
    family = family_of(name)
    config = "dynunet.json" if family == "dynunet" else "inference.json"
    network_def = dict(ConfigParser.load_config_file(str(bundle / "configs" / config))["network_def"])
    if family == "ablation":
        network_def.update(fcm=False, conv_mode=RUN_NAME.match(name)["mode"])
    return network_def


def build_network(network_def: Mapping[str, Any], weights: Path) -> Any:
    """Instantiates ``network_def`` and loads ``weights`` into it.

    Args:
        network_def: a MONAI config dict with ``_target_``.
        weights: a state dict file.

    Returns:
        The network, in eval mode on the CPU.
    """
    network = ConfigParser({"network_def": dict(network_def)}).get_parsed_content("network_def")
    return load_network_weights(network, weights)
