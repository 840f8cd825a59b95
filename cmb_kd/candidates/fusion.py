"""Fuse named score maps by their maximum and pick de-duplicated local maxima as candidates."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from cmb_kd.candidates.candidate import Candidate
from cmb_kd.candidates.non_maximum_suppression import non_maximum_suppression
from cmb_kd.candidates.score_normalisation import SCORE_NORMALISATIONS, normalise_score_map
from cmb_kd.checks import as_affine, as_mask, as_positive, as_volume, spacing_of

__all__ = ["fuse_candidates"]


def _methods(normalisation: str | Mapping[str, str], names: list[str]) -> dict[str, str]:
    if isinstance(normalisation, str):
        return dict.fromkeys(names, normalisation)
    if not isinstance(normalisation, Mapping):
        raise ValueError(
            f"normalisation: expected one of {SCORE_NORMALISATIONS} or a mapping from source name to one, "
            f"got {normalisation!r}"
        )
    missing = [name for name in names if name not in normalisation]
    if missing:
        raise ValueError(f"normalisation: expected a method for every score map, missing {missing} (have {names})")
    return {name: normalisation[name] for name in names}


def fuse_candidates(
    score_maps: Mapping[str, np.ndarray],
    brain_mask: np.ndarray,
    affine: np.ndarray,
    *,
    normalisation: str | Mapping[str, str] = "tail",
    min_score: float = 2.0,
    nms_radius_mm: float = 4.0,
    max_candidates: int = 200,
) -> list[Candidate]:
    """Stage-1 candidates from several score maps: normalise each in the brain, fuse by max, local maxima + NMS.

    The candidate fusion of the two-stage FRST detector (``003_d1ee2ec489957e65``): FRST and threshold +
    morphology candidates are united so that no CMB is missed before the second stage; the high-sensitivity
    candidate stages of ``002_f3b9a2940dcc4c6a`` and PLKD's screening FCN (``000_2429e8a773e1f797``) fit in as
    further named maps. Each map is normalised within the brain (:func:`normalise_score_map`), the fused score is
    the voxel-wise maximum (a union of sources), candidates are the 26-neighbourhood local maxima of the fused
    score inside the brain with fused score >= ``min_score``, greedily de-duplicated within ``nms_radius_mm``
    (mm, so anisotropic grids behave) and capped at ``max_candidates`` highest scores. A candidate's
    ``sources`` are the maps whose normalised score reaches ``min_score`` within ``nms_radius_mm`` of it.

    Args:
        score_maps: named 3D maps ``(X, Y, Z)`` of one shape, higher is more CMB-like (e.g. ``{"frst": ...,
            "dark_spots": ..., "fcn": ...}``).
        brain_mask: 3D brain mask of the same shape; candidates lie inside it.
        affine: 4×4 voxel-to-world matrix (mm); its column norms are the voxel sizes.
        normalisation: one of ``SCORE_NORMALISATIONS`` for every map, or a mapping from map name to one.
        min_score: detection threshold on normalised scores (``"tail"``: 2 is the top 1 % of brain voxels).
        nms_radius_mm: suppression radius in mm.
        max_candidates: cap on the number of candidates (the highest fused scores are kept).

    Returns:
        Candidates ordered by decreasing fused score (at most ``max_candidates``).

    Raises:
        ValueError: if ``score_maps`` is empty, a map is not a finite 3D array or differs in shape, the mask or
            affine is invalid, a normalisation is unknown, or a threshold, radius or cap is out of range.
    """
    maps = _checked_maps(score_maps)
    names = list(maps)
    inside = as_mask(brain_mask, maps[names[0]].shape, "brain_mask")
    matrix = as_affine(affine, "affine")
    spacing = np.asarray(spacing_of(matrix))
    min_score = _checked_min_score(min_score)
    nms_radius_mm = as_positive(nms_radius_mm, "nms_radius_mm")
    if isinstance(max_candidates, bool) or not isinstance(max_candidates, (int, np.integer)) or max_candidates < 1:
        raise ValueError(f"max_candidates: expected a positive integer, got {max_candidates!r}")
    methods = _methods(normalisation, names)

    normalised = {name: normalise_score_map(maps[name], inside, method=methods[name]) for name in names}
    fused = np.maximum.reduce(list(normalised.values())) if len(names) > 1 else normalised[names[0]]
    fused = np.where(inside, fused, -np.inf).astype(np.float32)
    peaks = (fused == ndimage.maximum_filter(fused, size=3, mode="constant", cval=-np.inf)) & (fused >= min_score)
    peaks &= inside
    voxels = np.argwhere(peaks)
    if voxels.shape[0] == 0:
        return []
    scores = fused[tuple(voxels.T)].astype(np.float64)
    kept = non_maximum_suppression(voxels * spacing, scores, nms_radius_mm, max_count=int(max_candidates))
    voxels, scores = voxels[kept], scores[kept]
    world = voxels @ matrix[:3, :3].T + matrix[:3, 3]
    found = _sources_near(normalised, voxels, spacing, min_score, nms_radius_mm)
    return [
        Candidate(
            voxel=(int(v[0]), int(v[1]), int(v[2])),
            mm=(float(w[0]), float(w[1]), float(w[2])),
            score=float(s),
            sources=tuple(sorted(name for name in names if found[name][i])),
        )
        for i, (v, w, s) in enumerate(zip(voxels, world, scores))
    ]


def _checked_maps(score_maps: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The score maps as finite 3D arrays of one shape, in the given order; ValueError otherwise."""
    if not isinstance(score_maps, Mapping) or not score_maps:
        raise ValueError(f"score_maps: expected a non-empty mapping from source name to 3D map, got {score_maps!r}")
    names = list(score_maps)
    if not all(isinstance(name, str) and name for name in names):
        raise ValueError(f"score_maps: expected non-empty string names, got {names}")
    maps = {name: as_volume(score_maps[name], f"score_maps[{name!r}]") for name in names}
    shape = maps[names[0]].shape
    for name, values in maps.items():
        if values.shape != shape:
            raise ValueError(f"score_maps[{name!r}]: expected the shape of {names[0]!r}, {shape}, got {values.shape}")
    return maps


def _checked_min_score(min_score: float) -> float:
    """``min_score`` as a float; ValueError unless it is a finite number (a bool is not)."""
    if (
        isinstance(min_score, bool)
        or not isinstance(min_score, (int, float, np.integer, np.floating))
        or not np.isfinite(min_score)
    ):
        raise ValueError(f"min_score: expected a finite number (normalised score units), got {min_score!r}")
    return float(min_score)


def _sources_near(
    normalised: Mapping[str, np.ndarray],
    voxels: np.ndarray,
    spacing: np.ndarray,
    min_score: float,
    radius_mm: float,
) -> dict[str, np.ndarray]:
    """Per source, whether its normalised map reaches ``min_score`` within ``radius_mm`` of each candidate voxel
    ``(N, 3)``: bool ``(N,)``."""
    found = {}
    for name, values in normalised.items():
        above = np.argwhere(values >= min_score)
        if above.shape[0] == 0:
            found[name] = np.zeros(voxels.shape[0], bool)
            continue
        distance, _ = cKDTree(above * spacing).query(voxels * spacing, k=1, distance_upper_bound=radius_mm + 1e-6)
        found[name] = np.isfinite(distance)
    return found
