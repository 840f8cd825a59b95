"""Where a scan's brain mask comes from: a given mask, the non-zero region of a pre-masked scan, or skull stripping
on the working grid; and that mask on the working grid."""

from __future__ import annotations

import dataclasses

import numpy as np
from monai.data import MetaTensor
from monai.utils import convert_to_numpy

from cmb_kd.inference.grid_mapping import to_input_grid, to_working_grid
from cmb_kd.inference.pre_masked_brain import PreMaskedBrain
from cmb_kd.transforms import ResampleToWorkingGrid, SkullStrip

__all__ = ["BRAIN_SOURCES", "InputBrain", "input_brain", "input_grid_brain", "working_brain"]

BRAIN_SOURCES: tuple[str, ...] = ("given", "pre-masked", "skull-strip")
"""Where the brain mask of a scan came from (:attr:`PreparedScan.brain_source`): a given mask, the non-zero region
of a pre-masked scan (:class:`PreMaskedBrain`), or ``skull_strip``."""


@dataclasses.dataclass(frozen=True)
class InputBrain:
    """A scan's brain mask on its input grid, when it has one before skull stripping.

    Attributes:
        mask: bool ``(X, Y, Z)`` brain mask on the input grid, never True where the input is NaN; None when the brain
            is to be found by skull stripping.
        source: one of :data:`BRAIN_SOURCES`.
        message: one line for the log saying where the mask comes from (and why, from :class:`PreMaskedBrain`).
    """

    mask: np.ndarray | None
    source: str
    message: str


def input_brain(
    given: np.ndarray | None,
    data: np.ndarray,
    affine: np.ndarray,
    pre_masked: PreMaskedBrain,
    finite_input: np.ndarray | None = None,
) -> InputBrain:
    """The brain mask of a scan on its input grid: ``given`` when there is one, else the non-zero region of a
    pre-masked scan (``pre_masked``), else none (``"skull-strip"``).

    Args:
        given: bool brain mask ``(X, Y, Z)`` given with the scan, or None.
        data: the scan ``(X, Y, Z)``, NaN voxels set to 0.
        affine: its 4x4 affine.
        pre_masked: the test for a scan that is already skull-stripped.
        finite_input: bool ``(X, Y, Z)``, the voxels holding a value, or None when all do; a voxel without one is
            never brain.

    Returns:
        The :class:`InputBrain`.
    """
    if given is not None:
        source, message = "given", "brain mask given, no skull stripping"
    else:
        given, reason = pre_masked(data, affine)
        if given is not None:
            source = "pre-masked"
            message = f"pre-masked scan: its non-zero region is the brain mask, no skull stripping ({reason})"
        else:
            source, message = "skull-strip", f"brain mask by skull stripping, not pre-masked: {reason}"
    if given is not None and finite_input is not None:
        given = given & finite_input  # a voxel without a value is never brain
    return InputBrain(mask=given, source=source, message=message)


def working_brain(
    brain: InputBrain,
    work: MetaTensor,
    affine: np.ndarray,
    working_grid: ResampleToWorkingGrid,
    skull_strip: SkullStrip,
) -> np.ndarray:
    """The brain mask on the working grid: the input grid's mask resampled by nearest neighbour, or ``skull_strip``
    of the scan on the working grid ``work`` ``(1, X', Y', Z')`` when there is none.

    Args:
        brain: the scan's :class:`InputBrain`.
        work: the scan on the working grid.
        affine: the input's 4x4 affine.
        working_grid: the resampler that made ``work``.
        skull_strip: the brain extraction.

    Returns:
        bool ``(X', Y', Z')``.

    Raises:
        ValueError: when no voxel of the working grid is brain.
    """
    if brain.mask is None:
        mask = np.asarray(convert_to_numpy(skull_strip(work)[0])) != 0
    else:
        mask = to_working_grid(working_grid, brain.mask.astype(np.uint8), affine, mode="nearest")[2] != 0
    if not mask.any():
        raise ValueError("brain_mask: no brain voxel found on the working grid; expected a head scan")
    return mask


def input_grid_brain(
    brain: InputBrain,
    brain_work: np.ndarray,
    affine: np.ndarray,
    shape: tuple[int, ...],
    work_affine: np.ndarray,
    finite_input: np.ndarray | None = None,
) -> np.ndarray:
    """The brain mask on the input grid: the scan's own (:attr:`InputBrain.mask`) when it had one, else the working
    grid's ``brain_work`` (skull stripping) mapped back by nearest neighbour, never True where the input is NaN.

    Args:
        brain: the scan's :class:`InputBrain`.
        brain_work: bool brain mask ``(X', Y', Z')`` on the working grid (:func:`working_brain`).
        affine: the input's 4x4 affine.
        shape: the input's shape ``(X, Y, Z)``.
        work_affine: the working grid's 4x4 affine.
        finite_input: bool ``(X, Y, Z)``, the voxels holding a value, or None when all do.

    Returns:
        bool ``(X, Y, Z)``.
    """
    if brain.mask is not None:
        return brain.mask
    brain_in = to_input_grid(brain_work, "nearest", affine, shape, work_affine)
    return brain_in if finite_input is None else brain_in & finite_input
