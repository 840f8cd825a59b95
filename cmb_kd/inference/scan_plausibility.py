"""Plausibility of a loaded scan as a T2*/SWI magnitude image: refuse masks and label maps, warn about the doubtful.

A file that loads cleanly can still be the wrong kind of image: a brain mask or a label map given as the scan, an
intensity-inverted scan, a phase or signed image, or slices far thicker than the model supports. The detector runs
on any of them and reports CMBs that mean nothing, so :func:`check_scan_plausibility` looks at the voxels and the
affine before detection: it refuses what cannot be a magnitude scan and returns one-line warnings for the rest.
"""

from __future__ import annotations

import os

import numpy as np

from cmb_kd.checks import as_affine, spacing_of
from cmb_kd.io import InputError

__all__ = ["MAX_SLICE_MM", "TRAINED_MAX_SLICE_MM", "check_scan_plausibility"]

MAX_SLICE_MM = 5.0
"""Thickest voxel (mm) the model is validated for: the model card's "do not rely on it on slices thicker than about
5 mm", and the limit above which the clean-up's phase-sign rule does not run (``CleanupRules.phase_max_spacing_mm``)."""

TRAINED_MAX_SLICE_MM = 8.0
"""Thickest voxel (mm) the model saw in training (the ×8 acquisitions of the 1 mm simulator grid)."""

_EXPECTED = "a T2*/SWI magnitude scan (non-negative intensities with hundreds of distinct values or more)"
"""What a refused image was expected to be (the ``expected`` part of the :class:`InputError`)."""

_MAX_DISTINCT_VALUES = 16
_PIECEWISE_CONSTANT_SHARE = 0.8
_MIN_NEIGHBOUR_PAIRS = 100
_SPARSE_SHARE = 0.01
_BRIGHT_FACE_MARGIN = 0.25
_MIN_BRIGHT_FACES = 4
_NEGATIVE_SHARE = 0.1
_NEGATIVE_AMPLITUDE = 0.01
_SAMPLE_SIZE = 1 << 18
_SLICE_TOLERANCE_MM = 1e-3


def check_scan_plausibility(
    data: np.ndarray,
    affine: np.ndarray,
    source: str | os.PathLike = "image",
    *,
    max_slice_mm: float = MAX_SLICE_MM,
) -> tuple[str, ...]:
    """Refuse an image that cannot be a T2*/SWI magnitude scan; return warnings about one that may not be.

    Non-finite voxels (e.g. the NaN background of a skull-stripped VALDO scan) are ignored throughout.

    Refused, with an :class:`InputError` (the criteria are met by masks and label maps, never by a magnitude scan,
    which holds a continuum of noisy intensities: hundreds of distinct values even when stored as uint8, and
    neighbouring voxels that rarely share their exact value):

    - **few values**: at most 16 distinct values (a binary mask, a label map such as VALDO's 0-3 grades or a
      tissue map);
    - **piecewise constant**: integer values of which, outside the most frequent (background) value, at least 80 %
      of face-neighbouring voxel pairs hold the same value (a label map with many labels). Uint8 and int16
      magnitude scans of the simulator give at most 19 %, and a real scan would have to be up-sampled by nearest
      neighbour by a factor of 5 along every axis to reach 80 %;
    - **sparse**: integer values of which fewer than 1 % differ from the most frequent one (an instance-labelled
      lesion map): a head scan, even skull-stripped in a large field of view, fills far more of its volume;
    - **no positive intensity**: every voxel at or below zero.

    Warned (one short line each; they are warnings, not refusals, because an unusual but real acquisition could
    meet them, and the user can judge the result):

    - **inverted contrast**: in a magnitude scan the background at the faces of the volume (air, or the zero of a
      skull-stripped scan) is darker than the centre of the head. The check compares, for each of the six
      one-voxel faces whose voxels are at least half finite, the median with the median of the central box (the
      middle half of every axis); a face is bright when it exceeds the centre by a quarter of the image's robust
      range (1st to 99th percentile). Four or more bright faces warn: the simulator's scans at every resolution,
      whole-head and skull-stripped, have all six faces at least 0.59 of that range darker than the centre, their
      inverted versions all six at least 0.59 brighter. Four faces are needed so that a thick-slice scan whose
      first and last slices cut through the head never warns. A volume whose faces are non-finite (a NaN
      background) cannot be judged this way and is not warned about; neither is a scan inverted only inside the
      brain with its background set back to zero (the brain's own histogram is too variable to tell);
    - **signed intensities**: more than 10 % of the voxels below -1 % of the largest absolute value (a phase image,
      or a scan already z-scored); magnitude scans are non-negative, interpolation leaves at most a thin rim of
      small negative values;
    - **thick slices**: the largest voxel size above ``max_slice_mm`` (the model card's validated range; the
      clean-up's phase-sign rule does not run there), with a stronger text beyond the 8 mm seen in training.

    Args:
        data: the scan ``(X, Y, Z)`` (float32 as loaded by :func:`load_scan`; any real dtype is accepted).
        affine: its 4x4 voxel-to-world affine (mm); only its voxel sizes (column norms) are used.
        source: the file the scan comes from, or a name for an array, used in the error message.
        max_slice_mm: largest voxel size in mm above which the thick-slice warning is given.

    Returns:
        The warnings, each one line without the source's name (empty for a plausible scan).

    Raises:
        InputError: (a ``ValueError``) naming ``source``, the problem and the image expected, for a mask, a label
            map, an image without a finite voxel or one whose voxels are all at or below zero.
        ValueError: for ``data`` that is not a 3D real array, a bad ``affine`` or a ``max_slice_mm`` that is not a
            positive number.
    """
    volume, matrix = _checked_arguments(data, affine, max_slice_mm)
    finite = np.isfinite(volume)
    all_finite = bool(finite.all())
    values = volume.reshape(-1) if all_finite else volume[finite]
    if values.size == 0:
        raise InputError(source, f"no finite voxel among {volume.size}", _EXPECTED)
    sample = values[:: max(1, values.size // _SAMPLE_SIZE)]

    _refuse_labels(volume, finite if not all_finite else None, values, sample, source)
    largest = float(values.max())
    if largest <= 0:
        raise InputError(
            source,
            f"no positive intensity (every voxel at or below 0; values from {float(values.min()):g} to {largest:g})",
            _EXPECTED,
        )
    warnings = _contrast_warnings(volume, values, sample, largest)
    thick = _thick_slice_warning(max(spacing_of(matrix)), max_slice_mm)
    return tuple(warnings if thick is None else [*warnings, thick])


def _checked_arguments(data: np.ndarray, affine: np.ndarray, max_slice_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """``data`` as a float32 3D volume and ``affine`` as a float64 4x4 matrix; ValueError for a volume that is not
    real and 3D, a bad affine or a ``max_slice_mm`` that is not a positive number."""
    volume = np.asarray(data)
    if volume.ndim != 3 or not (np.issubdtype(volume.dtype, np.number) or volume.dtype == np.bool_):
        raise ValueError(f"data: expected a real 3D volume (X, Y, Z), got shape {volume.shape}, dtype {volume.dtype}")
    if np.iscomplexobj(volume):
        raise ValueError(f"data: expected real voxel values, got dtype {volume.dtype}")
    matrix = as_affine(affine)
    if isinstance(max_slice_mm, bool) or not isinstance(max_slice_mm, (int, float)) or not max_slice_mm > 0:
        raise ValueError(f"max_slice_mm: expected a positive number of mm, got {max_slice_mm!r}")
    return volume.astype(np.float32, copy=False), matrix


def _contrast_warnings(volume: np.ndarray, values: np.ndarray, sample: np.ndarray, largest: float) -> list[str]:
    """The inverted-contrast and signed-intensity warnings of a volume whose finite voxels are ``values`` (sampled
    as ``sample``; ``largest`` the maximum)."""
    warnings = []
    low, high = (float(q) for q in np.percentile(sample, (1.0, 99.0)))
    bright = _bright_faces(volume, low, high)
    if bright >= _MIN_BRIGHT_FACES:
        warnings.append(
            f"{bright} of the 6 faces of the volume are brighter than its centre: the contrast looks inverted "
            "(a magnitude scan has a dark background)"
        )
    scale = max(abs(float(values.min())), largest)
    negative = float(np.count_nonzero(sample < -_NEGATIVE_AMPLITUDE * scale)) / sample.size
    if negative > _NEGATIVE_SHARE:
        warnings.append(
            f"{negative:.0%} of the voxels are negative: a magnitude scan is non-negative (a phase image or an "
            "intensity-normalised scan?)"
        )
    return warnings


def _thick_slice_warning(thickest: float, max_slice_mm: float) -> str | None:
    """The warning about a largest voxel size of ``thickest`` mm, stronger beyond :data:`TRAINED_MAX_SLICE_MM`, or
    None up to ``max_slice_mm``."""
    if thickest <= max_slice_mm + _SLICE_TOLERANCE_MM:
        return None
    if thickest > TRAINED_MAX_SLICE_MM + _SLICE_TOLERANCE_MM:
        return (
            f"slices of {thickest:.3g} mm are thicker than the {TRAINED_MAX_SLICE_MM:g} mm the model was trained "
            f"on (validated up to {max_slice_mm:g} mm): detections are unreliable"
        )
    return (
        f"slices of {thickest:.3g} mm are thicker than the {max_slice_mm:g} mm the model is validated for: "
        "expect missed CMBs, and the phase-sign rule does not run"
    )


def _refuse_labels(
    volume: np.ndarray, finite: np.ndarray | None, values: np.ndarray, sample: np.ndarray, source: str | os.PathLike
) -> None:
    if np.unique(sample).size <= _MAX_DISTINCT_VALUES:
        distinct = np.unique(values)
        if distinct.size <= _MAX_DISTINCT_VALUES:
            raise InputError(
                source,
                f"only {distinct.size} distinct voxel value(s) ({_listing(distinct)}): a mask or a label map, not a "
                "scan",
                _EXPECTED,
            )
    if not np.array_equal(sample, np.round(sample)) or not np.array_equal(values, np.round(values)):
        return
    sampled, counts = np.unique(sample, return_counts=True)
    background = float(sampled[int(np.argmax(counts))])
    foreground = np.count_nonzero(values != background)
    if foreground < _SPARSE_SHARE * values.size:
        raise InputError(
            source,
            f"integer image with {foreground} of {values.size} voxels ({foreground / values.size:.2%}) differing from "
            f"its background value {background:g}: a lesion or label map, not a scan",
            _EXPECTED,
        )
    share = _equal_neighbour_share(volume, finite, background)
    if share is not None and share >= _PIECEWISE_CONSTANT_SHARE:
        n_distinct = np.unique(values).size
        raise InputError(
            source,
            f"piecewise-constant integer image ({n_distinct} distinct values; {share:.0%} of neighbouring voxels "
            "outside the background share their value): a label map, not a scan",
            _EXPECTED,
        )


def _equal_neighbour_share(volume: np.ndarray, finite: np.ndarray | None, background: float) -> float | None:
    """Mean over the three axes of the share of face-neighbour pairs with equal values, among the pairs of finite
    voxels not both at ``background``; None when an axis has too few such pairs to judge."""
    shares = []
    for axis in range(3):
        if volume.shape[axis] < 2:
            return None
        head = (slice(None),) * axis + (slice(0, -1),)
        tail = (slice(None),) * axis + (slice(1, None),)
        first, second = volume[head], volume[tail]
        relevant = (first != background) | (second != background)
        if finite is not None:
            relevant &= finite[head] & finite[tail]
        n_pairs = int(np.count_nonzero(relevant))
        if n_pairs < _MIN_NEIGHBOUR_PAIRS:
            return None
        shares.append(np.count_nonzero((first == second) & relevant) / n_pairs)
    return float(np.mean(shares))


def _bright_faces(volume: np.ndarray, low: float, high: float) -> int:
    """How many of the six one-voxel faces have a median above the central box's by a quarter of ``high - low``
    (faces less than half finite are not counted)."""
    centre = volume[tuple(slice(n // 4, n - n // 4) for n in volume.shape)]
    centre = centre[np.isfinite(centre)]
    if centre.size == 0:
        return 0
    centre_median = float(np.median(centre))
    margin = _BRIGHT_FACE_MARGIN * (high - low)
    bright = 0
    for axis in range(3):
        for index in (0, volume.shape[axis] - 1):
            face = np.take(volume, index, axis=axis)
            kept = face[np.isfinite(face)]
            if kept.size == 0 or kept.size < 0.5 * face.size:
                continue
            if float(np.median(kept)) - centre_median > margin:
                bright += 1
    return bright


def _listing(distinct: np.ndarray) -> str:
    shown = ", ".join(f"{float(v):g}" for v in distinct[:8])
    return shown if distinct.size <= 8 else f"{shown}, ..."
