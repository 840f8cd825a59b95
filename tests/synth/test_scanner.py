import dataclasses
import json
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial.transform import Rotation

from cmb_kd.synth.scanner import render_scan
from cmb_kd.synth.scanner_config import SCANNER_PRESETS, ScannerConfig
from cmb_kd.synth.scanner_draw import ScannerDraw, draw_scanner
from cmb_kd.synth.slice_profile import slice_centres

CONNECTIVITY = np.ones((3, 3, 3), dtype=bool)
#: HR voxel size (mm) of the phantoms and their white-matter level.
H, LEVEL = 0.5, 500.0

#: Every stage off: HR in-plane, contiguous box slices, no bias, no warp, whole head, float32, stored as rendered.
PLAIN = ScannerDraw(
    inplane_spacing=H,
    slice_thickness=2.0,
    slice_gap=0.0,
    slice_offset=0.5,
    slice_profile="box",
    rf_time_bandwidth=4.0,
    kspace_window="none",
    partial_fourier=1.0,
    phase_axis=1,
    partial_fourier_side=1,
    snr=1e4,
    bias_amplitude=0.0,
    intensity_warp="none",
    gamma=1.0,
    warp_slopes=(1.0,),
    presentation="whole_head",
    strip_margin=0.0,
    axis_permutation=(0, 1, 2),
    flips=(False, False, False),
    dtype="float32",
    intensity_scale=1.0,
)


def _ball(shape, centre, radius, sub=3):
    """Volume fraction (float32) of a ball of ``radius`` voxels centred at ``centre`` (voxel coordinates)."""
    offsets = (np.arange(sub) + 0.5) / sub - 0.5
    axes = [(np.arange(n)[:, None] + offsets[None, :]).ravel() - c for n, c in zip(shape, centre, strict=True)]
    x, y, z = np.meshgrid(*axes, indexing="ij", sparse=True)
    inside = (x**2 + y**2 + z**2 <= radius**2).astype(np.float32)
    return inside.reshape(shape[0], sub, shape[1], sub, shape[2], sub).mean(axis=(1, 3, 5))


def _phantom(shape=(32, 32, 40), *, affine=None, plane=None, balls=(), brain=None):
    """A homogeneous white-matter phantom on an H mm grid, optionally with a bright plane and dark balls (CMBs).

    ``balls`` are ``(centre_voxel, radius_mm)``; each darkens the signal with lesions by its volume fraction.
    """
    if affine is None:
        affine = np.diag([H, H, H, 1.0])
        affine[:3, 3] = (-5.0, 3.0, -7.0)
    background = np.full(shape, LEVEL, np.complex64)
    if plane is not None:
        background[:, :, plane] += 4.0 * LEVEL
    clean = background.copy()
    lesions = []
    for centre, radius in balls:
        clean *= 1.0 - _ball(shape, centre, radius / H)
        lesions.append(SimpleNamespace(centre_mm=affine[:3, :3] @ np.asarray(centre, float) + affine[:3, 3]))
    return SimpleNamespace(
        affine=affine,
        clean=clean,
        clean_without_lesions=background,
        brain_mask=(np.ones(shape) if brain is None else brain).astype(np.uint8),
        lesions=lesions,
        acquisition={"snr_wm": 20.0, "noise_sigma": LEVEL / 20.0},
    )


def _render(subject, seed=0, **changes):
    return render_scan(subject, dataclasses.replace(PLAIN, **changes), np.random.default_rng(seed))


@pytest.mark.parametrize("thickness", [1.5, 2.0, 3.5])
def test_box_slices_have_the_drawn_effective_thickness(thickness):
    """A thin bright plane inside a slice shows diluted by H/thickness in that slice and nowhere else."""
    shape = (16, 16, 48)
    centres = slice_centres(shape[2], H, thickness, 0.0, 0.5)
    k = len(centres) // 2
    plane = int(round(centres[k] / H))
    scan = _render(_phantom(shape, plane=plane), slice_thickness=thickness)
    excess = scan.image.mean(axis=(0, 1)) - LEVEL
    assert 4.0 * LEVEL * H / excess[k] == pytest.approx(thickness, rel=0.01)
    assert np.abs(np.delete(excess, k)).max() < 0.01 * excess[k]
    assert scan.record["rendered_spacing_mm"][2] == pytest.approx(thickness)


def test_a_plane_in_a_gap_is_not_acquired():
    shape, thickness, gap = (16, 16, 48), 2.0, 1.0
    centres = slice_centres(shape[2], H, thickness, gap, 0.5)
    plane = int(np.ceil((centres[1] + thickness / 2) / H + 0.5))  # an HR slice wholly inside the gap after slice 1
    assert (plane + 0.5) * H <= centres[1] + thickness / 2 + gap
    scan = _render(_phantom(shape, plane=plane), slice_thickness=thickness, slice_gap=gap)
    assert np.abs(scan.image.mean(axis=(0, 1)) - LEVEL).max() < 0.01 * LEVEL
    record = scan.record
    assert record["slice_coverage_mm"] < record["slice_fov_mm"]
    assert record["n_slices"] == len(centres) and record["rendered_spacing_mm"][2] == pytest.approx(3.0)


@pytest.mark.parametrize(
    "inplane, thickness, gap, matrix, slices",
    [
        (H, 2.0, 0.0, (32, 32), 10),
        (1.0, 4.0, 0.0, (16, 16), 5),
        (0.8, 5.0, 1.0, (20, 20), 3),
        (0.25, 2.0, 0.5, (64, 64), 8),
    ],
)
def test_rendered_grid_keeps_the_field_of_view(inplane, thickness, gap, matrix, slices):
    subject = _phantom()
    scan = _render(subject, inplane_spacing=inplane, slice_thickness=thickness, slice_gap=gap)
    assert scan.image.shape == (*matrix, slices)
    spacing = np.linalg.norm(scan.affine[:3, :3], axis=0)
    np.testing.assert_allclose(spacing, [16.0 / matrix[0], 16.0 / matrix[1], thickness + gap])
    # in-plane sample 0 sits on HR voxel 0; the slices are centred on their slabs
    hr_voxel = np.linalg.inv(subject.affine) @ scan.affine @ [0, 0, 0, 1]
    expected_z = slice_centres(40, H, thickness, gap, 0.5)[0] / H
    np.testing.assert_allclose(hr_voxel[:3], [0.0, 0.0, expected_z], atol=1e-9)
    for mask in (scan.cmb_label, scan.brain_mask, scan.presentation_mask):
        assert mask.shape == scan.image.shape and mask.dtype == np.uint8


@pytest.mark.parametrize(
    "snr, window, partial_fourier",
    [(10.0, "none", 1.0), (40.0, "none", 1.0), (20.0, "hamming", 1.0), (20.0, "fermi", 0.75)],
)
def test_snr_in_a_homogeneous_region_matches_the_draw(snr, window, partial_fourier):
    scan = _render(
        _phantom((48, 48, 40)),
        inplane_spacing=0.8,
        snr=snr,
        kspace_window=window,
        partial_fourier=partial_fourier,
    )
    values = scan.image.astype(np.float64)
    measured = values.mean() / values.std()
    assert measured == pytest.approx(snr, rel=0.06)
    assert scan.record["noise_sigma"] == pytest.approx(LEVEL / snr, rel=1e-3)


def test_bias_field_modulates_the_intensity_smoothly():
    flat = _render(_phantom(), snr=1e3)
    biased = _render(_phantom(), snr=1e3, bias_amplitude=0.5)
    ratio = biased.image / flat.image
    assert ratio.max() / ratio.min() > 1.5
    assert ratio.min() >= 1 / 1.5 - 0.02 and ratio.max() <= 1.5 + 0.02
    assert np.abs(np.diff(ratio, axis=0)).max() < 0.1


def _brain_ball(shape=(40, 40, 40)):
    return _ball(shape, [(n - 1) / 2 for n in shape], 14.0) >= 0.5


@pytest.mark.parametrize("margin", [-2.0, 0.0, 1.5, 3.0])
def test_nan_presentation_is_nan_exactly_outside_the_stripping_mask(margin):
    brain = _brain_ball()
    scan = _render(
        _phantom(brain.shape, brain=brain), presentation="skull_stripped_nan", strip_margin=margin, inplane_spacing=0.7
    )
    keep = scan.presentation_mask > 0
    np.testing.assert_array_equal(np.isnan(scan.image), ~keep)
    assert np.isfinite(scan.image[keep]).all()
    inside, true_brain = keep.sum(), (scan.brain_mask > 0).sum()
    if margin < 0:
        assert inside < true_brain and not (keep & (scan.brain_mask == 0)).any()
    elif margin > 0:
        assert inside > true_brain and keep[scan.brain_mask > 0].all()
    else:
        np.testing.assert_array_equal(keep, scan.brain_mask > 0)


def test_zero_presentation_and_whole_head():
    brain = _brain_ball()
    subject = _phantom(brain.shape, brain=brain)
    stripped = _render(subject, presentation="skull_stripped_zero", strip_margin=-1.0)
    keep = stripped.presentation_mask > 0
    assert (stripped.image[~keep] == 0).all() and (stripped.image[keep] > 0).all()
    whole = _render(subject)
    assert whole.presentation_mask.all() and (whole.image > 0).all()


ORIENTATIONS = [((0, 1, 2), (True, False, True)), ((1, 0, 2), (False, True, False)), ((2, 0, 1), (True, True, True))]


@pytest.mark.parametrize("permutation, flips", ORIENTATIONS)
def test_stored_orientation_keeps_world_coordinates(permutation, flips):
    affine = np.eye(4)
    affine[:3, :3] = Rotation.from_euler("xyz", [10, -5, 20], degrees=True).as_matrix() * H
    affine[:3, 3] = (12.0, -30.0, 4.0)
    subject = _phantom((40, 40, 40), affine=affine, balls=[((17.3, 22.1, 20.4), 2.5)])
    changes = {"inplane_spacing": 0.7, "slice_thickness": 3.0}
    plain = _render(subject, **changes)
    stored = _render(subject, axis_permutation=permutation, flips=flips, **changes)
    assert stored.image.shape == tuple(plain.image.shape[a] for a in permutation)
    assert stored.record["slice_axis"] == permutation.index(2)
    assert np.argmax(np.linalg.norm(stored.affine[:3, :3], axis=0)) == permutation.index(2)

    def centroid_mm(scan):
        voxel = np.argwhere(scan.cmb_label > 0).mean(axis=0)
        return scan.affine[:3, :3] @ voxel + scan.affine[:3, 3]

    np.testing.assert_allclose(centroid_mm(stored), centroid_mm(plain), atol=1e-6)
    np.testing.assert_allclose(centroid_mm(plain), subject.lesions[0].centre_mm, atol=3.0 / 2)
    # every stored voxel holds the rendered value at the same world position
    index = np.argwhere(np.ones(stored.image.shape, bool))[::97]
    world = (stored.affine @ np.c_[index, np.ones(len(index))].T)[:3]
    back = np.rint((np.linalg.inv(plain.affine) @ np.r_[world, np.ones((1, len(index)))])[:3]).astype(int)
    np.testing.assert_array_equal(stored.image[tuple(index.T)], plain.image[tuple(back)])


@pytest.mark.parametrize("thickness, visible", [(H, [True, True]), (5.0, [False, True])])
def test_a_tiny_cmb_loses_its_label_at_thick_slices_a_big_one_keeps_it(thickness, visible):
    subject = _phantom((40, 24, 48), balls=[((10.2, 12.0, 24.3), 0.75), ((29.6, 11.8, 23.7), 3.0)])
    scan = _render(subject, slice_thickness=thickness)
    assert [c["visible"] for c in scan.record["cmbs"]] == visible
    labels, count = ndimage.label(scan.cmb_label, CONNECTIVITY)
    assert count == sum(visible) == scan.record["n_cmb_visible"]
    big = np.argwhere(labels == labels[tuple(np.rint(scan.record["cmbs"][1]["centre_voxel"]).astype(int))])
    assert len(big) > 0 and np.abs(big[:, 0] - 29.6).max() < 10


@pytest.mark.parametrize("dtype", ["float32", "float64", "int16", "uint16", "uint8"])
@pytest.mark.parametrize("scale", [0.1, 1000.0])
def test_dtype_and_intensity_scale_are_honoured(dtype, scale):
    subject = _phantom(balls=[((15.0, 15.0, 20.0), 2.0)])
    reference = _render(subject, snr=20.0)
    scan = _render(subject, snr=20.0, dtype=dtype, intensity_scale=scale)
    assert scan.image.dtype == np.dtype(dtype)
    stored_scale = scan.record["stored_scale"]
    if np.dtype(dtype).kind == "f":
        assert stored_scale == scale
        np.testing.assert_allclose(scan.image, reference.image * scale, rtol=1e-6)
    else:
        top = np.iinfo(dtype).max
        assert stored_scale <= scale and scan.image.max() <= top
        if reference.image.max() * scale <= top:
            assert stored_scale == scale
        else:
            assert scan.image.max() >= 0.99 * top  # rescaled to fill the range, not clipped
        assert np.abs(scan.image - reference.image * stored_scale).max() <= 0.5 + 1e-3 * top


@pytest.mark.parametrize("warp, extra", [("gamma", {"gamma": 0.6}), ("gamma", {"gamma": 1.6}),
                                         ("piecewise", {"warp_slopes": (0.5, 2.0, 1.2, 0.7)})])  # fmt: skip
def test_intensity_warp_is_monotonic_and_keeps_zero(warp, extra):
    brain = _brain_ball()
    subject = _phantom(brain.shape, brain=brain, balls=[((20.0, 20.0, 20.0), 3.0)])
    changes = {"presentation": "skull_stripped_zero", "snr": 15.0}
    plain = _render(subject, **changes)
    warped = _render(subject, intensity_warp=warp, **extra, **changes)
    order = np.argsort(plain.image, axis=None)
    assert (np.diff(warped.image.ravel()[order]) >= 0).all()
    assert (warped.image[plain.image == 0] == 0).all()
    assert not np.allclose(warped.image, plain.image, rtol=0.02)


def test_same_seed_gives_a_bit_identical_scan():
    subject = _phantom(_brain_ball().shape, brain=_brain_ball(), balls=[((18.0, 21.0, 20.0), 2.5)])
    for seed in range(4):
        draw = draw_scanner(ScannerConfig(), np.random.default_rng(seed))
        assert draw == draw_scanner(ScannerConfig(), np.random.default_rng(seed))
        first = render_scan(subject, draw, np.random.default_rng(7))
        again = render_scan(subject, draw, np.random.default_rng(7))
        for name in ("image", "cmb_label", "brain_mask", "presentation_mask", "affine"):
            np.testing.assert_array_equal(getattr(again, name), getattr(first, name), err_msg=name)
        assert again.record == first.record
        json.dumps(first.record)
    other = render_scan(subject, draw, np.random.default_rng(8))
    assert not np.array_equal(other.image, first.image, equal_nan=True)


@pytest.mark.slow
def test_rendered_subject_labels_agree_with_the_cohort_thick_slices(small_subject):
    """A box scan at the HR in-plane spacing and twice the HR slice thickness is the cohort's native x2 acquisition."""
    s = small_subject
    spacing = float(np.linalg.norm(s.affine[:3, 0]))
    draw = draw_scanner(SCANNER_PRESETS["default_like"], np.random.default_rng(0))
    draw = dataclasses.replace(draw, inplane_spacing=spacing, slice_thickness=2 * spacing)
    scan = render_scan(s, draw, np.random.default_rng(0))
    np.testing.assert_allclose(scan.affine, s.lr["x2"].affine, atol=1e-9)
    visible = [c["visible"] for c in scan.record["cmbs"]]
    assert visible == [lesion.extra["visible_lr-x2"] for lesion in s.lesions]
    cohort = s.lr["x2"].cmb_label > 0
    rendered = scan.cmb_label > 0
    assert not (rendered & ~cohort).any()
    # the cohort keeps the darkest voxel of a CMB it cannot see; the rendered scan gives it no label
    assert (cohort & ~rendered).sum() == visible.count(False)
    # and a broad training draw gives one component per visible CMB, at its lesion
    draw = dataclasses.replace(draw_scanner(ScannerConfig(), np.random.default_rng(3)), inplane_spacing=1.0)
    scan = render_scan(s, draw, np.random.default_rng(1))
    labels, count = ndimage.label(scan.cmb_label, CONNECTIVITY)
    assert count == scan.record["n_cmb_visible"] >= 1
    for cmb in scan.record["cmbs"]:
        if cmb["visible"]:
            x, y, z = np.argwhere(labels > 0).T
            world = scan.affine @ np.stack([x, y, z, np.ones_like(x)])
            assert np.linalg.norm(world[:3].T - cmb["centre_mm"], axis=1).min() < 6.0


def test_bad_render_arguments_name_the_argument():
    subject = _phantom()
    with pytest.raises(TypeError, match="draw: expected a ScannerDraw"):
        render_scan(subject, PLAIN.record(), np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng: expected a numpy.random.Generator"):
        render_scan(subject, PLAIN, 0)
    with pytest.raises(ValueError, match="label_threshold: expected a fraction"):
        render_scan(subject, PLAIN, np.random.default_rng(0), label_threshold=1.0)
    with pytest.raises(ValueError, match="draw.slice_thickness: 12.0 mm is thicker than"):
        _render(_phantom((16, 16, 16)), slice_thickness=12.0)
    with pytest.raises(ValueError, match="subject.acquisition: expected the keys 'snr_wm' and 'noise_sigma'"):
        render_scan(SimpleNamespace(**{**vars(subject), "acquisition": {}}), PLAIN, np.random.default_rng(0))
    with pytest.raises(ValueError, match="subject.brain_mask: expected the shape"):
        render_scan(
            SimpleNamespace(**{**vars(subject), "brain_mask": np.ones((2, 2, 2))}), PLAIN, np.random.default_rng(0)
        )
    with pytest.raises(TypeError, match="config: expected a ScannerConfig"):
        draw_scanner({"snr_range": (1, 2)}, np.random.default_rng(0))
