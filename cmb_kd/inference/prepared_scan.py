"""What :meth:`CMBDetector.prepare` hands to :meth:`CMBDetector.segment`: one scan up to its stage-1 candidates."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from cmb_kd.candidates import Candidate

__all__ = ["PreparedScan"]


@dataclasses.dataclass(frozen=True)
class PreparedScan:
    """The network-independent part of the two-stage pipeline for one scan (PLKD, ``000_2429e8a773e1f797``).

    Holds everything stage 2 needs, so that several segmentation networks can be run on one scan without repeating
    the working grid, skull stripping, standardisation, screening and candidate detection. :meth:`CMBDetector.segment`
    only reads it: one prepared scan can be segmented any number of times.

    Attributes:
        input_shape: shape ``(X, Y, Z)`` of the input scan.
        input_affine: the input's 4x4 voxel-to-world affine (RAS, mm).
        working_shape: shape ``(X', Y', Z')`` of the scan on the working grid.
        working_affine: 4x4 affine of the working grid.
        brain_box: the brain's bounding box on the working grid plus half a patch of margin, one slice per axis.
        image: the standardised scan inside ``brain_box``, float32 ``(1, 1, X'', Y'', Z'')`` on the detector's device.
        brain_working: bool brain mask ``(X', Y', Z')`` on the working grid.
        brain_input: bool brain mask ``(X, Y, Z)`` on the input grid (the given mask or the non-zero region of a
            pre-masked scan, or the skull-stripped one mapped back), never True where the input is NaN.
        phase: float32 high-pass phase ``(X, Y, Z)`` on the input grid, or None.
        candidates: the stage-1 candidates, ``voxel`` on the working grid, ``mm`` in world coordinates.
        timings: seconds spent so far per stage (keys of :data:`STAGES`; the stage-2 ones are still 0 except the
            brain mask's share of ``input_grid``).
        warnings: one line per doubt about the input (inverted contrast, signed intensities, slices thicker than
            the model is validated for; :func:`check_scan_plausibility`), empty for a plausible scan.
        brain_source: where the brain mask came from, one of :data:`BRAIN_SOURCES`: ``"given"``, ``"pre-masked"``
            (the scan's own non-zero region, :class:`PreMaskedBrain`) or ``"skull-strip"``.
        finite_input: bool ``(X, Y, Z)``, the input voxels that hold a value (not NaN), or None when all do; the
            probability and the detections are 0 elsewhere.
    """

    input_shape: tuple[int, int, int]
    input_affine: np.ndarray
    working_shape: tuple[int, int, int]
    working_affine: np.ndarray
    brain_box: tuple[slice, slice, slice]
    image: torch.Tensor
    brain_working: np.ndarray
    brain_input: np.ndarray
    phase: np.ndarray | None
    candidates: tuple[Candidate, ...]
    timings: dict[str, float]
    warnings: tuple[str, ...] = ()
    brain_source: str = "skull-strip"
    finite_input: np.ndarray | None = None

    @property
    def box_offset(self) -> tuple[int, int, int]:
        """Working-grid voxel index of the first voxel of ``brain_box`` (and of ``image``)."""
        return tuple(int(s.start) for s in self.brain_box)
