"""Random tissue contrast: proton density, R2* and susceptibility drawn far beyond the literature values.

Domain randomisation in the manner of SynthSeg (Billot et al., Med Image Anal 2023): a network that has
seen grey matter brighter and darker than white matter, CSF dark, veins barely paramagnetic or strongly so,
cannot rely on the contrast of one scanner, or of this simulator, to find CMBs.
"""

from __future__ import annotations

import numpy as np

from cmb_kd.synth.tissue import Tissue

__all__ = ["CONTRAST_TISSUES", "SUSCEPTIBILITY_TISSUES", "randomise_contrast"]

#: Tissues whose proton density and R2* are randomised (air and the lesions keep their values).
CONTRAST_TISSUES = ("csf", "gm", "wm", "deep_gm", "vein", "skull", "scalp")
#: Tissues whose susceptibility is randomised (the brain tissues; skull and scalp keep theirs).
SUSCEPTIBILITY_TISSUES = ("csf", "gm", "wm", "deep_gm", "vein")


def _log_uniform(rng: np.random.Generator, value_range: tuple[float, float]) -> float:
    low, high = value_range
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def randomise_contrast(
    tissues: dict[str, Tissue],
    rng: np.random.Generator,
    pd_factor_range: tuple[float, float],
    r2star_factor_range: tuple[float, float],
    susceptibility_factor_range: tuple[float, float],
    independent: bool = True,
) -> tuple[dict[str, Tissue], dict[str, dict[str, float]]]:
    """Multiplies tissue properties by factors drawn log-uniformly, one draw per subject.

    Proton density and R2* of :data:`CONTRAST_TISSUES` and susceptibility (relative to water) of
    :data:`SUSCEPTIBILITY_TISSUES` are multiplied by factors drawn log-uniformly in their ranges, so that
    a factor and its inverse are equally likely. With ``independent`` each tissue gets its own factors,
    which can swap the order of grey matter, white matter and CSF; otherwise one factor per quantity is
    shared by all tissues, which keeps their order. CSF has susceptibility 0 (the reference) and keeps it.

    Args:
        tissues: tissue table at the subject's field strength (``r2star_15 == r2star_30`` hold R2* at B0),
            as :func:`~cmb_kd.synth.tissue.tissue_properties` returns it.
        rng: random generator.
        pd_factor_range: ``(min, max)`` of the proton-density factors, dimensionless, ``0 < min``.
        r2star_factor_range: ``(min, max)`` of the R2* factors.
        susceptibility_factor_range: ``(min, max)`` of the susceptibility factors.
        independent: one set of factors per tissue (True) or one for all (False).

    Returns:
        ``(tissues, factors)``: the new table (other tissues unchanged) and the drawn factors per tissue
        (``{"pd": ..., "r2star": ..., "chi": ...}``) for the subject's record.

    Raises:
        ValueError: if a range is not ``0 < min <= max``.
    """
    ranges = {"pd": pd_factor_range, "r2star": r2star_factor_range, "chi": susceptibility_factor_range}
    arguments = {"pd": "pd_factor_range", "r2star": "r2star_factor_range", "chi": "susceptibility_factor_range"}
    for name, (low, high) in ranges.items():
        if not 0 < low <= high:
            raise ValueError(f"randomise_contrast: {arguments[name]}: expected 0 < min <= max, got {(low, high)}")
    shared = {name: _log_uniform(rng, value) for name, value in ranges.items()} if not independent else None
    out = dict(tissues)
    factors: dict[str, dict[str, float]] = {}
    for name in CONTRAST_TISSUES:
        if name not in tissues:
            continue
        drawn = shared or {key: _log_uniform(rng, value) for key, value in ranges.items()}
        if name not in SUSCEPTIBILITY_TISSUES:
            drawn = {**drawn, "chi": 1.0}
        t = tissues[name]
        r2s = max(t.r2star_30 * drawn["r2star"], 0.5)
        out[name] = Tissue(name, t.proton_density * drawn["pd"], r2s, r2s, t.susceptibility * drawn["chi"])
        factors[name] = {key: round(value, 4) for key, value in drawn.items()}
    return out, factors
