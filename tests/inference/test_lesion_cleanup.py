import numpy as np
import pytest

from cmb_kd.inference import CleanupRules, LesionCleanup
from cmb_kd.synth.dipole import dipole_field

SHAPE = (48, 48, 48)
CENTRE = np.array([24, 24, 24])
PHASE_ON = CleanupRules(reject_calcification=True)


def _ball(centre, radius, shape=SHAPE):
    grid = np.indices(shape)
    return sum((g - c) ** 2 for g, c in zip(grid, centre)) <= radius**2


def _scene():
    """Brain ball of radius 22 mm at 1 mm, with one lesion-like blob and one of each kind of false positive."""
    brain = _ball(CENTRE, 22)
    tube = np.zeros(SHAPE, dtype=bool)
    tube[16:33, 24, 14] = True
    small = np.zeros(SHAPE, dtype=bool)
    small[32, 24, 32] = True
    parts = {
        "round": _ball((24, 16, 24), 2),
        "tube": tube,
        "edge": _ball((24, 24, 45), 2),
        "small": small,
        "large": _ball((24, 32, 24), 6),
        "calcification": _ball((14, 24, 24), 2),
    }
    # every part paramagnetic (CMBs, vessels, haemorrhage) but the diamagnetic calcification; phase = -field (the
    # right-handed convention)
    susceptibility = np.any([p for n, p in parts.items() if n != "calcification"], axis=0).astype(np.float32)
    susceptibility -= parts["calcification"]
    phase = -dipole_field(susceptibility, 1.0)
    return brain, parts, phase


def _decisions_by_part(decisions, parts):
    found = {}
    for decision in decisions:
        voxel = tuple(int(round(v)) for v in decision.centroid_voxel)
        name = next(name for name, part in parts.items() if part[voxel])
        found[name] = decision
    return found


def test_rules_keep_the_round_blob_and_reject_each_mimic():
    brain, parts, phase = _scene()
    mask = np.any(list(parts.values()), axis=0)
    kept, decisions = LesionCleanup(PHASE_ON)(mask, (1.0, 1.0, 1.0), brain_mask=brain, phase=phase)

    by_part = _decisions_by_part(decisions, parts)
    # a point dipole fits the phase around round sources only: the tube and the single voxel (in the field of the
    # other sources) may also fail the phase rule, beside the rule that is theirs
    assert {name: tuple(r for r in d.rejected_by if r != "phase_sign") for name, d in by_part.items()} == {
        "round": (),
        "tube": ("elongation",),
        "edge": ("brain_margin",),
        "small": ("min_diameter",),
        "large": ("max_diameter",),
        "calcification": (),
    }
    assert by_part["calcification"].rejected_by == ("phase_sign",)
    assert "phase_sign" not in by_part["edge"].rejected_by + by_part["large"].rejected_by
    np.testing.assert_array_equal(kept, parts["round"])
    assert [d.index for d in decisions] == list(range(1, len(parts) + 1))
    zs = [d.centroid_voxel[2] for d in decisions]
    assert zs == sorted(zs)
    assert by_part["round"].kept and not by_part["tube"].kept
    # the large paramagnetic blob 13 mm away adds its own field around the calcification
    assert by_part["round"].dipole_fit < -0.8 and by_part["calcification"].dipole_fit > 0.3
    assert by_part["round"].mean_phase == pytest.approx(0.0, abs=0.05)  # no field inside a magnetised sphere
    assert 0.0 <= by_part["edge"].inside_fraction < 0.5 and by_part["round"].inside_fraction == 1.0
    assert by_part["tube"].elongation > 10 and by_part["round"].elongation == pytest.approx(1.0, abs=0.05)


def test_phase_rule_off_or_without_phase_keeps_the_calcification():
    brain, parts, phase = _scene()
    mask = parts["round"] | parts["calcification"]
    kept, _ = LesionCleanup()(mask, (1, 1, 1), brain_mask=brain, phase=phase)
    np.testing.assert_array_equal(kept, parts["round"])  # on by default
    kept, _ = LesionCleanup(CleanupRules(reject_calcification=False))(mask, (1, 1, 1), brain_mask=brain, phase=phase)
    np.testing.assert_array_equal(kept, mask)
    kept, decisions = LesionCleanup(PHASE_ON)(mask, (1, 1, 1), brain_mask=brain)
    np.testing.assert_array_equal(kept, mask)
    assert all(np.isnan(d.mean_phase) and np.isnan(d.dipole_fit) for d in decisions)


def test_phase_rule_is_skipped_on_slabs_thicker_than_its_limit():
    brain, parts, phase = _scene()
    mask = parts["round"] | parts["calcification"]
    kept, decisions = LesionCleanup(CleanupRules(phase_max_spacing_mm=0.5, brain_margin_mm=None))(
        mask, (1, 1, 1), phase=phase
    )
    np.testing.assert_array_equal(kept, mask)
    assert all(np.isfinite(d.dipole_fit) for d in decisions)  # measured, not applied


def test_phase_rule_follows_the_main_field_through_the_affine():
    brain, parts, _ = _scene()
    mask = parts["round"] | parts["calcification"]
    # the scan's first voxel axis points along the main field (world z): its field is the one with B0 along x
    susceptibility = parts["round"].astype(np.float32) - parts["calcification"]
    phase = -np.moveaxis(dipole_field(np.moveaxis(susceptibility, 0, -1), 1.0), -1, 0)
    affine = np.array([[0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]], dtype=float)
    kept, _ = LesionCleanup()(mask, (1, 1, 1), brain_mask=brain, phase=phase, affine=affine)
    np.testing.assert_array_equal(kept, parts["round"])
    with pytest.raises(ValueError, match="affine: expected a finite, invertible 4x4"):
        LesionCleanup()(mask, (1, 1, 1), brain_mask=brain, phase=phase, affine=np.zeros((4, 4)))


def test_left_handed_convention_flips_the_phase_rule():
    brain, parts, phase = _scene()
    mask = parts["round"] | parts["calcification"]
    kept, _ = LesionCleanup(CleanupRules(reject_calcification=True, paramagnetic_phase="positive"))(
        mask, (1, 1, 1), brain_mask=brain, phase=phase
    )
    np.testing.assert_array_equal(kept, parts["calcification"])


def test_every_rule_can_be_switched_off():
    brain, parts, phase = _scene()
    mask = np.any(list(parts.values()), axis=0)
    rules = CleanupRules(
        min_diameter_mm=None,
        max_diameter_mm=None,
        max_elongation=None,
        brain_margin_mm=None,
        reject_calcification=False,
    )
    kept, decisions = LesionCleanup(rules)(mask, (1, 1, 1), phase=phase)
    np.testing.assert_array_equal(kept, mask)
    assert all(d.kept for d in decisions) and all(np.isnan(d.inside_fraction) for d in decisions)


def test_probability_map_is_thresholded():
    brain, parts, _ = _scene()
    probability = np.where(parts["round"], 0.7, 0.0) + np.where(parts["large"], 0.3, 0.0)
    kept, decisions = LesionCleanup(threshold=0.5)(probability, (1, 1, 1), brain_mask=brain)
    assert len(decisions) == 1
    np.testing.assert_array_equal(kept, parts["round"])


def test_thick_slices_floor_and_margin_in_mm():
    shape = (40, 40, 8)
    spacing = (0.5, 0.5, 3.0)
    brain = np.ones(shape, dtype=bool)
    disc = np.zeros(shape, dtype=bool)  # a 3 mm CMB seen on one 3 mm slice
    disc[:, :, 4] = _ball((20, 20, 0), 3, (40, 40, 1))[:, :, 0]
    vessel = np.zeros(shape, dtype=bool)  # 15 mm long, one voxel thin, in-plane
    vessel[5:35, 30, 2] = True
    near_top = np.zeros(shape, dtype=bool)  # two slices (6 mm) below the top: inside a 4 mm margin
    near_top[8:10, 8:12, 5] = True
    near_side = np.zeros(shape, dtype=bool)  # four voxels (2 mm) from the x border: outside a 4 mm margin
    near_side[3:5, 20:24, 4] = True
    parts = {"disc": disc, "vessel": vessel, "near_top": near_top, "near_side": near_side}
    mask = np.any(list(parts.values()), axis=0)
    rules = CleanupRules(min_diameter_mm=None, brain_margin_mm=4.0)

    _, decisions = LesionCleanup(rules)(mask, spacing, brain_mask=brain)
    by_part = _decisions_by_part(decisions, parts)
    assert by_part["disc"].kept and by_part["disc"].elongation < 2.0
    assert by_part["vessel"].rejected_by == ("elongation",)
    assert by_part["near_top"].kept
    assert by_part["near_side"].rejected_by == ("brain_margin",)

    no_floor = CleanupRules(min_diameter_mm=None, brain_margin_mm=None, shape_floor_mm=0.0)
    _, decisions = LesionCleanup(no_floor)(disc, spacing)
    assert decisions[0].rejected_by == ("elongation",)


def test_empty_mask():
    kept, decisions = LesionCleanup()(np.zeros((5, 5, 5)), (1, 1, 1), brain_mask=np.ones((5, 5, 5)))
    assert decisions == [] and kept.shape == (5, 5, 5) and not kept.any()


@pytest.mark.parametrize(
    "mask, spacing, kwargs, message",
    [
        (np.zeros((5, 5, 5)), (1, 1, 1), {}, "brain_mask: expected a brain mask of shape"),
        (np.zeros((5, 5)), (1, 1, 1), {"brain_mask": np.ones((5, 5))}, "mask: expected a 3D array"),
        (np.full((5, 5, 5), 1.5), (1, 1, 1), {"brain_mask": np.ones((5, 5, 5))}, r"probability map in \[0, 1\]"),
        (np.zeros((5, 5, 5)), (1, 1), {"brain_mask": np.ones((5, 5, 5))}, "spacing: expected three positive"),
        (np.zeros((5, 5, 5)), (1, 1, 1), {"brain_mask": np.ones((5, 5, 4))}, r"brain_mask: expected shape \(5, 5, 5\)"),
        (np.zeros((5, 5, 5)), (1, 1, 1), {"brain_mask": np.ones((5, 5, 5)), "phase": np.ones((5, 5))}, "phase:"),
    ],
)
def test_bad_call_arguments(mask, spacing, kwargs, message):
    with pytest.raises(ValueError, match=message):
        LesionCleanup()(mask, spacing, **kwargs)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="rules: expected a CleanupRules"):
        LesionCleanup({"min_diameter_mm": 2})
    with pytest.raises(ValueError, match=r"threshold: expected a probability in \(0, 1\]"):
        LesionCleanup(threshold=0.0)
