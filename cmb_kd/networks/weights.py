"""Loading of network weights from a checkpoint file (a bundle's ``models/``, a teacher), with clear errors."""

from __future__ import annotations

import os
import pickle
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

__all__ = ["WRAPPER_KEYS", "load_network_weights"]

WRAPPER_KEYS = ("model", "state_dict", "network")
"""Keys under which a checkpoint dict may hold the state dict (MONAI's savers write ``model``), tried in order."""
_SHOWN = 3
"""Keys named per kind of mismatch in an error message (the full lists are in the exception chain's RuntimeError)."""
_DETAIL_CHARACTERS = 200


_UNPICKLER_MARK = "WeightsUnpickler error:"
"""Where, in the many-line error of ``torch.load(weights_only=True)``, the actual problem follows."""


def _one_line(err: BaseException) -> str:
    """``err`` as one short line: its type and its message with every run of white space (newlines) as one space.

    Of the error of the weights-only unpickler, only the problem is kept (its advice to load with
    ``weights_only=False``, which runs code from the file, is not for a checkpoint that should hold tensors).
    """
    text = str(err)
    if _UNPICKLER_MARK in text:
        text = _UNPICKLER_MARK + " " + " ".join(text.split(_UNPICKLER_MARK, 1)[1].strip().split("\n\n")[0].split())
    text = " ".join(text.split())
    if len(text) > _DETAIL_CHARACTERS:
        text = text[: _DETAIL_CHARACTERS - 3].rstrip() + "..."
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _some(keys: list[str]) -> str:
    shown = ", ".join(repr(key) for key in keys[:_SHOWN])
    return shown + (f" and {len(keys) - _SHOWN} more" if len(keys) > _SHOWN else "")


def _mismatch(network: torch.nn.Module, state: Mapping[str, Any]) -> str:
    """What keeps ``state`` from loading strictly into ``network``, in one line; empty when nothing is seen."""
    expected = network.state_dict()
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    shapes = [
        f"{key!r} {tuple(state[key].shape)} in the file, {tuple(expected[key].shape)} in the network"
        for key in expected
        if key in state and hasattr(state[key], "shape") and tuple(state[key].shape) != tuple(expected[key].shape)
    ]
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing key(s) ({_some(missing)})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected key(s) ({_some(unexpected)})")
    if shapes:
        parts.append(
            f"{len(shapes)} shape mismatch(es) ({'; '.join(shapes[:_SHOWN])}{'; ...' if len(shapes) > _SHOWN else ''})"
        )
    return ", ".join(parts)


def load_network_weights(
    network: torch.nn.Module,
    path: str | os.PathLike,
    *,
    allow_untrained: bool = False,
    keys: Sequence[str] = WRAPPER_KEYS,
) -> torch.nn.Module:
    """Load a checkpoint into ``network`` (on the CPU) and return the network in evaluation mode.

    The checkpoint is a state dict, or a dict wrapping one under ``"model"``, ``"state_dict"`` or ``"network"``
    (what MONAI's ``CheckpointSaver`` and ``ckpt_export`` write). It is read with ``weights_only=True`` and loaded
    strictly (every key must match). Errors are one line naming the file, what does not match (the first missing
    and unexpected keys, mismatched shapes) and what was expected; PyTorch's own, many-line message stays in the
    exception chain (``__cause__``).

    Args:
        network: the freshly built network (from the bundle's ``network_def``).
        path: the ``.pt`` file.
        allow_untrained: when the file does not exist, keep the fresh (randomly initialised) weights and warn
            instead of failing: for tests and speed benchmarks only, the detections are meaningless.
        keys: the keys of a checkpoint dict that may hold the state dict, tried in order (default
            :data:`WRAPPER_KEYS`); a checkpoint with none of them is taken as the state dict itself.

    Returns:
        ``network`` with the weights, in ``eval()`` mode.

    Raises:
        FileNotFoundError: naming ``path`` when it does not exist and ``allow_untrained`` is False.
        ValueError: naming ``path`` when the file is not a checkpoint of this network.
    """
    file = Path(path)
    if not file.is_file():
        if not allow_untrained:
            where = ""
            if not file.is_absolute():  # a bundle's paths follow its bundle_root, "." unless given
                where = (
                    f" in {Path.cwd()} (a relative path: a bundle's files are found from its bundle_root, so run from "
                    "the bundle folder or pass --bundle_root BUNDLE_FOLDER)"
                )
            raise FileNotFoundError(
                f"{file}: network weights not found{where}; expected a trained checkpoint there (train the bundle, "
                "or download its weights); allow_untrained=True (cmb-kd infer --allow-untrained) runs with random "
                "weights for testing only"
            )
        message = f"{file} not found: using UNTRAINED {type(network).__name__} weights; detections are meaningless"
        warnings.warn(message, UserWarning, stacklevel=2)
        return network.eval()
    try:
        checkpoint = torch.load(file, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as err:
        raise ValueError(
            f"{file}: cannot read as a PyTorch checkpoint ({_one_line(err)}); expected a state dict saved with "
            "torch.save"
        ) from err
    state = checkpoint
    if isinstance(checkpoint, Mapping):
        for key in keys:
            if key in checkpoint and isinstance(checkpoint[key], Mapping):
                state = checkpoint[key]
                break
    name = type(network).__name__
    if not isinstance(state, Mapping):
        raise ValueError(f"{file}: expected a state dict of {name}, got {type(state).__name__}")
    expected = f"the weights of this {name} (the bundle's network_def, with the same channels and options)"
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as err:
        found = _mismatch(network, state) or _one_line(err)
        raise ValueError(f"{file}: not a checkpoint of this {name} ({found}); expected {expected}") from err
    return network.eval()
