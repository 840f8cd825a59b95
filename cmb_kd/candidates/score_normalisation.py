"""Put score maps from different sources (FRST, dark spots, a screening FCN) on one scale within the brain."""

from __future__ import annotations

import numpy as np
from monai.utils import look_up_option

from cmb_kd.checks import as_mask, as_volume

__all__ = ["SCORE_NORMALISATIONS", "normalise_score_map"]

SCORE_NORMALISATIONS: tuple[str, ...] = ("tail", "robust_z", "none")
"""Valid ``method`` values of :func:`normalise_score_map`."""

_MAD_TO_SD = 1.4826


def normalise_score_map(
    score: np.ndarray,
    brain_mask: np.ndarray,
    *,
    method: str = "tail",
) -> np.ndarray:
    """Normalise one source's score map within the brain so that sources can be fused by their maximum.

    Part of the candidate fusion of the two-stage FRST detector (``003_d1ee2ec489957e65``): FRST and
    threshold + morphology candidates are united so that no CMB is missed, and the screening FCN of PLKD
    (``000_2429e8a773e1f797``) can join as a third source. Methods:

    - ``"tail"``: ``-log10`` of the fraction of brain voxels scoring at least as high (rank-based, unit-free:
      3 means the top 0.1 % of the brain). Sources in any unit (FRST votes, robust SDs, probabilities) become
      comparable, and fusing by the maximum interleaves their rankings.
    - ``"robust_z"``: ``(score - median) / (1.4826·MAD)`` over the brain; raises if the MAD is 0.
    - ``"none"``: the score unchanged (already calibrated, e.g. probabilities).

    Args:
        score: 3D score map ``(X, Y, Z)``, higher is more CMB-like.
        brain_mask: 3D brain mask of the same shape; the output is 0 outside it.
        method: one of :data:`SCORE_NORMALISATIONS`.

    Returns:
        float32 normalised map ``(X, Y, Z)``, 0 outside the brain.

    Raises:
        ValueError: if ``score`` is not a finite 3D array, ``brain_mask`` does not match or is empty, ``method`` is
            unknown, or ``method="robust_z"`` meets a map whose MAD within the brain is 0.
    """
    values = as_volume(score, "score")
    inside = as_mask(brain_mask, values.shape, "brain_mask")
    if not isinstance(method, str):
        raise ValueError(f"method: expected one of {SCORE_NORMALISATIONS}, got {method!r}")
    method = look_up_option(method, SCORE_NORMALISATIONS)
    out = np.zeros(values.shape, np.float32)
    brain = values[inside]
    if method == "none":
        out[inside] = brain
    elif method == "robust_z":
        centre = float(np.median(brain))
        spread = _MAD_TO_SD * float(np.median(np.abs(brain - centre)))
        if spread <= 0.0:
            raise ValueError(
                "score: robust_z needs a spread within brain_mask, got a median absolute deviation of 0 "
                "(a constant or mostly-zero map); use method='tail' for sparse maps"
            )
        out[inside] = (brain - centre) / spread
    else:
        ordered = np.sort(brain)
        at_least = brain.size - np.searchsorted(ordered, brain, side="left")
        out[inside] = -np.log10(at_least / brain.size)
    return out
