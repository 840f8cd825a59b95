"""Voxel, centreline and fragment counts of one vessel segmentation (or of a pooled cohort)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields

__all__ = ["VesselCounts"]


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator > 0 else math.nan


def _harmonic(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b):
        return math.nan
    return 2.0 * a * b / (a + b) if a + b > 0 else 0.0


@dataclass(frozen=True)
class VesselCounts:
    """Counts from which every vessel segmentation metric of the project is derived.

    Voxel metrics as in KT-ViT (``001``, Sec. 4.1): sensitivity TP/(TP+FN), precision TP/(TP+FP), Dice
    2TP/(2TP+FP+FN). Connectivity, which voxel overlap hides (a vessel cut in two loses few voxels):

    - centreline continuity, clDice's topology precision |S(P) ∩ R| / |S(P)| and topology sensitivity
      |S(R) ∩ P| / |S(R)|, with S the skeleton of :func:`~cmb_kd.metrics.skeletonize`, P the prediction and R the
      reference, and clDice their harmonic mean;
    - the number of connected fragments of the prediction against the reference's (a prediction broken into
      pieces, or with spurious blobs, has more).

    Counts of several subjects add up with ``+`` (micro pooling).

    Attributes:
        voxel_tp: voxels predicted and in the reference.
        voxel_fp: voxels predicted but not in the reference.
        voxel_fn: voxels in the reference but not predicted.
        skeleton_pred: voxels of the prediction's skeleton.
        skeleton_pred_in_ref: of those, the voxels inside the reference.
        skeleton_ref: voxels of the reference's skeleton.
        skeleton_ref_in_pred: of those, the voxels inside the prediction.
        fragments_pred: connected components of the prediction.
        fragments_ref: connected components of the reference.
    """

    voxel_tp: int = 0
    voxel_fp: int = 0
    voxel_fn: int = 0
    skeleton_pred: int = 0
    skeleton_pred_in_ref: int = 0
    skeleton_ref: int = 0
    skeleton_ref_in_pred: int = 0
    fragments_pred: int = 0
    fragments_ref: int = 0

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{field.name}: expected a non-negative integer, got {value!r}")
        for part, whole in (("skeleton_pred_in_ref", "skeleton_pred"), ("skeleton_ref_in_pred", "skeleton_ref")):
            if getattr(self, part) > getattr(self, whole):
                raise ValueError(
                    f"{part}: expected at most {whole} ({getattr(self, whole)}), got {getattr(self, part)}"
                )

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """Returns the names of the count fields, in the order of :meth:`as_tuple`."""
        return tuple(field.name for field in fields(cls))

    @classmethod
    def from_sequence(cls, values: Sequence[float]) -> VesselCounts:
        """Builds counts from a sequence in the order of :meth:`field_names` (e.g. a row of a metric buffer).

        Args:
            values: nine non-negative whole numbers.

        Raises:
            ValueError: for a sequence of another length or a value that is not a non-negative whole number.
        """
        names = cls.field_names()
        values = list(values)
        if len(values) != len(names):
            raise ValueError(f"values: expected {len(names)} counts ({', '.join(names)}), got {len(values)}")
        whole = []
        for name, value in zip(names, values):
            number = float(value)
            if not number.is_integer():
                raise ValueError(f"{name}: expected a whole number, got {value!r}")
            whole.append(int(number))
        return cls(*whole)

    def as_tuple(self) -> tuple[int, ...]:
        """Returns the counts in the order of :meth:`field_names`."""
        return astuple(self)

    def __add__(self, other: VesselCounts) -> VesselCounts:
        if not isinstance(other, VesselCounts):
            return NotImplemented
        return VesselCounts(*(a + b for a, b in zip(self.as_tuple(), other.as_tuple())))

    @property
    def sensitivity(self) -> float:
        """Voxel sensitivity TP / (TP + FN); nan for an empty reference."""
        return _ratio(self.voxel_tp, self.voxel_tp + self.voxel_fn)

    @property
    def precision(self) -> float:
        """Voxel precision TP / (TP + FP); nan for an empty prediction."""
        return _ratio(self.voxel_tp, self.voxel_tp + self.voxel_fp)

    @property
    def dice(self) -> float:
        """Voxel Dice 2TP / (2TP + FP + FN); nan when both masks are empty."""
        return _ratio(2 * self.voxel_tp, 2 * self.voxel_tp + self.voxel_fp + self.voxel_fn)

    @property
    def cl_precision(self) -> float:
        """Topology precision |S(P) ∩ R| / |S(P)|: how much of the predicted centrelines are vessels."""
        return _ratio(self.skeleton_pred_in_ref, self.skeleton_pred)

    @property
    def cl_sensitivity(self) -> float:
        """Topology sensitivity |S(R) ∩ P| / |S(R)|: how much of the true centrelines the prediction covers."""
        return _ratio(self.skeleton_ref_in_pred, self.skeleton_ref)

    @property
    def cldice(self) -> float:
        """clDice, the harmonic mean of :attr:`cl_precision` and :attr:`cl_sensitivity` (nan if one is nan)."""
        return _harmonic(self.cl_precision, self.cl_sensitivity)

    @property
    def fragment_ratio(self) -> float:
        """Fragments of the prediction per fragment of the reference: 1 is as connected as the truth."""
        return _ratio(self.fragments_pred, self.fragments_ref)
