"""Description of a vessel tree: segments with centrelines, radii, parents and names, and what follows from it.

A :class:`VesselTree` lists its segments parents first. Each segment starts on a point of its parent (a root
starts where blood enters); the communicating arteries of the circle of Willis also end on another segment
(``joins``), which closes the circle without making the description anything but a tree of parents.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["VesselSegment", "VesselTree", "resample_path"]


def resample_path(points: np.ndarray, step: float) -> np.ndarray:
    """Points at equal arc-length steps of at most ``step`` along a polyline, both ends kept.

    Args:
        points: polyline (N, 3), N >= 1.
        step: largest distance between consecutive output points (same unit as ``points``).

    Returns:
        (M, 3) float64 points; a polyline of one point (or of zero length) is returned as it is.
    """
    points = np.asarray(points, dtype=np.float64)
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    if len(points) < 2 or arc[-1] <= 0:
        return points.copy()
    n = max(2, int(np.ceil(arc[-1] / step)) + 1)
    target = np.linspace(0.0, arc[-1], n)
    return np.stack([np.interp(target, arc, points[:, k]) for k in range(3)], axis=1)


@dataclass
class VesselSegment:
    """One vessel segment of a :class:`VesselTree`.

    Attributes:
        name: the artery's name for the named arteries (``"basilar"``, ``"middle_cerebral_l"``, ...),
            ``"branch"`` for a grown one.
        points: centreline (N, 3) in mm, from where it leaves its parent (or where blood enters a root) onward.
        radii: radius (N,) in mm at each point.
        parent: index of the parent segment, -1 for a root.
        parent_point: index of the parent's point this segment starts at, -1 for a root.
        generation: depth in the tree (roots 0).
        joins: index of the segment whose centreline this one's end meets, -1 for none.
    """

    name: str
    points: np.ndarray
    radii: np.ndarray
    parent: int = -1
    parent_point: int = -1
    generation: int = 0
    joins: int = -1

    def __post_init__(self) -> None:
        self.points = np.asarray(self.points, dtype=np.float64).reshape(-1, 3)
        self.radii = np.asarray(self.radii, dtype=np.float64).reshape(-1)
        if len(self.points) < 2 or len(self.radii) != len(self.points):
            raise ValueError(
                f"VesselSegment {self.name!r}: expected at least 2 points and one radius per point, got "
                f"{len(self.points)} points and {len(self.radii)} radii"
            )
        if not (np.isfinite(self.points).all() and np.all(self.radii > 0)):
            raise ValueError(f"VesselSegment {self.name!r}: expected finite points and positive radii")

    @property
    def length(self) -> float:
        """Centreline length in mm."""
        return float(np.linalg.norm(np.diff(self.points, axis=0), axis=1).sum())


@dataclass
class VesselTree:
    """Segments listed parents first (see :class:`VesselSegment`)."""

    segments: list[VesselSegment] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.segments)

    def add(self, segment: VesselSegment) -> int:
        """Appends ``segment`` and returns its index.

        Raises:
            ValueError: if its parent is not already in the tree or its parent point is not a point of the parent.
        """
        if segment.parent >= len(self.segments) or segment.parent < -1:
            raise ValueError(f"VesselTree.add: parent {segment.parent} of {segment.name!r} is not in the tree yet")
        if segment.parent >= 0 and not 0 <= segment.parent_point < len(self.segments[segment.parent].points):
            raise ValueError(f"VesselTree.add: parent_point {segment.parent_point} of {segment.name!r} is out of range")
        self.segments.append(segment)
        return len(self.segments) - 1

    def children(self, index: int) -> list[int]:
        """Indices of the segments whose parent is ``index``."""
        return [i for i, s in enumerate(self.segments) if s.parent == index]

    def index(self, name: str) -> int:
        """Index of the first segment called ``name``.

        Raises:
            KeyError: if no segment has that name.
        """
        for i, segment in enumerate(self.segments):
            if segment.name == name:
                return i
        raise KeyError(f"VesselTree: no segment called {name!r}")

    def accumulate(self, increments: Callable[[VesselSegment], np.ndarray]) -> list[np.ndarray]:
        """A quantity summed from the roots along every path, e.g. path length or travel time.

        Args:
            increments: maps a segment to its (N - 1,) increments between consecutive points.

        Returns:
            Per segment, (N,) values: the parent's value at the branch point (0 for a root) plus the cumulative
            increments.
        """
        values: list[np.ndarray] = []
        for segment in self.segments:
            start = values[segment.parent][segment.parent_point] if segment.parent >= 0 else 0.0
            values.append(start + np.concatenate([[0.0], np.cumsum(increments(segment))]))
        return values

    def path_lengths(self) -> list[np.ndarray]:
        """Distance in mm along the vessels from the start of the root, at every point of every segment."""
        return self.accumulate(lambda s: np.linalg.norm(np.diff(s.points, axis=0), axis=1))

    def transformed(self, matrix: np.ndarray, offset: np.ndarray, radius_scale: float) -> VesselTree:
        """The tree under the affine map ``p -> matrix @ p + offset``, radii times ``radius_scale``."""
        matrix, offset = np.asarray(matrix, dtype=np.float64), np.asarray(offset, dtype=np.float64)
        return VesselTree(
            [
                VesselSegment(
                    s.name,
                    s.points @ matrix.T + offset,
                    s.radii * radius_scale,
                    s.parent,
                    s.parent_point,
                    s.generation,
                    s.joins,
                )  # fmt: skip
                for s in self.segments
            ]
        )

    def record(self, step_mm: float = 1.0, decimals: int = 2) -> list[dict]:
        """JSON-serialisable description: per segment its name, parent, generation, joins and its points and radii
        about every ``step_mm`` (ends kept; ``parent_point`` indexes the parent's stored points).

        Args:
            step_mm: spacing of the stored points along each centreline.
            decimals: decimals of the stored millimetres.

        Returns:
            One dict per segment, in tree order.
        """
        kept = [self._kept_points(s, step_mm) for s in self.segments]
        out = []
        for segment, keep in zip(self.segments, kept, strict=True):
            parent_point = -1
            if segment.parent >= 0:
                parent_point = int(np.argmin(np.abs(kept[segment.parent] - segment.parent_point)))
            out.append(
                {
                    "name": segment.name,
                    "parent": segment.parent,
                    "parent_point": parent_point,
                    "generation": segment.generation,
                    "joins": segment.joins,
                    "length_mm": round(segment.length, decimals),
                    "points_mm": np.round(segment.points[keep], decimals).tolist(),
                    "radii_mm": np.round(segment.radii[keep], 3).tolist(),
                }
            )
        return out

    @staticmethod
    def _kept_points(segment: VesselSegment, step_mm: float) -> np.ndarray:
        arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(segment.points, axis=0), axis=1))])
        keep = np.unique(np.searchsorted(arc, np.arange(0.0, arc[-1], step_mm)))
        return np.unique(np.concatenate([keep, [len(arc) - 1]]))

    @classmethod
    def from_record(cls, record: list[dict]) -> VesselTree:
        """The tree a :meth:`record` describes (at the stored resolution)."""
        return cls(
            [
                VesselSegment(
                    s["name"],
                    np.array(s["points_mm"]),
                    np.array(s["radii_mm"]),
                    s["parent"],
                    s["parent_point"],
                    s["generation"],
                    s["joins"],
                )  # fmt: skip
                for s in record
            ]
        )
