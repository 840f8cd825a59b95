"""The device the networks run on, checked at the door."""

from __future__ import annotations

import torch

__all__ = ["as_device"]


def as_device(device: str | torch.device) -> torch.device:
    """``device`` as a ``torch.device`` on which networks can run here.

    Args:
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` (or such a ``torch.device``).

    Returns:
        The device.

    Raises:
        ValueError: for a device that is neither CPU nor CUDA, or a CUDA device when none is available.
    """
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device: expected 'cpu', 'cuda' or 'cuda:N', got {device!r}") from err
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(f"device: expected 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device: {device!r} requested but no CUDA device is available; use device='cpu'")
    return resolved
