import numpy as np
import pytest

from cmb_kd.synth.slice_profile import SLICE_PROFILES, slice_centres, slice_profile, slice_weights


def _fwhm(z: np.ndarray, values: np.ndarray) -> float:
    """Full width at half maximum of a single-peaked sampled curve, with linear interpolation at the crossings."""
    half = values.max() / 2.0
    above = np.flatnonzero(values >= half)
    i, j = above[0], above[-1]
    left = np.interp(half, [values[i - 1], values[i]], [z[i - 1], z[i]])
    right = np.interp(half, [values[j + 1], values[j]], [z[j + 1], z[j]])
    return float(right - left)


@pytest.mark.parametrize("profile", SLICE_PROFILES)
@pytest.mark.parametrize("thickness, tbw", [(2.0, 2.0), (3.3, 4.0), (6.0, 6.0)])
def test_profile_peaks_at_one_with_fwhm_equal_to_thickness(profile, thickness, tbw):
    z = np.linspace(-3 * thickness, 3 * thickness, 60001)
    values = slice_profile(profile, z, thickness, time_bandwidth=tbw)
    assert values.max() == pytest.approx(1.0)
    assert values[len(z) // 2] == pytest.approx(1.0)
    assert _fwhm(z, values) == pytest.approx(thickness, abs=1e-3)
    np.testing.assert_allclose(slice_profile(profile, -z, thickness, time_bandwidth=tbw), values, atol=1e-12)


def test_rf_profile_has_finite_transitions_and_small_negative_lobes():
    z = np.linspace(-8.0, 8.0, 16001)
    rf = slice_profile("rf", z, 4.0, time_bandwidth=4.0)
    box = slice_profile("box", z, 4.0)
    assert -0.02 < rf.min() < 0.0  # ripples of a windowed sinc pulse
    assert 0.0 < rf[np.abs(z - 2.4).argmin()] < 0.5  # signal just outside the nominal slice edge
    assert np.abs(rf - box).max() > 0.3


@pytest.mark.parametrize("thickness, hr_spacing", [(2.0, 0.5), (2.5, 1.0), (3.0, 1.0), (4.8, 0.4)])
def test_box_weights_give_the_effective_thickness(thickness, hr_spacing):
    """A thin bright plane inside a slice is diluted by hr_spacing/thickness: effective thickness = thickness."""
    n_hr = 60
    centres = slice_centres(n_hr, hr_spacing, thickness, 0.0, 0.5)
    weights = slice_weights("box", centres, n_hr, hr_spacing, thickness)
    z = np.arange(n_hr) * hr_spacing
    for k in range(len(centres)):
        row = weights[k]
        assert row.sum() == pytest.approx(1.0, abs=1e-5)
        assert row.sum() * hr_spacing / row.max() == pytest.approx(thickness, rel=1e-5)
        assert (row * z).sum() == pytest.approx(centres[k], abs=0.1 * hr_spacing)  # centred on its slice
    # contiguous slices: every HR voxel of the stack is counted exactly once
    covered = weights.sum(axis=0)
    inside = (z > centres[0] - thickness / 2 + hr_spacing) & (z < centres[-1] + thickness / 2 - hr_spacing)
    np.testing.assert_allclose(covered[inside] * thickness / hr_spacing, 1.0, atol=1e-5)


@pytest.mark.parametrize("profile", SLICE_PROFILES)
def test_plane_response_across_the_slice_traces_the_profile(profile):
    """Moving a thin plane across one slice: its weight traces the profile, whose FWHM is the thickness."""
    hr_spacing, thickness, n_hr = 0.05, 3.0, 400
    centre = 10.0
    weights = slice_weights(profile, np.array([centre]), n_hr, hr_spacing, thickness, time_bandwidth=4.0)[0]
    z = np.arange(n_hr) * hr_spacing
    assert _fwhm(z, weights) == pytest.approx(thickness, abs=2 * hr_spacing)
    assert weights.sum() == pytest.approx(1.0, abs=1e-5)


def test_gap_leaves_part_of_the_field_of_view_uncovered():
    n_hr, hr_spacing, thickness = 80, 0.5, 2.0
    contiguous = slice_centres(n_hr, hr_spacing, thickness, 0.0, 0.5)
    gapped = slice_centres(n_hr, hr_spacing, thickness, 1.0, 0.5)
    np.testing.assert_allclose(np.diff(gapped), 3.0)
    assert len(gapped) * thickness < n_hr * hr_spacing
    assert len(gapped) < len(contiguous) == 20
    covered = slice_weights("box", gapped, n_hr, hr_spacing, thickness).sum(axis=0)
    empty = np.flatnonzero(covered == 0)
    z = np.arange(n_hr) * hr_spacing
    gaps_inside = (z > gapped[0]) & (z < gapped[-1])
    assert gaps_inside[empty].sum() >= len(gapped) - 1  # at least one HR slice in each gap is never seen


@pytest.mark.parametrize("offset", [0.0, 0.3, 1.0])
def test_slice_stack_fits_the_field_of_view(offset):
    n_hr, hr_spacing, thickness, gap = 50, 1.0, 3.0, 0.7
    centres = slice_centres(n_hr, hr_spacing, thickness, gap, offset)
    start, stop = centres[0] - thickness / 2, centres[-1] + thickness / 2
    assert start >= -0.5 - 1e-9 and stop <= n_hr - 0.5 + 1e-9
    leftover = n_hr - (stop - start)
    assert leftover < thickness + gap
    assert start + 0.5 == pytest.approx(offset * leftover)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: slice_profile("sinc", np.zeros(3), 2.0), "profile: Unsupported option 'sinc'"),
        (lambda: slice_profile("box", np.zeros(3), 0.0), "thickness: expected a positive"),
        (lambda: slice_profile("rf", np.zeros(3), 2.0, time_bandwidth=0.0), "time_bandwidth"),
        (lambda: slice_centres(10, 1.0, 12.0, 0.0), r"thickness: expected a slice thickness in \(0, 10.0\]"),
        (lambda: slice_centres(10, 1.0, 2.0, -1.0), "gap: expected a non-negative"),
        (lambda: slice_centres(10, 1.0, 2.0, 0.0, 1.5), "offset: expected a fraction"),
        (lambda: slice_weights("gausian", np.zeros(1), 10, 1.0, 2.0), "profile: By 'gausian', did you mean 'gaussian'"),
    ],
)
def test_bad_arguments_name_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()
