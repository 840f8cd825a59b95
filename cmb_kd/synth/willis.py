"""The circle of Willis and its main branches, placed from approximate MNI coordinates and drawn per subject.

:data:`WILLIS_ARTERIES` lists each named artery's parent, control points (MNI mm, right side for the paired
arteries, mirrored for the left), radius at its start and end, and the artery its end joins. A subject's arteries
are smooth curves through jittered control points with a smooth sideways wander, their radii scaled, and some
anatomical variants drawn (a missing communicating artery, a fetal posterior cerebral artery). Every artery but a
root starts on its parent's drawn centreline; a communicating artery also ends on the artery it joins.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.interpolate import CubicSpline

from cmb_kd.synth.vessel_tree import VesselSegment, VesselTree, resample_path

__all__ = ["WILLIS_ARTERIES", "circle_of_willis"]

_MNI = tuple[tuple[float, float, float], ...]

#: name -> (parent, control points in MNI mm (right side, x > 0, for the paired arteries), start radius mm,
#: end radius mm, joined artery). Paired arteries get ``_l``/``_r`` names and their parent and joined artery of the
#: same side; the anterior communicating artery runs from the left anterior cerebral artery to the right one.
WILLIS_ARTERIES: dict[str, tuple[str | None, _MNI, float, float, str | None]] = {
    "basilar": (None, ((0, -16, -46), (0, -12, -36), (0, -11, -28), (0, -14, -19)), 1.6, 1.4, None),
    "posterior_cerebral": (
        "basilar",
        (
            (1, -14, -19),
            (7, -17, -17),
            (12, -21, -14),
            (18, -30, -10),
            (24, -44, -6),
            (22, -62, 0),
            (15, -78, 4),
            (8, -90, 8),
        ),
        1.1,
        0.6,
        None,
    ),  # fmt: skip
    "superior_cerebellar": (
        "basilar",
        ((1, -12, -24), (8, -18, -24), (14, -28, -21), (18, -42, -20), (16, -56, -22)),
        0.7,
        0.45,
        None,
    ),
    "internal_carotid": (None, ((19, -2, -44), (17, 2, -34), (15, 6, -26), (14, 4, -19), (14, 1, -15)), 2.2, 1.9, None),
    "middle_cerebral": ("internal_carotid", ((14, 1, -15), (22, 3, -14), (30, 4, -12), (38, 3, -8)), 1.4, 1.2, None),
    "middle_cerebral_superior": (
        "middle_cerebral",
        ((38, 3, -8), (40, 4, 0), (42, -2, 10), (45, -12, 20), (48, -22, 34), (46, -30, 48)),
        1.0,
        0.6,
        None,
    ),  # fmt: skip
    "middle_cerebral_inferior": (
        "middle_cerebral",
        ((38, 3, -8), (43, -4, -4), (47, -16, 0), (51, -30, 4), (52, -46, 10)),
        0.9,
        0.55,
        None,
    ),
    "anterior_cerebral": (
        "internal_carotid",
        (
            (14, 1, -15),
            (9, 8, -12),
            (4, 14, -9),
            (4, 20, -4),
            (4, 30, 4),
            (4, 38, 14),
            (4, 36, 26),
            (4, 22, 33),
            (4, 2, 35),
            (4, -18, 35),
            (4, -36, 30),
        ),
        1.1,
        0.6,
        None,
    ),  # fmt: skip
    "callosomarginal": (
        "anterior_cerebral",
        ((4, 36, 18), (6, 44, 28), (5, 42, 42), (5, 30, 54), (5, 12, 62)),
        0.8,
        0.5,
        None,
    ),
    "temporal_anterior": (
        "middle_cerebral",
        ((30, 4, -12), (48, 10, -24), (60, -2, -28), (65, -20, -24)),
        0.7,
        0.45,
        None,
    ),
    "prefrontal": ("middle_cerebral_superior", ((40, 4, 0), (54, 16, 20), (48, 28, 34), (38, 34, 42)), 0.7, 0.45, None),
    "central": (
        "middle_cerebral_superior",
        ((45, -12, 20), (60, -12, 34), (56, -16, 51), (45, -18, 61)),
        0.7,
        0.45,
        None,
    ),
    "parietal": ("middle_cerebral_superior", ((48, -22, 34), (58, -38, 48), (46, -51, 56)), 0.6, 0.4, None),
    "angular": ("middle_cerebral_inferior", ((51, -30, 4), (64, -48, 18), (54, -66, 34)), 0.6, 0.4, None),
    "temporal_posterior": ("middle_cerebral_inferior", ((52, -46, 10), (62, -58, 0), (54, -70, -5)), 0.6, 0.4, None),
    "frontopolar": ("anterior_cerebral", ((4, 30, 4), (6, 50, 8), (8, 64, 12)), 0.6, 0.4, None),
    "inferior_temporal": (
        "posterior_cerebral",
        ((18, -30, -10), (38, -44, -22), (52, -58, -20), (50, -76, -10)),
        0.6,
        0.4,
        None,
    ),
    "parieto_occipital": ("posterior_cerebral", ((22, -62, 0), (12, -70, 20), (8, -74, 36)), 0.6, 0.4, None),
    "posterior_communicating": (
        "internal_carotid",
        ((14, 1, -16), (13, -6, -16), (12, -13, -15), (12, -21, -14)),
        0.6,
        0.6,
        "posterior_cerebral",
    ),  # fmt: skip
    "anterior_communicating": ("anterior_cerebral_l", ((-4, 14, -9), (4, 14, -9)), 0.7, 0.7, "anterior_cerebral_r"),
}

#: Correlation length (mm) of the sideways wander of the named arteries, and the step (mm) of their centrelines.
_WANDER_MM, _STEP_MM = 6.0, 0.5
#: Fetal posterior cerebral artery: P1 radius factor; the communicating artery gets the radius of P2.
_FETAL_P1 = 0.4


def _sides(name: str) -> list[tuple[str, float]]:
    """``(drawn name, x sign)`` of an artery of the table: both sides for a paired one."""
    if name in ("basilar", "anterior_communicating"):
        return [(name, 1.0)]
    return [(f"{name}_l", -1.0), (f"{name}_r", 1.0)]


def _side_name(name: str | None, drawn: str) -> str | None:
    """The artery ``name`` on the side of the drawn artery ``drawn`` (unpaired names stay)."""
    if name is None or name in ("basilar",) or name.endswith(("_l", "_r")):
        return name
    return f"{name}{drawn[-2:]}"


def _curve(control: np.ndarray) -> np.ndarray:
    """A smooth curve through ``control`` (chord-length cubic spline), sampled every :data:`_STEP_MM`."""
    chord = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(control, axis=0), axis=1))])
    if len(control) < 3:
        return resample_path(control, _STEP_MM)
    fine = np.linspace(0.0, chord[-1], max(8, int(chord[-1] / 0.1)))
    return resample_path(CubicSpline(chord, control, bc_type="natural")(fine), _STEP_MM)


def _wander(points: np.ndarray, amplitude: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth sideways displacement of ``amplitude`` mm (standard deviation), zero at both ends."""
    n = len(points)
    sigma = _WANDER_MM / _STEP_MM
    noise = ndimage.gaussian_filter1d(rng.standard_normal((n + 8 * int(sigma), 3)), sigma, axis=0)
    noise = noise[4 * int(sigma) : 4 * int(sigma) + n]
    noise *= amplitude / max(float(noise.std()), 1e-9)
    tangent = np.gradient(points, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True) + 1e-12
    noise -= (noise * tangent).sum(axis=1, keepdims=True) * tangent
    window = np.sin(np.pi * np.linspace(0.0, 1.0, n))[:, None]
    return points + window * noise


def _nearest(points: np.ndarray, target: np.ndarray) -> int:
    return int(np.argmin(np.linalg.norm(points - target, axis=1)))


def _draw_variants(rng: np.random.Generator, pcomm_absent: float, acomm_absent: float, fetal: float) -> dict:
    """Variant of each side's posterior communicating and posterior cerebral arteries and of the anterior one."""
    variants = {}
    for side in ("l", "r"):
        absent, is_fetal = rng.uniform() < pcomm_absent, rng.uniform() < fetal
        if absent:
            variants[f"posterior_communicating_{side}"] = "absent"
        elif is_fetal:
            variants[f"posterior_cerebral_{side}"] = "fetal"
    if rng.uniform() < acomm_absent:
        variants["anterior_communicating"] = "absent"
    return variants


def circle_of_willis(
    rng: np.random.Generator,
    *,
    jitter_mm: float = 1.5,
    radius_scale: float = 1.0,
    tortuosity_mm: float = 1.0,
    pcomm_absent_probability: float = 0.0,
    acomm_absent_probability: float = 0.0,
    fetal_pca_probability: float = 0.0,
) -> tuple[VesselTree, dict]:
    """Draws the named arteries of :data:`WILLIS_ARTERIES` in template (MNI) mm.

    Args:
        rng: random generator.
        jitter_mm: standard deviation of the control-point jitter.
        radius_scale: factor on every radius (each artery also gets a factor in [0.9, 1.1]).
        tortuosity_mm: standard deviation of the smooth sideways wander.
        pcomm_absent_probability: probability that a posterior communicating artery is missing (each side).
        acomm_absent_probability: probability that the anterior communicating artery is missing.
        fetal_pca_probability: probability of a fetal posterior cerebral artery (each side; only where the
            posterior communicating artery is present).

    Returns:
        ``(tree, variants)``: the named arteries, parents first, centrelines sampled every 0.5 mm; the drawn
        variants by artery name (``"absent"``, ``"fetal"``).
    """
    variants = _draw_variants(rng, pcomm_absent_probability, acomm_absent_probability, fetal_pca_probability)
    tree = VesselTree()
    for name, (parent, control, r_start, r_end, joins) in WILLIS_ARTERIES.items():
        for drawn, sign in _sides(name):
            # each artery draws from a stream of its own, so that a missing one changes no other
            own = np.random.default_rng(int(rng.integers(2**62)))
            if variants.get(drawn) == "absent":
                continue
            points = np.array(control, dtype=np.float64) * [sign if drawn != name else 1.0, 1.0, 1.0]
            points += jitter_mm * own.standard_normal(points.shape)
            factor = radius_scale * own.uniform(0.9, 1.1)
            ends = (_side_name(parent, drawn), _side_name(joins, drawn))
            tree.add(_named_segment(tree, drawn, points, (r_start * factor, r_end * factor), ends, tortuosity_mm, own))
    _apply_fetal(tree, variants)
    return tree, variants


def _named_segment(
    tree: VesselTree,
    name: str,
    control: np.ndarray,
    radius: tuple[float, float],
    ends: tuple[str | None, str | None],
    tortuosity_mm: float,
    rng: np.random.Generator,
) -> VesselSegment:
    """One named artery: starts on its parent's centreline and ends on the one it joins (``ends``: their names)."""
    parent, joins = ends
    parent_index, parent_point, generation = -1, -1, 0
    if parent is not None:
        parent_index = tree.index(parent)
        parent_points = tree.segments[parent_index].points
        parent_point = _nearest(parent_points, control[0])
        control[0] = parent_points[parent_point]
        generation = tree.segments[parent_index].generation + 1
    join_index = -1
    if joins is not None:
        join_index = tree.index(joins)
        control[-1] = tree.segments[join_index].points[_nearest(tree.segments[join_index].points, control[-1])]
    points = resample_path(_wander(_curve(control), tortuosity_mm, rng), _STEP_MM)
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    radii = np.interp(arc, [0.0, arc[-1]], radius)
    return VesselSegment(name, points, radii, parent_index, parent_point, generation, join_index)


def _apply_fetal(tree: VesselTree, variants: dict) -> None:
    """A fetal posterior cerebral artery: P1 (up to where the communicating artery joins) thin, the
    communicating artery as wide as P2."""
    for name, kind in variants.items():
        if kind != "fetal":
            continue
        pca = tree.segments[tree.index(name)]
        pcomm = tree.segments[tree.index(f"posterior_communicating_{name[-1]}")]
        junction = _nearest(pca.points, pcomm.points[-1])
        pca.radii[:junction] *= _FETAL_P1
        pcomm.radii[:] = pca.radii[min(junction + 1, len(pca.radii) - 1)]
