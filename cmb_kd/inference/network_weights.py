"""Loading of network weights from a bundle's ``models/`` folder, with a clear error when they are missing."""

from __future__ import annotations

import os
import pickle
import warnings
from collections.abc import Mapping
from pathlib import Path

import torch

__all__ = ["load_network_weights"]

_WRAPPER_KEYS = ("model", "state_dict", "network")


def load_network_weights(
    network: torch.nn.Module, path: str | os.PathLike, *, allow_untrained: bool = False
) -> torch.nn.Module:
    """Load a checkpoint into ``network`` (on the CPU) and return the network in evaluation mode.

    The checkpoint is a state dict, or a dict wrapping one under ``"model"``, ``"state_dict"`` or ``"network"``
    (what MONAI's ``CheckpointSaver`` and ``ckpt_export`` write). It is read with ``weights_only=True`` and loaded
    strictly (every key must match).

    Args:
        network: the freshly built network (from the bundle's ``network_def``).
        path: the ``.pt`` file.
        allow_untrained: when the file does not exist, keep the fresh (randomly initialised) weights and warn
            instead of failing: for tests and speed benchmarks only, the detections are meaningless.

    Returns:
        ``network`` with the weights, in ``eval()`` mode.

    Raises:
        FileNotFoundError: naming ``path`` when it does not exist and ``allow_untrained`` is False.
        ValueError: naming ``path`` when the file is not a checkpoint of this network.
    """
    file = Path(path)
    if not file.is_file():
        if not allow_untrained:
            raise FileNotFoundError(
                f"{file}: network weights not found; expected a trained checkpoint there (train the bundle, or "
                "download its weights); allow_untrained=True (cmb-kd infer --allow-untrained) runs with random "
                "weights for testing only"
            )
        message = f"{file} not found: using UNTRAINED {type(network).__name__} weights; detections are meaningless"
        warnings.warn(message, UserWarning, stacklevel=2)
        return network.eval()
    try:
        checkpoint = torch.load(file, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as err:
        raise ValueError(f"{file}: cannot read as a PyTorch checkpoint ({type(err).__name__}: {err})") from err
    state = checkpoint
    if isinstance(checkpoint, Mapping):
        for key in _WRAPPER_KEYS:
            if key in checkpoint and isinstance(checkpoint[key], Mapping):
                state = checkpoint[key]
                break
    if not isinstance(state, Mapping):
        raise ValueError(f"{file}: expected a state dict of {type(network).__name__}, got {type(state).__name__}")
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ValueError(f"{file}: not a checkpoint of this {type(network).__name__} ({err})") from err
    return network.eval()
