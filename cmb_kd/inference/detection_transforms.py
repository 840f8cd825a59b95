"""The detector's postprocessing as MONAI dictionary transforms: after ``Invertd`` has brought the stage-2
probability map (``pred``) back onto the input grid, the threshold of the scan and stage 3, the clean-up (the
bundle's ``postprocessing``, before ``SaveImaged``)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import torch
from monai.config import KeysCollection
from monai.data import MetaTensor
from monai.transforms import MapTransform
from monai.utils import convert_to_numpy

from cmb_kd.checks import require_keys, spacing_of
from cmb_kd.inference.detection_threshold import as_threshold, scan_threshold, threshold_probability
from cmb_kd.inference.lesion_cleanup import LesionCleanup
from cmb_kd.inference.scan_transforms import BRAIN_INPUT, FINITE, PHASE, _volume

__all__ = ["PRED", "PROBABILITY", "LesionCleanupd", "ThresholdDetectionsd"]

PRED = "pred"
"""The network's output: the stage-2 probability map, then the detections."""
PROBABILITY = "probability"
"""float32 ``(1, X, Y, Z)``: the stage-2 probability on the input grid, 0 where the input had no value."""


def _like(reference: Any, volume: np.ndarray) -> Any:
    """``volume`` ``(X, Y, Z)`` as ``(1, X, Y, Z)`` of ``reference``'s type (a MetaTensor keeps its meta data)."""
    if isinstance(reference, MetaTensor):
        out = MetaTensor(torch.from_numpy(volume)[None], meta=dict(reference.meta))
        out.applied_operations = list(reference.applied_operations)
        return out
    return volume[None]


def _affine(value: Any) -> np.ndarray:
    if not isinstance(value, MetaTensor):
        raise ValueError(f"key '{PRED}': expected a MetaTensor on the input grid (after Invertd), got {type(value)}")
    return np.asarray(convert_to_numpy(value.affine), dtype=np.float64)


class ThresholdDetectionsd(MapTransform):
    """Threshold the stage-2 probability on the input grid at the scan's threshold: ``phase_threshold`` where the
    clean-up's phase-sign rule runs on it (a phase image under ``phase_key``, slices no thicker than the rule's
    limit), ``threshold`` otherwise; no detection where the input had no value. The probability map, 0 there, is
    kept under ``probability_key``.

    Args:
        keys: the probability map's key, replaced by the detections (uint8).
        threshold: probability at or above which a voxel is a detection, in (0, 1).
        phase_threshold: the threshold for scans on which the phase-sign rule runs; None: ``threshold`` always.
        cleanup: the clean-up whose phase-sign rule decides; None: no clean-up runs (``threshold`` always).
        phase_key, finite_key, probability_key: keys of the phase image, the voxels holding a value, and where the
            probability map goes.

    Raises:
        ValueError: for a threshold outside (0, 1).
    """

    stage = "cleanup"

    def __init__(
        self,
        keys: KeysCollection = PRED,
        threshold: float = 0.5,
        phase_threshold: float | None = None,
        cleanup: LesionCleanup | None = None,
        phase_key: Hashable = PHASE,
        finite_key: Hashable = FINITE,
        probability_key: Hashable = PROBABILITY,
    ) -> None:
        super().__init__(keys)
        self.threshold = as_threshold(threshold)
        self.phase_threshold = None if phase_threshold is None else as_threshold(phase_threshold)
        if cleanup is not None and not isinstance(cleanup, LesionCleanup):
            raise ValueError(f"cleanup: expected a LesionCleanup or None, got {type(cleanup).__name__}")
        self.cleanup = cleanup
        self.phase_key, self.finite_key, self.probability_key = phase_key, finite_key, probability_key

    def phase_rule_applies(self, spacing: tuple[float, ...], has_phase: bool) -> bool:
        """Whether the clean-up's phase-sign rule runs on a scan of ``spacing`` (with a phase image or not)."""
        return self.cleanup is not None and self.cleanup.phase_rule_applies(spacing, has_phase)

    def threshold_for(self, spacing: tuple[float, ...], has_phase: bool) -> float:
        """The threshold of a scan of ``spacing`` (:func:`scan_threshold`)."""
        return scan_threshold(self.threshold, self.phase_threshold, self.phase_rule_applies(spacing, has_phase))

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        require_keys(d, self.keys)
        finite = d.get(self.finite_key)
        finite = None if finite is None else _volume(finite).astype(bool)
        for key in self.key_iterator(d):
            probability = _volume(d[key]).astype(np.float32, copy=False)
            if finite is not None:
                probability = np.where(finite, probability, np.float32(0))
            threshold = self.threshold_for(spacing_of(_affine(d[key])), d.get(self.phase_key) is not None)
            detections = threshold_probability(probability, threshold, probability.shape, finite)
            d[self.probability_key] = _like(d[key], probability)
            d[key] = _like(d[key], detections.astype(np.uint8))
        return d


class LesionCleanupd(MapTransform):
    """Stage 3: :class:`LesionCleanup` on the detections of the input grid, with the brain on that grid (its
    brain-margin rule) and the phase image when there is one (its phase-sign rule).

    Args:
        keys: the detections' key (uint8 ``(1, X, Y, Z)`` MetaTensor with the input's affine), cleaned in place.
        cleanup: the clean-up (default ``LesionCleanup()``).
        brain_key, phase_key: keys of the brain on the input grid and of the phase image.
    """

    stage = "cleanup"

    def __init__(
        self,
        keys: KeysCollection = PRED,
        cleanup: LesionCleanup | None = None,
        brain_key: Hashable = BRAIN_INPUT,
        phase_key: Hashable = PHASE,
    ) -> None:
        super().__init__(keys)
        self.cleanup = LesionCleanup() if cleanup is None else cleanup
        if not isinstance(self.cleanup, LesionCleanup):
            raise ValueError(f"cleanup: expected a LesionCleanup, got {type(self.cleanup).__name__}")
        self.brain_key, self.phase_key = brain_key, phase_key

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        require_keys(d, self.keys)
        brain, phase = d.get(self.brain_key), d.get(self.phase_key)
        for key in self.key_iterator(d):
            affine = _affine(d[key])
            kept, _ = self.cleanup(
                _volume(d[key]),
                spacing_of(affine),
                brain_mask=None if brain is None else _volume(brain),
                phase=None if phase is None else _volume(phase),
                affine=affine,
            )
            d[key] = _like(d[key], kept.astype(np.uint8))
        return d
