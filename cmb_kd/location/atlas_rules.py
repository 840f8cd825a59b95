"""Geometric rules in MNI (RAS) millimetres that split the template's tissue into MARS regions.

The MNI ICBM152 2009 template ships tissue maps but no lobes, so lobes, the insula, the capsules, the corpus
callosum and the ventricles are drawn here with planes, ellipsoids and distances in MNI coordinates. Each rule is
an approximation of a landmark, good to about a centimetre:

* **central sulcus** (frontal | parietal): the plane ``y = -12 - 0.62 (z - 30)`` for z >= 30 (from about
  ``y = -12`` at the lower end, z = 30, to ``y = -38`` at the vertex, z = 72), ``y = -12`` below;
* **Sylvian fissure** (temporal below it): ``z = -2 - 0.4 y``, rising backwards; the temporal lobe also lies
  behind ``y = 22``, lateral to ``|x| = 30`` in front of ``y = 0`` (the temporal pole beside the orbital
  frontal cortex) and lateral to ``|x| = 18`` or below ``z = -8`` (the medial parietal cortex behind the
  thalamus is not temporal);
* **parieto-occipital sulcus / preoccipital notch** (occipital behind it): ``y = -62 - 0.3 z``;
* **insula**: the cortex medial to the Sylvian fissure, an ellipsoid centred at ``(±37, -3, 4)`` with semi-axes
  ``(7, 26, 17)`` mm;
* **ventricles**: CSF-dominated brain voxels more than 12 mm inside the brain surface, within ``|x| < 30`` and
  above the tentorium;
* **corpus callosum**: white matter within ``|x| <= 10``, ``-42 <= y <= 38``, ``0 <= z <= 32``;
* **internal / external capsule**: white matter within 5 mm of the deep grey nuclei, external lateral to
  ``|x| = 27`` (the putamen's middle), internal medial to it;
* **juxtacortical white matter** (lobar in MARS): white matter within 5 mm of cortical grey matter;
* **periventricular white matter**: the remaining white matter within 10 mm of the ventricles; the rest is deep
  white matter.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "JUXTACORTICAL_MM",
    "PERIVENTRICULAR_MM",
    "CAPSULE_MM",
    "VENTRICLE_DEPTH_MM",
    "EXTERNAL_CAPSULE_X",
    "central_sulcus_y",
    "sylvian_z",
    "parieto_occipital_y",
    "insula_mask",
    "lobe_codes",
    "corpus_callosum_mask",
    "ventricle_mask",
]

JUXTACORTICAL_MM = 5.0
"""White matter this close to cortical grey matter (mm) is juxtacortical, hence lobar."""
PERIVENTRICULAR_MM = 10.0
"""White matter this close to the ventricles (mm) is periventricular."""
CAPSULE_MM = 5.0
"""White matter this close to the deep grey nuclei (mm) is internal or external capsule."""
VENTRICLE_DEPTH_MM = 12.0
"""CSF deeper than this below the brain surface (mm) is ventricle, not sulcus."""

_CENTRAL_Y0, _CENTRAL_Z0, _CENTRAL_SLOPE = -12.0, 30.0, -0.62
_SYLVIAN_Z0, _SYLVIAN_SLOPE = -2.0, -0.4
_TEMPORAL_FRONT_Y, _TEMPORAL_POLE_X, _TEMPORAL_MEDIAL_X, _TEMPORAL_MEDIAL_Z = 22.0, 30.0, 18.0, -8.0
_OCCIPITAL_Y0, _OCCIPITAL_SLOPE = -62.0, -0.3
_INSULA_CENTRE, _INSULA_AXES = (37.0, -3.0, 4.0), (7.0, 26.0, 17.0)
_VENTRICLE_HALF_WIDTH = 30.0
_CALLOSUM_HALF_WIDTH, _CALLOSUM_Y, _CALLOSUM_Z = 10.0, (-42.0, 38.0), (0.0, 32.0)
EXTERNAL_CAPSULE_X = 27.0
"""|x| (mm) of the putamen's middle: capsule white matter lateral to it is external capsule."""

_FRONTAL, _PARIETAL, _TEMPORAL, _OCCIPITAL, _INSULA = 1, 2, 3, 4, 5


def central_sulcus_y(z: np.ndarray) -> np.ndarray:
    """y (mm) of the central sulcus plane at height ``z`` (mm): frontal in front of it, parietal behind."""
    return _CENTRAL_Y0 + _CENTRAL_SLOPE * np.maximum(z - _CENTRAL_Z0, 0.0)


def sylvian_z(y: np.ndarray) -> np.ndarray:
    """z (mm) of the Sylvian fissure plane at ``y`` (mm): the temporal lobe lies below it."""
    return _SYLVIAN_Z0 + _SYLVIAN_SLOPE * y


def parieto_occipital_y(z: np.ndarray) -> np.ndarray:
    """y (mm) of the parieto-occipital plane at height ``z`` (mm): the occipital lobe lies behind it."""
    return _OCCIPITAL_Y0 + _OCCIPITAL_SLOPE * z


def insula_mask(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Points inside the insula ellipsoid of either hemisphere (boolean, the shape of ``x``)."""
    centre, axes = _INSULA_CENTRE, _INSULA_AXES
    return ((np.abs(x) - centre[0]) / axes[0]) ** 2 + ((y - centre[1]) / axes[1]) ** 2 + (
        (z - centre[2]) / axes[2]
    ) ** 2 <= 1.0


def lobe_codes(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The lobe of lobar points by the rules above, first match wins: insula, occipital, temporal, frontal, parietal.

    Args:
        x, y, z: MNI coordinates in mm (arrays of one shape).

    Returns:
        uint8 codes of :data:`cmb_kd.location.regions.MARS_REGIONS` (1 frontal … 5 insula), the shape of ``x``.
    """
    ax = np.abs(x)
    temporal = (z < sylvian_z(y)) & (y < _TEMPORAL_FRONT_Y) & ((y < 0.0) | (ax > _TEMPORAL_POLE_X))
    temporal &= (ax > _TEMPORAL_MEDIAL_X) | (z < _TEMPORAL_MEDIAL_Z)
    codes = np.where(y >= central_sulcus_y(z), _FRONTAL, _PARIETAL).astype(np.uint8)
    codes[temporal] = _TEMPORAL
    codes[y < parieto_occipital_y(z)] = _OCCIPITAL
    codes[insula_mask(x, y, z)] = _INSULA
    return codes


def corpus_callosum_mask(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Points in the box where midline white matter is the corpus callosum (boolean, the shape of ``x``)."""
    return (
        (np.abs(x) <= _CALLOSUM_HALF_WIDTH)
        & (y >= _CALLOSUM_Y[0])
        & (y <= _CALLOSUM_Y[1])
        & (z >= _CALLOSUM_Z[0])
        & (z <= _CALLOSUM_Z[1])
    )


def ventricle_mask(csf: np.ndarray, depth_mm: np.ndarray, x: np.ndarray, supratentorial: np.ndarray) -> np.ndarray:
    """The ventricles: CSF-dominated (> 0.5), deeper than :data:`VENTRICLE_DEPTH_MM`, near the midline, supratentorial.

    Args:
        csf: CSF fraction of the brain (brain - gm - wm).
        depth_mm: distance to the outside of the brain mask in mm.
        x: MNI x in mm.
        supratentorial: boolean mask of the brain above the tentorium.

    Returns:
        Boolean mask, the shape of ``csf``.
    """
    return (csf > 0.5) & (depth_mm > VENTRICLE_DEPTH_MM) & (np.abs(x) < _VENTRICLE_HALF_WIDTH) & supratentorial
