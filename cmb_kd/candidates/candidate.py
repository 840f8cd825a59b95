"""One stage-1 CMB candidate: where it is, how strong, and which sources found it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Candidate"]


@dataclass(frozen=True)
class Candidate:
    """A stage-1 candidate (a local maximum of the fused score map that survived non-maximum suppression).

    Attributes:
        voxel: centre in voxel indices ``(i, j, k)`` of the image grid (slice axis last).
        mm: centre in world mm (the voxel centre through the image's 4×4 affine).
        score: fused score at the centre (the maximum over the normalised source maps).
        sources: names of the sources whose normalised map reaches the detection threshold within the
            suppression radius of the centre, sorted (e.g. ``("dark_spots", "frst")``).
    """

    voxel: tuple[int, int, int]
    mm: tuple[float, float, float]
    score: float
    sources: tuple[str, ...]

    def as_dict(self) -> dict:
        """A JSON-serialisable row (``voxel``, ``mm``, ``score``, ``sources``)."""
        return {"voxel": list(self.voxel), "mm": list(self.mm), "score": self.score, "sources": list(self.sources)}
