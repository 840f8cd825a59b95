"""Tissue properties for GRE simulation: proton density, R2* at 1.5 T and 3 T, and susceptibility.

Representative literature values (sources and ranges in docs/data.md). R2* is interpolated
linearly in B0 between the 1.5 T and 3 T values (and extrapolated along the same line), which is
how the susceptibility-driven part of R2* behaves. Susceptibility is in ppm (SI) relative to
water; air is +9.4 ppm relative to water.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Tissue", "TISSUES", "FLOW_VOID", "tissue_properties"]


@dataclass(frozen=True)
class Tissue:
    """Properties of one tissue class.

    Args:
        name: tissue name.
        proton_density: relative proton density (water = 1).
        r2star_15: R2* at 1.5 T in 1/s.
        r2star_30: R2* at 3 T in 1/s.
        susceptibility: volume susceptibility relative to water in ppm (SI).
    """

    name: str
    proton_density: float
    r2star_15: float
    r2star_30: float
    susceptibility: float

    def r2star(self, b0: float) -> float:
        """R2* in 1/s at field strength ``b0`` (tesla), linear in B0 through the 1.5 T and 3 T values."""
        slope = (self.r2star_30 - self.r2star_15) / 1.5
        return max(self.r2star_15 + slope * (b0 - 1.5), 0.5)


TISSUES: dict[str, Tissue] = {
    t.name: t
    for t in (
        Tissue("csf", 1.00, 2.5, 3.3, 0.0),
        Tissue("gm", 0.80, 11.9, 15.2, 0.02),
        Tissue("wm", 0.69, 15.1, 18.8, -0.03),
        Tissue("deep_gm", 0.78, 19.0, 32.0, 0.09),
        Tissue("vein", 0.85, 30.0, 75.0, 0.45),
        Tissue("skull", 0.05, 150.0, 300.0, -2.0),
        Tissue("scalp", 0.95, 20.0, 28.0, 0.6),
        Tissue("air", 0.0, 0.0, 0.0, 9.4),
        Tissue("cmb", 0.40, 150.0, 300.0, 0.0),  # susceptibility drawn per lesion
        Tissue("calcification", 0.30, 60.0, 100.0, 0.0),  # susceptibility drawn per lesion
    )
}
#: Fast-flowing blood whose spins leave the slice before the echo (a flow void): no signal, about the
#: susceptibility of oxygenated (arterial) blood, i.e. of water. Not part of :data:`TISSUES`.
FLOW_VOID = Tissue("flow_void", 0.0, 10.0, 10.0, 0.0)


def tissue_properties(b0: float, rng: np.random.Generator | None = None, jitter: float = 0.0) -> dict[str, Tissue]:
    """Tissue table at ``b0`` with optional per-subject jitter.

    Args:
        b0: field strength in tesla.
        rng: generator for the jitter; required when ``jitter > 0``.
        jitter: relative standard deviation of a multiplicative jitter of R2* and susceptibility of the
            brain tissues (csf, gm, wm, deep_gm, vein); proton density gets a third of it. Head tissues
            and air are exact.

    Returns:
        Mapping name -> ``Tissue`` whose ``r2star_15 == r2star_30`` hold the R2* at ``b0``.

    Raises:
        ValueError: if ``jitter > 0`` and no ``rng`` is given.
    """
    if jitter > 0 and rng is None:
        raise ValueError("tissue_properties needs an rng when jitter > 0")
    out = {}
    for name, t in TISSUES.items():
        pd, r2s, chi = t.proton_density, t.r2star(b0), t.susceptibility
        if jitter > 0 and name in ("csf", "gm", "wm", "deep_gm", "vein"):
            draw = np.clip(1.0 + jitter * rng.standard_normal(3), 0.5, 1.5)
            # proton density varies least between subjects: a third of the jitter keeps csf > gm > wm
            pd, r2s, chi = min(pd * (1.0 + (draw[0] - 1.0) / 3.0), 1.0), r2s * draw[1], chi * draw[2]
        out[name] = Tissue(name, float(pd), float(r2s), float(r2s), float(chi))
    return out
