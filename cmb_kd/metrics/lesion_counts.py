"""Lesion-level and voxel-level counts of one subject (or of a pooled cohort)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields

__all__ = ["LesionCounts"]


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator > 0 else math.nan


@dataclass(frozen=True)
class LesionCounts:
    """Counts from which every detection and segmentation metric of the project is derived.

    The definitions follow Table 2 of the PLKD / E²U-Net paper (``000``): lesion-level TPR, PPV and F1 from
    matched connected components, voxel-level Dice from voxel counts. How components are matched is described in
    :func:`cmb_kd.metrics.compute_lesion_counts`. Counts of several subjects add up with ``+`` (micro pooling).

    Attributes:
        tp: reference lesions matched one-to-one by a predicted component (true positives).
        fp: predicted components that match no reference lesion at all (false positives).
        fn: reference lesions left unmatched (false negatives).
        duplicates: predicted components that touch a reference lesion already matched by another predicted
            component; they are neither TP nor FP.
        voxel_tp: voxels predicted and in the reference.
        voxel_fp: voxels predicted but not in the reference.
        voxel_fn: voxels in the reference but not predicted.
    """

    tp: int = 0
    fp: int = 0
    fn: int = 0
    duplicates: int = 0
    voxel_tp: int = 0
    voxel_fp: int = 0
    voxel_fn: int = 0

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{field.name}: expected a non-negative integer, got {value!r}")

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """Returns the names of the count fields, in the order of :meth:`as_tuple`."""
        return tuple(field.name for field in fields(cls))

    @classmethod
    def from_sequence(cls, values: Sequence[float]) -> LesionCounts:
        """Builds counts from a sequence in the order of :meth:`field_names` (e.g. a row of a metric buffer).

        Args:
            values: seven non-negative whole numbers.

        Returns:
            The counts.

        Raises:
            ValueError: when ``values`` does not hold seven non-negative whole numbers.
        """
        names = cls.field_names()
        values = list(values)
        if len(values) != len(names):
            raise ValueError(f"values must hold {len(names)} counts {names}, got {len(values)}: {values!r}.")
        integers = []
        for name, value in zip(names, values):
            number = float(value)
            if not number.is_integer():
                raise ValueError(f"values[{name}]: expected a whole number, got {value!r}")
            integers.append(int(number))
        return cls(*integers)

    def as_tuple(self) -> tuple[int, ...]:
        """Returns the counts in the order of :meth:`field_names`."""
        return astuple(self)

    def __add__(self, other: LesionCounts) -> LesionCounts:
        if not isinstance(other, LesionCounts):
            return NotImplemented
        return LesionCounts(*(a + b for a, b in zip(self.as_tuple(), other.as_tuple())))

    @property
    def n_ref(self) -> int:
        """Number of reference lesions (``tp + fn``)."""
        return self.tp + self.fn

    @property
    def n_pred(self) -> int:
        """Number of predicted components (``tp + fp + duplicates``)."""
        return self.tp + self.fp + self.duplicates

    @property
    def tpr(self) -> float:
        """Lesion-level sensitivity ``TP / (TP + FN)``; nan when there is no reference lesion."""
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def ppv(self) -> float:
        """Lesion-level precision ``TP / (TP + FP)``; nan when there is neither a TP nor an FP."""
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def f1(self) -> float:
        """Lesion-level F1 ``2·TP / (2·TP + FP + FN)``.

        This equals ``2·TPR·PPV / (TPR + PPV)`` whenever TPR and PPV are defined and not both zero; it is 0 when
        there are errors but no TP, and nan only when ``TP + FP + FN = 0``.
        """
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    @property
    def dice(self) -> float:
        """Voxel-level Dice ``2·TP / (2·TP + FP + FN)`` on voxels; nan when both masks are empty."""
        return _ratio(2 * self.voxel_tp, 2 * self.voxel_tp + self.voxel_fp + self.voxel_fn)
