"""Tests of check_scan_plausibility: silent on the simulator's scans, refusing masks and labels, warning on doubts."""

from __future__ import annotations

import numpy as np
import pytest

from cmb_kd.inference import MAX_SLICE_MM, InputError, check_scan_plausibility
from cmb_kd.synth import SynthConfig, simulate_subject

THICK = "thicker than the"


@pytest.fixture(scope="module")
def subject():
    """A small generated subject (2 mm HR grid) with its native x2, x4 and x8 thick-slice acquisitions."""
    return simulate_subject(SynthConfig(shape=(96, 112, 88), spacing=2.0, lr_factors=(2, 4, 8)), seed=11)


def _acquisition(subject, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if key == "hr":
        return subject.magnitude, subject.affine, subject.brain_mask > 0
    lr = subject.lr[key]
    return lr.magnitude, lr.affine, lr.brain_mask > 0


def _layout(magnitude: np.ndarray, brain: np.ndarray, layout: str) -> np.ndarray:
    """The scan as a user may store it: whole head (float, int16, uint8), skull-stripped on 0 or on NaN."""
    if layout == "whole":
        return magnitude
    if layout == "int16":
        return np.round(magnitude).astype(np.int16)
    if layout == "uint8":
        return np.round(magnitude / magnitude.max() * 255).astype(np.uint8)
    if layout == "stripped_zero":
        return np.where(brain, magnitude, 0)
    if layout == "stripped_nan":
        return np.where(brain, magnitude, np.nan)
    raise ValueError(layout)


def _largest_spacing(affine: np.ndarray) -> float:
    return float(np.linalg.norm(affine[:3, :3], axis=0).max())


@pytest.mark.parametrize("layout", ["whole", "int16", "uint8", "stripped_zero", "stripped_nan"])
@pytest.mark.parametrize("key", ["hr", "x2", "x4", "x8"])
def test_no_warning_on_the_simulators_scans(subject, key: str, layout: str) -> None:
    magnitude, affine, brain = _acquisition(subject, key)
    warnings = check_scan_plausibility(_layout(magnitude, brain, layout), affine, f"sub-011_{key}.nii.gz")
    # only the slice thickness may be warned about (x4 and x8 of the 2 mm grid: 8 and 16 mm slices)
    assert [w for w in warnings if THICK not in w] == []
    assert any(THICK in w for w in warnings) == (_largest_spacing(affine) > MAX_SLICE_MM)


@pytest.mark.parametrize("key", ["hr", "x4"])
@pytest.mark.parametrize("layout", ["whole", "stripped_zero"])
def test_inverted_contrast_is_warned(subject, key: str, layout: str) -> None:
    magnitude, affine, brain = _acquisition(subject, key)
    scan = _layout(magnitude, brain, layout)
    warnings = check_scan_plausibility(scan.max() - scan, affine)
    assert any("6 of the 6 faces of the volume are brighter than its centre" in w for w in warnings)
    assert all(";" not in w for w in warnings)  # the summary joins warnings with "; "


def _blocks() -> np.ndarray:
    """A label map of 48 blocks of 12 x 12 x 6 voxels (labels 1-48) inside a zero background."""
    labels = np.zeros((52, 52, 20), dtype=np.int16)
    ii, jj, kk = np.indices((48, 48, 18))
    labels[2:-2, 2:-2, 1:-1] = 1 + ii // 12 * 12 + jj // 12 * 3 + kk // 6
    return labels


def _refusal_cases() -> list[tuple[str, np.ndarray, str]]:
    rng = np.random.default_rng(0)
    scan = rng.uniform(10.0, 100.0, size=(24, 24, 12)).astype(np.float32)
    brain = np.zeros(scan.shape, dtype=np.uint8)
    brain[4:20, 4:20, 2:10] = 1
    instances = np.zeros((40, 40, 20), dtype=np.int16)
    for label in range(1, 31):  # 30 lesions of 2 voxels: sparse, not piecewise constant
        i, j, k = rng.integers(1, 38, size=3)
        instances[i, j : j + 2, min(k, 18)] = label
    return [
        ("brain mask", brain, r"only 2 distinct voxel value\(s\) \(0, 1\): a mask or a label map"),
        ("boolean mask", brain.astype(bool), "only 2 distinct"),
        ("rater grades 0-3", np.where(brain, rng.integers(1, 4, size=scan.shape), 0), r"only 4 distinct .*0, 1, 2, 3"),
        ("float label map", brain.astype(np.float32) * 3.0, "only 2 distinct"),
        ("label map of 48 blocks", _blocks(), r"piecewise-constant integer image \(49 distinct values"),
        ("instance labels", instances, "differing from its background value 0: a lesion or label map"),
        ("all negative", -scan, r"no positive intensity \(every voxel at or below 0"),
        ("negated with a zero background", -scan * brain, "no positive intensity"),
        ("all NaN", np.full(scan.shape, np.nan, dtype=np.float32), "no finite voxel"),
    ]


@pytest.mark.parametrize(
    ("data", "match"), [case[1:] for case in _refusal_cases()], ids=[c[0] for c in _refusal_cases()]
)
def test_masks_labels_and_non_positive_images_are_refused(tmp_path, data: np.ndarray, match: str) -> None:
    source = tmp_path / "sub-001_T2S.nii.gz"
    with pytest.raises(InputError, match=match) as info:
        check_scan_plausibility(data, np.diag([1.0, 1.0, 3.0, 1.0]), source)
    assert info.value.path == source
    assert str(info.value).startswith(f"{source}: ")
    assert "expected a T2*/SWI magnitude scan" in str(info.value)


def test_a_noisy_integer_scan_and_a_nan_background_pass(scan_image) -> None:
    affine = np.diag([1.0, 1.0, 3.0, 1.0])
    assert check_scan_plausibility(np.round(scan_image).astype(np.uint8), affine) == ()
    with_nan = scan_image.copy()
    with_nan[0] = np.nan
    assert check_scan_plausibility(with_nan, affine) == ()


def test_signed_intensities_are_warned() -> None:
    phase = np.random.default_rng(1).uniform(-np.pi, np.pi, size=(24, 24, 12)).astype(np.float32)
    (warning,) = check_scan_plausibility(phase, np.eye(4))
    assert "of the voxels are negative" in warning and "phase image" in warning


@pytest.mark.parametrize(
    ("slice_mm", "expected"),
    [
        (3.0, None),
        (5.0, None),
        (6.0, "slices of 6 mm are thicker than the 5 mm the model is validated for"),
        (8.0, "slices of 8 mm are thicker than the 5 mm the model is validated for"),
        (10.0, "slices of 10 mm are thicker than the 8 mm the model was trained on"),
    ],
)
def test_thick_slices_are_warned(scan_image, slice_mm: float, expected: str | None) -> None:
    # the largest voxel size counts, whatever axis it is on and however the grid is oriented
    affine = np.array([[0.0, 0.0, slice_mm, 0.0], [-0.9, 0.0, 0.0, 0.0], [0.0, 0.9, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    warnings = check_scan_plausibility(scan_image, affine)
    if expected is None:
        assert warnings == ()
    else:
        assert len(warnings) == 1 and warnings[0].startswith(expected)


def test_the_thickness_limit_can_be_set(scan_image) -> None:
    affine = np.diag([1.0, 1.0, 6.0, 1.0])
    assert check_scan_plausibility(scan_image, affine, max_slice_mm=6.0) == ()
    assert check_scan_plausibility(scan_image, affine, max_slice_mm=2.0)[0].startswith("slices of 6 mm")


@pytest.mark.parametrize(
    ("data", "affine", "kwargs", "match"),
    [
        (np.ones((4, 4)), np.eye(4), {}, r"data: expected a real 3D volume .*shape \(4, 4\)"),
        (np.ones((4, 4, 4), dtype=np.complex64), np.eye(4), {}, "data: expected real voxel values"),
        (np.array([["a"]] * 3), np.eye(4), {}, "data: expected a real 3D volume"),
        (np.ones((4, 4, 4)), np.eye(3), {}, r"affine: expected a finite, invertible 4x4 .*shape \(3, 3\)"),
        (np.ones((4, 4, 4)), np.eye(4), {"max_slice_mm": 0}, "max_slice_mm: expected a positive number"),
        (np.ones((4, 4, 4)), np.eye(4), {"max_slice_mm": True}, "max_slice_mm: expected a positive number"),
    ],
)
def test_bad_arguments(data, affine, kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        check_scan_plausibility(data, affine, **kwargs)
