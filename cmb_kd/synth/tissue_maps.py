"""Tissue composition of every voxel and the proton density, R2* and susceptibility maps it gives."""

from __future__ import annotations

import numpy as np

from cmb_kd.synth.anatomy import Anatomy
from cmb_kd.synth.extra_mimics import ExtraMimics
from cmb_kd.synth.head import HeadLayers
from cmb_kd.synth.tissue import FLOW_VOID, TISSUES, Tissue

__all__ = ["tissue_fractions", "property_maps"]

#: Relative amplitude of the myelin-like R2* texture that the template T1 gives brain tissue.
_TEXTURE_AMPLITUDE = 0.15


def tissue_fractions(
    anatomy: Anatomy, head: HeadLayers, vein: np.ndarray, extra: ExtraMimics
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Volume fraction of each tissue in every voxel; with the air inside the head they sum to 1.

    Veins take their share of every tissue; sulcal clefts turn grey and white matter into CSF; flowing
    blood (flow voids) takes its share of every voxel it crosses.

    Args:
        anatomy: the subject's anatomy.
        head: the layers around the brain.
        vein: vein volume fraction (X, Y, Z).
        extra: mimics of randomised physics (clefts, flow voids and air pockets, where drawn).

    Returns:
        ``(fractions, sinus)``: tissue name (a key of :data:`~cmb_kd.synth.tissue.TISSUES`, or ``"flow_void"``)
        -> fraction (X, Y, Z), and the fraction of air inside the head (X, Y, Z).
    """
    sinus = anatomy.air * (head.outside_distance > 2.0)
    if extra.air_pockets is not None:
        sinus = np.maximum(sinus, extra.air_pockets)
    gm, wm, csf = anatomy.gm, anatomy.wm, anatomy.csf
    if extra.cleft is not None:  # the clefts turn grey and white matter into CSF
        gm, wm, csf = gm * (1.0 - extra.cleft), wm * (1.0 - extra.cleft), csf + extra.cleft * (gm + wm)
    keep = (1.0 - sinus) * (1.0 - vein)
    fractions = {
        "csf": (csf + head.csf_rim * (1.0 - sinus)) * (1.0 - vein),
        "gm": gm * (1.0 - anatomy.deep_region) * (1.0 - vein),
        "deep_gm": gm * anatomy.deep_region * (1.0 - vein),
        "wm": wm * (1.0 - vein),
        "skull": head.skull * keep,
        "scalp": head.scalp * keep,
        "vein": vein,
    }
    if extra.flow_void is not None:  # flowing blood takes its share of every voxel it crosses
        idx = np.nonzero(extra.flow_void)
        fractions["vein"] = vein.copy()
        for frac in fractions.values():
            frac[idx] *= 1.0 - extra.flow_void[idx]
        fractions["flow_void"] = extra.flow_void
    return fractions, sinus


def property_maps(
    anatomy: Anatomy,
    fractions: dict[str, np.ndarray],
    sinus: np.ndarray,
    tissues: dict[str, Tissue],
    air_scale: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Proton density, R2* and susceptibility maps: each voxel's tissues weighted by their fractions.

    The susceptibility is referenced to air (air = 0), so that the padding of the field computation is air
    too. The air inside the head differs from tissue by ``air_scale`` times the air-water contrast. R2* of the
    brain varies with the template T1 (a myelin-like texture).

    Args:
        anatomy: the subject's anatomy (brain fraction and T1 texture).
        fractions: tissue fractions from :func:`tissue_fractions`.
        sinus: fraction of air inside the head (X, Y, Z).
        tissues: the subject's tissue table (``"flow_void"`` takes :data:`~cmb_kd.synth.tissue.FLOW_VOID`).
        air_scale: factor on the air-tissue susceptibility difference of the air inside the head.

    Returns:
        ``(pd, r2s, chi)``: float32 maps (X, Y, Z); R2* in 1/s at the tissues' field, susceptibility in ppm.

    Raises:
        KeyError: if a fraction names a tissue that ``tissues`` lacks.
    """
    shape = anatomy.brain.shape
    pd = np.zeros(shape, np.float32)
    r2s = np.zeros(shape, np.float32)
    chi = np.zeros(shape, np.float32)
    chi_air = TISSUES["air"].susceptibility
    for name, frac in fractions.items():
        t = FLOW_VOID if name == "flow_void" else tissues[name]
        pd += frac * np.float32(t.proton_density)
        r2s += frac * np.float32(t.r2star_30)
        chi += frac * np.float32(t.susceptibility - chi_air)
    if air_scale != 1.0:
        chi += sinus * np.float32((air_scale - 1.0) * (chi_air - TISSUES["csf"].susceptibility))
    brain = anatomy.brain
    texture = 1.0 + _TEXTURE_AMPLITUDE * brain * (anatomy.t1 - float(anatomy.t1[brain > 0.5].mean()))
    r2s *= texture.astype(np.float32)
    return pd, r2s, chi
