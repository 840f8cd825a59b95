"""Output transform exposing the loss and its named terms to StatsHandler / TensorBoardStatsHandler."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from monai.utils import CommonKeys

__all__ = ["LOSS_TERM_PREFIX", "loss_terms"]

LOSS_TERM_PREFIX = "loss_"


def loss_terms(output: Any) -> dict[str, float]:
    """Pick the loss and every ``loss_<term>`` entry of an iteration output as floats.

    Use as ``output_transform`` of MONAI's ``StatsHandler`` / ``TensorBoardStatsHandler`` on a trainer with a
    :class:`~cmb_kd.handlers.DistillationHandler`, which writes each term under ``loss_<name>``. A list output
    (decollated batch) uses its first item.

    Args:
        output: ``engine.state.output``, a dict (or a list of dicts).

    Returns:
        ``{"loss": total, "loss_supervised": ..., "loss_<term>": ...}``; empty when the output holds no loss.
    """
    if isinstance(output, (list, tuple)):
        output = output[0] if output else {}
    if not isinstance(output, Mapping):
        return {}
    out: dict[str, float] = {}
    for key, value in output.items():
        name = str(key)
        if name == CommonKeys.LOSS or name.startswith(LOSS_TERM_PREFIX):
            out[name] = float(value.detach().float().mean()) if isinstance(value, torch.Tensor) else float(value)
    return out
