"""Moving a scan between its input grid, the working grid and the brain box the networks run on."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from monai.data import MetaTensor
from monai.utils import convert_to_numpy

from cmb_kd.candidates import Candidate
from cmb_kd.inference.detection_result import PreparedScan
from cmb_kd.transforms import ResampleToInputGrid, ResampleToWorkingGrid

__all__ = [
    "DEFAULT_BOX_PATCH",
    "box_affine",
    "brain_box",
    "from_box",
    "from_box_volume",
    "probability_to_input_grid",
    "to_box",
    "to_input_grid",
    "to_working_grid",
]

DEFAULT_BOX_PATCH: tuple[int, int, int] = (48, 48, 24)
"""Patch size whose half is the brain box's margin when the stage-2 inferer has no ``patch_size``."""


def _to_array(value: Any) -> np.ndarray:
    return np.asarray(convert_to_numpy(value))


def to_working_grid(
    working_grid: ResampleToWorkingGrid, data: np.ndarray, affine: np.ndarray, *, mode: str | None = None
) -> tuple[MetaTensor, np.ndarray, np.ndarray]:
    """A volume of the input grid resampled onto the working grid.

    Args:
        working_grid: the resampler.
        data: the volume ``(X, Y, Z)`` on the input grid.
        affine: the input's 4x4 affine.
        mode: interpolation mode of the resampler (e.g. ``"nearest"`` for a mask); None: its own.

    Returns:
        ``(work, work_affine, volume)``: the resampled ``MetaTensor`` ``(1, X', Y', Z')``, its float64 4x4 affine
        and its voxels as a float32 array ``(X', Y', Z')``.

    Raises:
        ValueError: when the resampler does not return a MetaTensor (MONAI meta tracking off).
    """
    source = MetaTensor(torch.from_numpy(data)[None], affine=torch.as_tensor(affine, dtype=torch.float64).clone())
    work = working_grid(source) if mode is None else working_grid(source, mode=mode)
    if not isinstance(work, MetaTensor):
        raise ValueError("working_grid: expected a MetaTensor (MONAI meta tracking must be on)")
    return work, convert_to_numpy(work.affine, dtype=np.float64), _to_array(work[0]).astype(np.float32, copy=False)


def to_input_grid(
    volume: np.ndarray, mode: str, input_affine: np.ndarray, input_shape: tuple[int, ...], affine: np.ndarray
) -> np.ndarray:
    """A working-grid volume ``(X', Y', Z')`` of affine ``affine`` back on the input grid ``(X, Y, Z)``
    (:class:`ResampleToInputGrid` in ``mode``: ``"nearest"`` or ``"max"`` over the working voxels in each input
    voxel)."""
    moved = ResampleToInputGrid(mode)(
        torch.from_numpy(volume)[None], input_affine=input_affine, input_shape=input_shape, affine=affine
    )
    return _to_array(moved)[0]


def brain_box(brain: np.ndarray, patch_size: Sequence[int]) -> tuple[slice, slice, slice]:
    """The bounding box of a non-empty bool ``brain`` ``(X, Y, Z)`` grown by half a patch on each side, clipped
    to the volume: one slice per axis."""
    box = []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        present = np.flatnonzero(brain.any(axis=other))
        margin = int(patch_size[axis]) // 2
        box.append(slice(max(0, int(present[0]) - margin), min(brain.shape[axis], int(present[-1]) + 1 + margin)))
    return tuple(box)


def box_affine(affine: np.ndarray, box: tuple[slice, slice, slice]) -> np.ndarray:
    """The 4x4 affine of the volume cut to ``box`` from a volume of ``affine`` (its origin moved to the box's first
    voxel)."""
    moved = affine.copy()
    moved[:3, 3] = affine[:3, :3] @ np.array([s.start for s in box], dtype=np.float64) + affine[:3, 3]
    return moved


def from_box(candidates: Sequence[Candidate], box: tuple[slice, slice, slice]) -> tuple[Candidate, ...]:
    """Candidates found inside ``box`` with their ``voxel`` on the whole grid (``mm`` is the same on both)."""
    offset = tuple(s.start for s in box)
    return tuple(dataclasses.replace(c, voxel=tuple(int(v + o) for v, o in zip(c.voxel, offset))) for c in candidates)


def to_box(candidates: Sequence[Candidate], box: tuple[slice, slice, slice]) -> list[tuple[int, ...]]:
    """The voxels of working-grid candidates inside ``box`` (the inverse of :func:`from_box`)."""
    offset = tuple(int(s.start) for s in box)
    return [tuple(v - o for v, o in zip(c.voxel, offset)) for c in candidates]


def from_box_volume(crop: Any, box: tuple[slice, slice, slice], shape: tuple[int, ...]) -> np.ndarray:
    """A volume ``(X'', Y'', Z'')`` computed inside ``box`` pasted into a float32 working-grid volume ``shape`` that is
    0 outside the box."""
    volume = np.zeros(shape, dtype=np.float32)
    volume[box] = _to_array(crop)
    return volume


def probability_to_input_grid(probability: np.ndarray, prepared: PreparedScan) -> np.ndarray:
    """A working-grid probability map ``(X', Y', Z')`` of a prepared scan back on its input grid: float32
    ``(X, Y, Z)``, the maximum over the working voxels inside each input voxel (thick slices keep one-voxel lesions),
    0 where the input has no value (NaN)."""
    moved = to_input_grid(
        probability, "max", prepared.input_affine, prepared.input_shape, prepared.working_affine
    ).astype(np.float32, copy=False)
    if prepared.finite_input is not None:
        moved = np.where(prepared.finite_input, moved, np.float32(0))
    return moved
