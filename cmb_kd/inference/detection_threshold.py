"""The probability threshold of a scan's detections: checked, chosen by whether the phase-sign rule runs, applied."""

from __future__ import annotations

import numpy as np

__all__ = ["as_threshold", "scan_threshold", "threshold_probability"]


def as_threshold(threshold: object) -> float:
    """``threshold`` as a float; ValueError unless it is a probability in (0, 1) (a bool is not).

    Raises:
        ValueError: ``threshold: expected a probability in (0, 1), got ...``.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold < 1:
        raise ValueError(f"threshold: expected a probability in (0, 1), got {threshold!r}")
    return float(threshold)


def scan_threshold(threshold: float, phase_threshold: float | None, phase_rule_runs: bool) -> float:
    """The threshold of one scan: ``phase_threshold`` where the clean-up's phase-sign rule runs on it (it removes
    the calcifications a lower threshold lets in) and one is set, ``threshold`` otherwise."""
    if phase_threshold is not None and phase_rule_runs:
        return phase_threshold
    return threshold


def threshold_probability(
    probability: np.ndarray, threshold: float, input_shape: tuple[int, ...], finite_input: np.ndarray | None
) -> np.ndarray:
    """The voxels of a probability map at or above ``threshold``, none where the input has no value.

    Args:
        probability: float ``(X, Y, Z)`` probability on the input grid.
        threshold: probability threshold, in (0, 1).
        input_shape: the input's shape, which ``probability`` must have.
        finite_input: bool ``(X, Y, Z)``, the input voxels holding a value (not NaN), or None when all do.

    Returns:
        bool detections ``(X, Y, Z)``.

    Raises:
        ValueError: for a map not of the input's shape.
    """
    if tuple(probability.shape) != tuple(input_shape):
        raise ValueError(
            f"probability: expected the input's shape {tuple(input_shape)}, got {tuple(probability.shape)}"
        )
    detections = probability >= threshold
    if finite_input is not None:
        detections &= finite_input  # no detection where the input has no value (NaN)
    return detections
