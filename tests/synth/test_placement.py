import numpy as np
import pytest

from cmb_kd.synth.lesions import Lesion, draw_cmb
from cmb_kd.synth.placement import (
    extent_separation,
    place_clusters,
    place_lesions,
    relocate_lesions,
    visible_radius,
)

SHAPE = (60, 60, 60)
AFFINE = np.eye(4)
WEIGHT = np.array([1.0, 1.0, 0.5])


def _cmb(diameter: float, rng: np.random.Generator, location: str = "lobar") -> Lesion:
    return draw_cmb(rng, location, (0.4, 1.6), (diameter, diameter), (1.0, 1.5), 3.0, 0.02, 1.0)


def _pool(lo: int = 15, hi: int = 45) -> np.ndarray:
    return np.argwhere(np.pad(np.ones((hi - lo,) * 3, bool), [(lo, SHAPE[0] - hi)] * 3))


def _distance(a: Lesion, b: Lesion) -> float:
    return float(np.linalg.norm((a.centre - b.centre) * WEIGHT))


def test_placement_keeps_the_minimum_separation_and_fixed_lesions():
    rng = np.random.default_rng(0)
    first = place_lesions([_cmb(3.0, rng) for _ in range(3)], {"lobar": _pool()}, AFFINE, SHAPE, 1.0, 10.0, rng)
    more = place_lesions(
        [_cmb(3.0, rng) for _ in range(3)], {"lobar": _pool()}, AFFINE, SHAPE, 1.0, 10.0, rng, fixed=first
    )
    placed = first + more
    assert len(placed) == 6
    assert min(_distance(a, b) for i, a in enumerate(placed) for b in placed[i + 1 :]) >= 10.0


def test_extent_separation_grows_with_the_expected_extents():
    rng = np.random.default_rng(1)
    small, large = _cmb(2.0, rng), _cmb(8.0, rng)
    assert visible_radius(small) == pytest.approx(1.0) and visible_radius(large) == pytest.approx(4.0)
    rule = extent_separation(gap=2.0)
    assert rule(small, small) == pytest.approx(2.0 + 1.5 * 2.0)
    assert rule(small, large) == pytest.approx(2.0 + 1.5 * 5.0)
    calcification = Lesion("calcification", "basal_ganglia", -1.0, (1.0, 1.0, 1.0), np.eye(3))
    assert visible_radius(calcification) == pytest.approx(2.0)


def test_clusters_stay_within_their_radius_and_apart():
    rng = np.random.default_rng(2)
    seeds = place_lesions([_cmb(3.0, rng) for _ in range(2)], {"lobar": _pool(20, 40)}, AFFINE, SHAPE, 1.0, 16.0, rng)
    allowed = np.zeros(SHAPE, bool)
    allowed[10:50, 10:50, 10:50] = True
    out = place_clusters(
        seeds, lambda seed: _cmb(2.0, rng, seed.location), allowed, 1.0, (3, 3), 8.0, 2.0, AFFINE, SHAPE, 1.0,
        rng, max_cmbs=20,
    )  # fmt: skip
    members = [lesion for lesion in out if "cluster" in lesion.extra and not lesion.extra.get("cluster_seed")]
    assert len(members) >= 4 and all(seed.extra["cluster_seed"] for seed in seeds)
    for member in members:
        seed = seeds[member.extra["cluster"]]
        assert np.linalg.norm(member.centre - seed.centre) <= 8.0
        assert allowed[tuple(np.round(member.centre).astype(int))]
    rule = extent_separation(2.0)
    assert all(_distance(a, b) >= rule(a, b) for i, a in enumerate(out) for b in out[i + 1 :])


def test_clusters_respect_the_count_cap():
    rng = np.random.default_rng(3)
    seeds = place_lesions([_cmb(3.0, rng)], {"lobar": _pool(25, 35)}, AFFINE, SHAPE, 1.0, 16.0, rng)
    out = place_clusters(
        seeds, lambda seed: _cmb(2.0, rng), np.ones(SHAPE, bool), 1.0, (5, 5), 8.0, 1.0, AFFINE, SHAPE, 1.0, rng, 3
    )
    assert len(out) == 3


def test_relocation_moves_cmbs_to_the_new_class():
    rng = np.random.default_rng(4)
    placed = place_lesions([_cmb(3.0, rng) for _ in range(4)], {"lobar": _pool()}, AFFINE, SHAPE, 1.0, 8.0, rng)
    placed.append(Lesion("calcification", "lobar", -1.0, (1.0, 1.0, 1.0), np.eye(3), centre=np.full(3, 30.0)))
    surface = np.argwhere(np.pad(np.ones((40, 40, 2), bool), [(10, 10), (10, 10), (14, 44)]))
    moved = relocate_lesions(placed, {"juxtacortical": surface}, {"juxtacortical": 1.0}, AFFINE, SHAPE, 1.0, 8.0, rng)
    assert [lesion.location for lesion in moved] == ["juxtacortical"] * 4 + ["lobar"]
    assert all(14 <= round(lesion.centre[2]) <= 15 for lesion in moved[:4])
    assert [lesion.target_diameter for lesion in moved[:4]] == [lesion.target_diameter for lesion in placed[:4]]
    kept = relocate_lesions(placed, {"juxtacortical": surface}, {"juxtacortical": 0.0}, AFFINE, SHAPE, 1.0, 8.0, rng)
    assert kept == placed
