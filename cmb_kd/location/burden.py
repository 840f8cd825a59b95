"""CMB burden of one scan: counts per MARS region and side, the burden class and the lobar-pattern flags.

Definitions (a lesion's class is that of its MARS region; ``unlocated`` when it fell outside the atlas):

* **burden class**: ``"0"``, ``"1"``, ``"2-4"`` or ``">=5"`` CMBs in total (located or not);
* **strictly_lobar**: at least one CMB and every CMB lobar (frontal, parietal, temporal, occipital, insula); a
  deep, infratentorial or unlocated CMB makes it false;
* **boston_strictly_lobar_2plus**: the CMB part of the Boston criteria 2.0 for probable cerebral amyloid
  angiopathy (Charidimou et al., Lancet Neurol 2022;21:714-725): two or more lobar CMBs and no CMB in a deep
  region (basal ganglia, thalamus, capsules, corpus callosum, deep or periventricular white matter) or the
  brainstem; cerebellar CMBs are counted as neither lobar nor deep, as the criteria say. An unlocated CMB makes
  it false (it may be deep). The criteria also count intracerebral haemorrhages, cortical superficial siderosis
  and white-matter features and need a clinical presentation and age >= 50; none of that is assessed here, so the
  flag is a count pattern, not a diagnosis;
* **mixed**: at least one lobar CMB and at least one deep or infratentorial CMB.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cmb_kd.location.regions import LOCATION_CLASSES, MARS_REGIONS, OUTSIDE, REGION_CLASS, SIDES, region_code

__all__ = ["BURDEN_CLASSES", "BURDEN_COLUMNS", "Burden", "burden", "burden_class"]

BURDEN_CLASSES: tuple[str, ...] = ("0", "1", "2-4", ">=5")
"""Burden classes by total CMB count, in order."""

_FLAGS = ("strictly_lobar", "boston_strictly_lobar_2plus", "mixed")
BURDEN_COLUMNS: tuple[str, ...] = (
    "n_cmb",
    "burden_class",
    *_FLAGS,
    *(f"n_{name}" for name in (*LOCATION_CLASSES, "unlocated")),
    *(f"n_{side}" for side in SIDES),
    *(f"n_{region}{suffix}" for region in MARS_REGIONS for suffix in ("", *(f"_{side}" for side in SIDES))),
)
"""Columns of :meth:`Burden.as_row`, in order: total, class, flags, counts per class, per side, per region
(total, left, right)."""

#: Regions that rule out the Boston 2.0 strictly-lobar pattern (deep hemorrhagic lesions): deep regions and brainstem.
_BOSTON_DEEP = tuple(r for r in MARS_REGIONS if REGION_CLASS[r] == "deep") + ("brainstem",)


def burden_class(count: Any) -> str:
    """The burden class of a CMB count: ``"0"``, ``"1"``, ``"2-4"`` or ``">=5"``.

    Raises:
        ValueError: ``count`` is not an integer >= 0.
    """
    if isinstance(count, bool) or not hasattr(count, "__index__") or int(count) < 0:
        raise ValueError(f"count: expected an integer >= 0, got {count!r}")
    count = int(count)
    return BURDEN_CLASSES[0 if count == 0 else 1 if count == 1 else 2 if count <= 4 else 3]


@dataclass(frozen=True)
class Burden:
    """CMB counts of one scan and the flags derived from them (see the module docstring).

    Attributes:
        counts: region (``MARS_REGIONS`` and ``outside``) -> side (``left``, ``right``) -> count; every key present.
    """

    counts: dict[str, dict[str, int]]

    @property
    def total(self) -> int:
        """Number of CMBs."""
        return sum(sum(sides.values()) for sides in self.counts.values())

    def region_total(self, region: str) -> int:
        """CMBs in one region (both sides)."""
        region_code(region)
        return sum(self.counts[region].values())

    def class_total(self, name: str) -> int:
        """CMBs of one class (``lobar``, ``deep``, ``infratentorial`` or ``unlocated``)."""
        if name not in (*LOCATION_CLASSES, "unlocated"):
            raise ValueError(f"name: expected one of {', '.join((*LOCATION_CLASSES, 'unlocated'))}, got {name!r}")
        return sum(self.region_total(r) for r, c in REGION_CLASS.items() if c == name)

    @property
    def burden_class(self) -> str:
        """``"0"``, ``"1"``, ``"2-4"`` or ``">=5"``."""
        return burden_class(self.total)

    @property
    def strictly_lobar(self) -> bool:
        """At least one CMB, all lobar."""
        return self.total > 0 and self.class_total("lobar") == self.total

    @property
    def boston_strictly_lobar_2plus(self) -> bool:
        """Two or more lobar CMBs, none deep, in the brainstem or unlocated (cerebellar CMBs ignored)."""
        excluded = sum(self.region_total(r) for r in (*_BOSTON_DEEP, OUTSIDE))
        return self.class_total("lobar") >= 2 and excluded == 0

    @property
    def mixed(self) -> bool:
        """At least one lobar and at least one deep or infratentorial CMB."""
        other = self.class_total("deep") + self.class_total("infratentorial")
        return self.class_total("lobar") > 0 and other > 0

    def as_row(self) -> dict[str, int | str | bool]:
        """A flat mapping of :data:`BURDEN_COLUMNS` (in that order) to values, for one CSV row per scan."""
        row: dict[str, int | str | bool] = {"n_cmb": self.total, "burden_class": self.burden_class}
        row.update({flag: getattr(self, flag) for flag in _FLAGS})
        row.update({f"n_{name}": self.class_total(name) for name in (*LOCATION_CLASSES, "unlocated")})
        row.update({f"n_{side}": sum(s[side] for s in self.counts.values()) for side in SIDES})
        for region in MARS_REGIONS:
            row[f"n_{region}"] = self.region_total(region)
            row.update({f"n_{region}_{side}": self.counts[region][side] for side in SIDES})
        return row

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary: total, class, flags, counts per class and per region and side."""
        return {
            "n_cmb": self.total,
            "burden_class": self.burden_class,
            **{flag: getattr(self, flag) for flag in _FLAGS},
            "by_class": {name: self.class_total(name) for name in (*LOCATION_CLASSES, "unlocated")},
            "by_region": {region: dict(self.counts[region]) for region in (*MARS_REGIONS, OUTSIDE)},
        }


def burden(regions: Sequence[str], sides: Sequence[str]) -> Burden:
    """Counts CMBs per region and side.

    Args:
        regions: region name of each CMB (:data:`~cmb_kd.location.regions.MARS_REGIONS` or ``outside``).
        sides: side of each CMB (``left`` or ``right``), as many as ``regions``.

    Returns:
        The scan's :class:`Burden`.

    Raises:
        ValueError: an unknown region or side, or lengths that differ.
    """
    if isinstance(regions, str) or isinstance(sides, str):
        raise ValueError("regions, sides: expected sequences of names, got a single string")
    regions, sides = list(regions), list(sides)
    if len(regions) != len(sides):
        raise ValueError(f"sides: expected one side per region ({len(regions)}), got {len(sides)}")
    counts = {region: dict.fromkeys(SIDES, 0) for region in (*MARS_REGIONS, OUTSIDE)}
    for region, side in zip(regions, sides):
        region_code(region)
        if side not in SIDES:
            raise ValueError(f"sides: expected one of {', '.join(SIDES)}, got {side!r}")
        counts[region][side] += 1
    return Burden(counts=counts)
