"""Stage-1 CMB candidate screening: 3D FRST, threshold + morphology dark spots and the screening FCN's score map,
normalised max-fusion with NMS."""

from cmb_kd.candidates.candidate import Candidate
from cmb_kd.candidates.component_shape import component_shape, principal_variances
from cmb_kd.candidates.dark_spots import dark_spot_score
from cmb_kd.candidates.detector import BUILTIN_SOURCES, CandidateDetector
from cmb_kd.candidates.frst import fast_radial_symmetry
from cmb_kd.candidates.fusion import fuse_candidates
from cmb_kd.candidates.non_maximum_suppression import non_maximum_suppression
from cmb_kd.candidates.score_normalisation import SCORE_NORMALISATIONS, normalise_score_map
from cmb_kd.candidates.screening_map import ScreeningScoreMap

__all__ = [
    "BUILTIN_SOURCES",
    "SCORE_NORMALISATIONS",
    "Candidate",
    "CandidateDetector",
    "ScreeningScoreMap",
    "component_shape",
    "dark_spot_score",
    "fast_radial_symmetry",
    "fuse_candidates",
    "non_maximum_suppression",
    "normalise_score_map",
    "principal_variances",
]
