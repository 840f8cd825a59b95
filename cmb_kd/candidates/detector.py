"""Stage-1 CMB candidate detector without a learned network: FRST ∪ threshold + morphology, fused."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from monai.utils import look_up_option

from cmb_kd.candidates.candidate import Candidate
from cmb_kd.candidates.dark_spots import dark_spot_score
from cmb_kd.candidates.frst import fast_radial_symmetry
from cmb_kd.candidates.fusion import fuse_candidates
from cmb_kd.checks import (
    as_affine,
    as_mask,
    as_positive,
    as_radii,
    as_volume,
    sequence_of_str,
    spacing_of,
)

__all__ = ["BUILTIN_SOURCES", "CandidateDetector"]

BUILTIN_SOURCES: tuple[str, ...] = ("frst", "dark_spots")
"""Score maps :class:`CandidateDetector` computes itself; learned maps (e.g. ``"fcn"``) are passed in."""


class CandidateDetector:
    """High-sensitivity stage-1 CMB candidates from a T2*/SWI image and a brain mask.

    The screening stage of the two-stage FRST detector (``003_d1ee2ec489957e65``): a 3D fast radial symmetry
    transform (:func:`fast_radial_symmetry`) and threshold + morphology dark spots (:func:`dark_spot_score`)
    are computed on the image's own grid with radii, sizes and distances in mm, each normalised within the
    brain and fused by their maximum, and the de-duplicated local maxima become candidates
    (:func:`fuse_candidates`). Further maps, such as the screening FCN's score map of PLKD
    (``000_2429e8a773e1f797``), join through ``extra_scores``, which is how the high-sensitivity candidate
    stage of ``002_f3b9a2940dcc4c6a`` is completed by a learned source.

    Args:
        sources: built-in sources to compute, a subset of :data:`BUILTIN_SOURCES` (may be empty when every map
            comes through ``extra_scores``).
        radii_mm: FRST radii in mm.
        frst_alpha: FRST radial strictness.
        frst_beta: FRST gradient threshold (fraction of the 99th percentile of the gradient magnitude).
        dark_k: dark-spot threshold in robust SDs.
        background_diameter_mm: dark-spot background (closing) box size in mm.
        diameter_range_mm: accepted equivalent diameters of dark-spot components, mm.
        max_elongation: largest accepted dark-spot elongation ``sqrt(λ1/λ2)``.
        min_score: detection threshold on normalised scores (tail units: 2 = top 1 % of brain voxels).
        nms_radius_mm: candidate de-duplication radius in mm.
        max_candidates: cap on candidates per image.

    Raises:
        ValueError: if a source name is unknown or a parameter is out of range (checked here, before any image).

    Example:
        >>> detector = CandidateDetector()
        >>> candidates = detector(image, brain_mask, affine)          # image (X, Y, Z), affine 4x4
        >>> candidates[0].voxel, candidates[0].mm, candidates[0].sources
    """

    def __init__(
        self,
        *,
        sources: Sequence[str] = BUILTIN_SOURCES,
        radii_mm: Sequence[float] = (1.5, 2.5, 3.5),
        frst_alpha: float = 2.0,
        frst_beta: float = 0.1,
        dark_k: float = 3.0,
        background_diameter_mm: float = 12.0,
        diameter_range_mm: tuple[float, float] = (1.5, 14.0),
        max_elongation: float = 1.8,
        min_score: float = 2.0,
        nms_radius_mm: float = 4.0,
        max_candidates: int = 200,
    ) -> None:
        names = sequence_of_str(sources, "sources")
        self.sources = tuple(look_up_option(name, BUILTIN_SOURCES) for name in names)
        if len(set(self.sources)) != len(self.sources):
            raise ValueError(f"sources: expected distinct names, got {list(names)}")
        self.radii_mm = as_radii(radii_mm, "radii_mm")
        self.frst_alpha = as_positive(frst_alpha, "frst_alpha")
        self.frst_beta = as_positive(frst_beta, "frst_beta", allow_zero=True)
        if self.frst_beta >= 1.0:
            raise ValueError(f"frst_beta: expected a fraction in [0, 1), got {frst_beta}")
        self.dark_k = as_positive(dark_k, "dark_k")
        self.background_diameter_mm = as_positive(background_diameter_mm, "background_diameter_mm")
        try:
            low, high = (float(v) for v in diameter_range_mm)
        except (TypeError, ValueError) as err:
            raise ValueError(f"diameter_range_mm: expected (min, max) in mm, got {diameter_range_mm!r}") from err
        if not (np.isfinite(low) and np.isfinite(high) and 0.0 <= low < high):
            raise ValueError(f"diameter_range_mm: expected 0 <= min < max (finite, mm), got {diameter_range_mm!r}")
        self.diameter_range_mm = (low, high)
        self.max_elongation = as_positive(max_elongation, "max_elongation")
        if self.max_elongation < 1.0:
            raise ValueError(f"max_elongation: expected a ratio >= 1, got {max_elongation}")
        if isinstance(min_score, bool) or not isinstance(min_score, (int, float)) or not np.isfinite(min_score):
            raise ValueError(f"min_score: expected a finite number, got {min_score!r}")
        self.min_score = float(min_score)
        self.nms_radius_mm = as_positive(nms_radius_mm, "nms_radius_mm")
        if isinstance(max_candidates, bool) or not isinstance(max_candidates, int) or max_candidates < 1:
            raise ValueError(f"max_candidates: expected a positive integer, got {max_candidates!r}")
        self.max_candidates = max_candidates

    def score_maps(self, image: np.ndarray, brain_mask: np.ndarray, affine: np.ndarray) -> dict[str, np.ndarray]:
        """Raw (unnormalised) score maps of the built-in sources.

        Args:
            image: 3D image ``(X, Y, Z)``, CMBs dark.
            brain_mask: 3D brain mask of the same shape.
            affine: 4×4 voxel-to-world matrix (mm).

        Returns:
            ``{source name: float32 map (X, Y, Z)}`` for each of ``self.sources``.

        Raises:
            ValueError: if the image, mask or affine is invalid.
        """
        volume = as_volume(image, "image")
        inside = as_mask(brain_mask, volume.shape, "brain_mask")
        spacing = spacing_of(as_affine(affine, "affine"))
        maps: dict[str, np.ndarray] = {}
        if "frst" in self.sources:
            maps["frst"] = fast_radial_symmetry(
                volume, spacing, self.radii_mm, alpha=self.frst_alpha, beta=self.frst_beta, dark=True, mask=inside
            )
        if "dark_spots" in self.sources:
            maps["dark_spots"] = dark_spot_score(
                volume,
                inside,
                spacing,
                k=self.dark_k,
                background_diameter_mm=self.background_diameter_mm,
                diameter_range_mm=self.diameter_range_mm,
                max_elongation=self.max_elongation,
            )
        return maps

    def __call__(
        self,
        image: np.ndarray,
        brain_mask: np.ndarray,
        affine: np.ndarray,
        extra_scores: Mapping[str, np.ndarray] | None = None,
        *,
        extra_normalisation: str = "tail",
    ) -> list[Candidate]:
        """Detect candidates on one image.

        Args:
            image: 3D image ``(X, Y, Z)`` (slice axis last), CMBs dark (T2*-weighted magnitude or SWI), in its own
                positive units: not z-scored (the dark-spot source measures darkening relative to the background).
            brain_mask: 3D brain mask of the same shape (skull-stripped brain).
            affine: 4×4 voxel-to-world matrix (mm) of the image.
            extra_scores: further named score maps of the same shape, higher is more CMB-like (e.g.
                ``{"fcn": probability_map}``); names must differ from the built-in sources.
            extra_normalisation: normalisation of the extra maps (see ``SCORE_NORMALISATIONS``).

        Returns:
            Candidates ordered by decreasing fused score, at most ``max_candidates``.

        Raises:
            ValueError: if an input is invalid, an extra map's name clashes with a built-in source, or there is no
                score map at all.
        """
        maps = self.score_maps(image, brain_mask, affine)
        methods = dict.fromkeys(maps, "tail")
        if extra_scores is not None:
            if not isinstance(extra_scores, Mapping):
                raise ValueError(f"extra_scores: expected a mapping from name to 3D map, got {type(extra_scores)}")
            clash = sorted(set(extra_scores) & set(maps))
            if clash:
                raise ValueError(f"extra_scores: names {clash} clash with the built-in sources {list(maps)}")
            maps.update(extra_scores)
            methods.update(dict.fromkeys(extra_scores, extra_normalisation))
        if not maps:
            raise ValueError("extra_scores: expected at least one score map when sources is empty, got none")
        return fuse_candidates(
            maps,
            brain_mask,
            affine,
            normalisation=methods,
            min_score=self.min_score,
            nms_radius_mm=self.nms_radius_mm,
            max_candidates=self.max_candidates,
        )
