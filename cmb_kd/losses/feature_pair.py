"""Student/teacher feature pairing and float32 handling shared by the knowledge-transfer losses."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn as nn

__all__ = ["float32_region", "prepare_pair"]


@contextlib.contextmanager
def float32_region(device: torch.device) -> Iterator[None]:
    """Disable autocast on ``device`` so that transfer maths runs in float32 under AMP."""
    with torch.autocast(device_type=device.type, enabled=False):
        yield


def prepare_pair(
    student: torch.Tensor, teacher: torch.Tensor, adapter: nn.Module | None, name: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Check a student / teacher pair, apply the adapter to the student and cast both to float32.

    Must be called inside :func:`float32_region`.

    Args:
        student: ``(B, C_s, *spatial)`` student tensor.
        teacher: ``(B, C_t, *spatial)`` teacher tensor.
        adapter: optional module mapping ``C_s`` to ``C_t`` channels (applied to the student).
        name: the loss name used in error messages.

    Returns:
        The float32 student (after the adapter) and teacher, of identical shape.

    Raises:
        TypeError: an input is not a tensor.
        ValueError: fewer than 2 dimensions, or shapes that still differ after the adapter.
    """
    for arg, value in (("student", student), ("teacher", teacher)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name}: {arg}: expected a torch.Tensor, got {type(value).__name__}")
        if value.ndim < 2:
            raise ValueError(f"{name}: {arg} must have shape (B, C, ...), got shape {tuple(value.shape)}.")
    s = student.float()
    t = teacher.float()
    if adapter is not None:
        if s.shape[1] != getattr(adapter, "in_channels", s.shape[1]):
            raise ValueError(
                f"{name}: the adapter expects {adapter.in_channels} student channels, got student shape "
                f"{tuple(student.shape)} (teacher shape {tuple(teacher.shape)})."
            )
        s = adapter(s)
    if s.shape != t.shape:
        hint = (
            ""
            if s.shape[2:] != t.shape[2:] or s.shape[0] != t.shape[0]
            else (" Channel counts differ: give student_channels and teacher_channels to add a 1x1x1 adapter.")
        )
        raise ValueError(
            f"{name}: student shape {tuple(student.shape)}"
            + (f" (after the adapter {tuple(s.shape)})" if adapter is not None else "")
            + f" does not match teacher shape {tuple(teacher.shape)}.{hint}"
        )
    return s, t
