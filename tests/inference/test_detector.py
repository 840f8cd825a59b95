"""Tests of CMBDetector on tiny volumes with a given brain mask (no skull stripping) and stand-in networks."""

from __future__ import annotations

import logging
import math

import nibabel as nib
import numpy as np
import pytest
import torch
from _inference_helpers import ANISOTROPIC_AFFINE, PHANTOM_AFFINE, head_phantom
from monai.data import MetaTensor
from monai.inferers import SlidingWindowInferer

from cmb_kd.inference import (
    LESION_COLUMNS,
    STAGES,
    CandidatePatchInferer,
    CleanupRules,
    CMBDetector,
    InputError,
    LesionCleanup,
    PreparedScan,
)
from cmb_kd.networks import E2UNet, ScreeningFCN
from cmb_kd.transforms import ResampleToWorkingGrid

PATCH = (16, 16, 8)


class _CentreBall(torch.nn.Module):
    """Stand-in for a trained network: a high logit in a ball of radius 2 voxels at the crop centre."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grid = torch.meshgrid(*[torch.arange(n, dtype=torch.float32) - n // 2 for n in x.shape[2:]], indexing="ij")
        ball = sum(g**2 for g in grid) <= 4.0
        return torch.where(ball, 10.0, -10.0).expand(x.shape[0], 1, *x.shape[2:]).clone()


def _scan() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A (48, 44, 14) scan of 0.5 x 0.5 x 3 mm voxels, x flipped: a brain block with two dark spots."""
    rng = np.random.default_rng(3)
    image = rng.normal(100.0, 3.0, size=(48, 44, 14)).astype(np.float32)
    brain = np.zeros(image.shape, dtype=np.uint8)
    brain[4:44, 4:40, 2:12] = 1
    image[brain == 0] = 20.0
    ii, jj, kk = np.meshgrid(*[np.arange(n) for n in image.shape], indexing="ij")
    for ci, cj, ck in [(16, 14, 6), (32, 30, 8)]:
        spot = ((ii - ci) * 0.5) ** 2 + ((jj - cj) * 0.5) ** 2 + ((kk - ck) * 3.0) ** 2 <= 2.5**2
        image[spot] = 30.0
    return image, ANISOTROPIC_AFFINE.copy(), brain


def _detector(network: torch.nn.Module | None = None, **kwargs) -> CMBDetector:
    torch.manual_seed(0)
    return CMBDetector(
        _CentreBall() if network is None else network, inferer=CandidatePatchInferer(PATCH, batch_size=4), **kwargs
    )


def test_detections_come_back_on_the_exact_input_grid() -> None:
    image, affine, brain = _scan()
    result = _detector()(image, affine, brain_mask=brain)
    assert result.mask.dtype == np.uint8 and result.mask.shape == image.shape
    assert np.array_equal(result.affine, affine)
    assert result.probability.shape == image.shape and result.probability.dtype == np.float32
    assert set(np.unique(result.mask)) <= {0, 1}
    assert list(result.timings) == list(STAGES) and all(t >= 0 for t in result.timings.values())
    assert result.count == len(result.lesions) >= 2
    assert list(result.lesions[0].as_row()) == list(LESION_COLUMNS)
    # both dark spots are detected, at the right place (world mm through the input affine)
    spots_mm = [affine[:3, :3] @ np.array(c) + affine[:3, 3] for c in [(16, 14, 6), (32, 30, 8)]]
    for spot in spots_mm:
        assert min(np.linalg.norm(np.array(les.centroid_mm) - spot) for les in result.lesions) < 3.0
    assert all(les.max_probability > 0.99 for les in result.lesions)
    assert not result.mask[brain == 0].any()  # the brain-margin rule removed nothing inside, nothing outside


def test_candidates_are_on_the_working_grid() -> None:
    image, affine, brain = _scan()
    result = _detector()(image, affine, brain_mask=brain)
    assert result.candidates
    for candidate in result.candidates:
        assert all(v >= 0 for v in candidate.voxel)
    # 1 mm working grid: the field of view is 24 x 22 x 42 mm
    assert max(c.voxel[2] for c in result.candidates) < 42


def test_numpy_metatensor_and_path_give_the_same_result(tmp_path, write_nifti) -> None:
    image, affine, brain = _scan()
    detector = _detector(cleanup=False)
    from_array = detector(image, affine, brain_mask=brain)
    from_meta = detector(MetaTensor(torch.from_numpy(image)[None], affine=torch.as_tensor(affine)), brain_mask=brain)
    path = write_nifti(tmp_path / "scan.nii.gz", image, affine)
    mask_path = write_nifti(tmp_path / "brain.nii.gz", brain, affine)
    from_path = detector(path, brain_mask=mask_path)
    from_nibabel = detector(nib.load(path), brain_mask=nib.load(mask_path))
    assert np.array_equal(from_array.mask, from_meta.mask)
    assert np.array_equal(from_array.mask, from_path.mask)
    assert np.array_equal(from_array.probability, from_nibabel.probability)
    assert nib.load(path).shape == image.shape
    with pytest.raises(ValueError, match="affine: expected None with a nibabel image"):
        detector(nib.load(path), affine)


def test_from_bundle_without_a_folder_builds_the_shipped_bundle() -> None:
    from cmb_kd.inference import default_bundle_dir

    shipped, named = CMBDetector.from_bundle(), CMBDetector.from_bundle(default_bundle_dir())
    assert shipped.threshold == named.threshold
    first = next(iter(named.network.state_dict().values()))
    assert torch.equal(next(iter(shipped.network.state_dict().values())), first)


def test_untrained_e2unet_and_screening_fcn_run_end_to_end() -> None:
    image, affine, brain = _scan()
    detector = _detector(
        E2UNet(3, 1, 1),
        screening_network=ScreeningFCN(3, 1, 1),
        screening_inferer=SlidingWindowInferer(roi_size=(32, 32, 16), sw_batch_size=1),
    )
    result = detector(image, affine, brain_mask=brain)
    assert result.mask.shape == image.shape
    assert result.timings["screening"] > 0
    assert any("fcn" in c.sources for c in result.candidates) or result.candidates == []
    assert float(result.probability.max()) <= 1.0


def test_threshold_one_minus_eps_and_no_cleanup() -> None:
    image, affine, brain = _scan()
    strict = _detector(threshold=math.nextafter(1.0, 0.0))(image, affine, brain_mask=brain)
    assert strict.count == 0 and not strict.mask.any()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"threshold": 1.0}, "threshold"),
        ({"threshold": 0}, "threshold"),
        ({"device": "tpu"}, "device"),
        ({"postprocessing": "cleanup"}, "postprocessing"),
    ],
)
def test_bad_construction(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _detector(**kwargs)


def test_bad_network_and_cuda_without_gpu() -> None:
    with pytest.raises(ValueError, match="network: expected a torch.nn.Module"):
        CMBDetector("E2UNet")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            _detector(device="cuda")


def test_bad_inputs(tmp_path) -> None:
    image, affine, brain = _scan()
    detector = _detector()
    with pytest.raises(ValueError, match="affine: expected the 4x4"):
        detector(image)
    with pytest.raises(ValueError, match="expected a 3D volume"):
        detector(image[..., 0], affine)
    with pytest.raises(ValueError, match=r"1 infinite voxel\(s\) \(Inf or -Inf\)"):
        detector(np.where(np.arange(image.size).reshape(image.shape) == 7, -np.inf, image), affine)
    with pytest.raises(ValueError, match="got only NaN"):
        detector(np.full_like(image, np.nan), affine)
    with pytest.raises(ValueError, match="constant image of 20"):  # the finite voxels, NaN apart
        detector(np.where(brain == 1, np.nan, 20.0), affine)
    with pytest.raises(ValueError, match="constant"):
        detector(np.zeros_like(image), affine)
    with pytest.raises(ValueError, match="brain_mask: expected the image's shape"):
        detector(image, affine, brain_mask=brain[:-1])
    with pytest.raises(ValueError, match="no brain voxel"):
        detector(image, affine, brain_mask=np.zeros_like(brain))
    with pytest.raises(InputError, match="file not found"):
        detector(tmp_path / "missing.nii.gz")
    with pytest.raises(ValueError, match="affine: expected None with a file path"):
        detector(tmp_path / "missing.nii.gz", affine)


def test_masks_labels_and_non_positive_scans_are_refused(tmp_path, write_nifti) -> None:
    image, affine, brain = _scan()
    detector = _detector()
    with pytest.raises(ValueError, match=r"^image: only 2 distinct voxel value\(s\) \(0, 1\): a mask") as info:
        detector(brain, affine)
    assert not isinstance(info.value, InputError)  # an array has no file to name
    with pytest.raises(ValueError, match=r"^image: only 4 distinct voxel value"):
        detector.prepare(brain * np.arange(4, dtype=np.uint8)[np.arange(brain.shape[0]) % 4, None, None], affine)
    with pytest.raises(ValueError, match="^image: no positive intensity"):
        detector(-image, affine, brain_mask=brain)
    path = write_nifti(tmp_path / "sub-001_T2S.nii.gz", brain.astype(np.float32), affine)
    with pytest.raises(InputError, match="only 2 distinct voxel value") as info:
        detector(path)
    assert info.value.path == path and str(info.value).startswith(f"{path}: ")


def test_doubtful_scans_are_warned_and_the_warnings_travel_with_the_result(caplog) -> None:
    image, affine, brain = _scan()
    detector = _detector()
    with caplog.at_level(logging.WARNING, logger="cmb_kd.inference"):
        assert detector(image, affine, brain_mask=brain).warnings == ()
    assert not caplog.records
    thick = affine.copy()
    thick[2, 2] = 10.0
    with caplog.at_level(logging.WARNING, logger="cmb_kd.inference"):
        prepared = detector.prepare(image, thick, brain_mask=brain)
        result = detector.segment(prepared)
    assert prepared.warnings == result.warnings and len(result.warnings) == 1
    assert result.warnings[0].startswith("slices of 10 mm are thicker than the 8 mm the model was trained on")
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert caplog.records[0].getMessage() == f"image of shape {image.shape}: {result.warnings[0]}"
    inverted = detector(image.max() - image, affine, brain_mask=brain)
    assert [w for w in inverted.warnings if "contrast looks inverted" in w]


class _AllLow(torch.nn.Module):
    """Stand-in for a network that finds nothing: a low logit everywhere."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full((x.shape[0], 1, *x.shape[2:]), -10.0)


def _bright_voxels(work: MetaTensor) -> MetaTensor:
    """Stand-in skull strip: the voxels brighter than the background of :func:`_scan`, as ``(1, X, Y, Z)``."""
    return MetaTensor((work.as_tensor() > 60.0).to(torch.uint8), affine=work.affine)


def _same_result(a, b) -> None:
    assert np.array_equal(a.mask, b.mask)
    assert np.array_equal(a.probability, b.probability)
    assert np.array_equal(a.affine, b.affine)
    assert a.count == b.count and [les.as_row() for les in a.lesions] == [les.as_row() for les in b.lesions]
    assert a.candidates == b.candidates
    assert list(a.timings) == list(b.timings) == list(STAGES)


@pytest.mark.parametrize("given_brain", [True, False])
def test_segment_of_prepare_equals_call(given_brain: bool) -> None:
    image, affine, brain = _scan()
    detector = _detector(skull_strip=_bright_voxels)
    brain_mask = brain if given_brain else None
    prepared = detector.prepare(image, affine, brain_mask=brain_mask)
    assert isinstance(prepared, PreparedScan)
    assert prepared.input_shape == image.shape and prepared.brain_input.shape == image.shape
    assert prepared.image.shape[:2] == (1, 1) and prepared.timings["segmentation"] == 0.0
    _same_result(detector.segment(prepared), detector(image, affine, brain_mask=brain_mask))


def test_segment_with_another_network_leaves_the_prepared_scan_reusable() -> None:
    image, affine, brain = _scan()
    detector = _detector()
    prepared = detector.prepare(image, affine, brain_mask=brain)
    before = (
        prepared.image.clone(),
        prepared.brain_input.copy(),
        prepared.brain_working.copy(),
        dict(prepared.timings),
    )
    own = detector.segment(prepared)
    low = detector.segment(prepared, network=_AllLow())
    assert own.count >= 2
    assert low.count == 0 and not low.mask.any() and float(low.probability.max()) < 0.5
    assert low.candidates == own.candidates
    again = detector.segment(prepared)
    _same_result(again, own)
    assert torch.equal(prepared.image, before[0])
    assert np.array_equal(prepared.brain_input, before[1]) and np.array_equal(prepared.brain_working, before[2])
    assert prepared.timings == before[3]
    assert detector.network.__class__ is _CentreBall  # the detector's own network is unchanged


class _Graded(torch.nn.Module):
    """Stand-in network whose logit falls off with the distance from the crop centre (probability 0.5 at 2 voxels)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grid = torch.meshgrid(*[torch.arange(n, dtype=torch.float32) - n // 2 for n in x.shape[2:]], indexing="ij")
        return (4.0 - sum(g**2 for g in grid)).expand(x.shape[0], 1, *x.shape[2:]).clone()


def test_detections_at_other_thresholds_equal_segment_at_them() -> None:
    image, affine, brain = _scan()
    prepared = _detector(_Graded()).prepare(image, affine, brain_mask=brain)
    result = _detector(_Graded()).segment(prepared)
    sizes = []
    for threshold in (0.3, 0.5, 0.9):
        at = _detector(_Graded(), threshold=threshold).segment(prepared)
        again = _detector(_Graded()).detections(prepared, result.probability, threshold)
        assert np.array_equal(again, at.mask) and again.dtype == np.uint8
        sizes.append(int(again.sum()))
    assert sizes[0] >= sizes[1] >= sizes[2] > 0 and sizes[0] > sizes[2]  # a higher threshold keeps fewer voxels
    detector = _detector(_Graded())
    with pytest.raises(ValueError, match=r"threshold: expected a probability in \(0, 1\), got 1.0"):
        detector.detections(prepared, result.probability, 1.0)
    with pytest.raises(ValueError, match="probability: expected the input's shape"):
        detector.detections(prepared, result.probability[:-1], 0.5)


def test_phase_threshold_applies_to_scans_given_with_their_phase() -> None:
    image, affine, brain = _scan()
    phase = np.zeros(image.shape, dtype=np.float32)  # flat: no dipole fit, the phase rule rejects nothing
    detector = _detector(_Graded(), threshold=0.9, phase_threshold=0.3)
    with_phase = detector.prepare(image, affine, brain_mask=brain, phase=phase)
    without = detector.prepare(image, affine, brain_mask=brain)
    assert detector.threshold_for(with_phase) == 0.3 and detector.threshold_for(without) == 0.9
    result = detector.segment(with_phase)
    np.testing.assert_array_equal(result.mask, detector.detections(with_phase, result.probability, 0.3))
    assert not np.array_equal(result.mask, detector.detections(with_phase, result.probability, 0.9))
    # the phase-sign rule off, or no phase threshold: one threshold for every scan
    rules_off = CMBDetector(
        _Graded(),
        inferer=CandidatePatchInferer(PATCH, batch_size=4),
        lesion_cleanup=LesionCleanup(CleanupRules(reject_calcification=False)),
        threshold=0.9,
        phase_threshold=0.3,
    )
    assert rules_off.threshold_for(with_phase) == 0.9
    assert _detector(_Graded(), threshold=0.9).threshold_for(with_phase) == 0.9
    with pytest.raises(ValueError, match=r"threshold: expected a probability in \(0, 1\), got 1.5"):
        _detector(phase_threshold=1.5)


def test_phase_beside_a_path_is_used_only_when_asked(tmp_path, write_nifti) -> None:
    image, affine, brain = _scan()
    scan = write_nifti(tmp_path / "sub-001_T2S.nii.gz", image, affine)
    detector = _detector(_Graded(), threshold=0.9, phase_threshold=0.3)
    assert detector.prepare(scan, brain_mask=brain).phase is None  # a path alone brings no phase
    assert detector.prepare(scan, brain_mask=brain, phase="beside").phase is None  # none beside it yet
    phase = np.random.default_rng(1).normal(0.0, 0.01, image.shape).astype(np.float32)
    write_nifti(tmp_path / "sub-001_phase.nii.gz", phase, affine)
    beside = detector.prepare(scan, brain_mask=brain, phase="beside")
    assert np.array_equal(beside.phase, phase) and detector.threshold_for(beside) == 0.3
    with pytest.raises(ValueError, match="'beside' needs the scan as a path"):
        detector.prepare(image, affine, brain_mask=brain, phase="beside")


def test_segment_bad_arguments() -> None:
    image, affine, brain = _scan()
    detector = _detector()
    with pytest.raises(ValueError, match="prepared: expected a PreparedScan"):
        detector.segment(image)
    prepared = detector.prepare(image, affine, brain_mask=brain)
    with pytest.raises(ValueError, match="network: expected a torch.nn.Module"):
        detector.segment(prepared, network="E2UNet")


class _RecordingSkullStrip:
    """Stand-in skull strip that records its calls: the voxels brighter than 60 (the phantom's tissue)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, work: MetaTensor) -> MetaTensor:
        self.calls += 1
        return _bright_voxels(work)


def _phantom_detector(**kwargs) -> tuple[CMBDetector, _RecordingSkullStrip]:
    """A detector on a 4 mm working grid (the phantom's own size) with a recording skull strip."""
    skull_strip = _RecordingSkullStrip()
    return _detector(skull_strip=skull_strip, working_grid=ResampleToWorkingGrid(4.0), **kwargs), skull_strip


def _edge_spots(image: np.ndarray, brain: np.ndarray) -> np.ndarray:
    """The phantom with dark spots just inside the brain's edge, where a detection reaches outside the brain."""
    image = image.copy()
    for spot in [(22, 8, 14), (22, 44, 14), (8, 26, 14), (22, 26, 21)]:
        assert brain[spot]
        image[spot] = 20.0
    return image


@pytest.mark.parametrize(
    ("kind", "source", "strip_calls"),
    [("brain-nan", "pre-masked", 0), ("brain-zero", "pre-masked", 0), ("head-zero-air", "skull-strip", 1)],
)
def test_the_brain_mask_comes_from_the_pre_masked_test_or_skull_stripping(kind, source, strip_calls, caplog) -> None:
    image, brain = head_phantom(kind)
    detector, skull_strip = _phantom_detector()
    with caplog.at_level(logging.INFO, logger="cmb_kd.inference"):
        prepared = detector.prepare(image, PHANTOM_AFFINE, name="sub-101_T2S.nii.gz")
    assert prepared.brain_source == source and skull_strip.calls == strip_calls
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    if source == "pre-masked":
        # an already stripped brain is not stripped again: its non-zero region (zero CMB core filled) is the brain
        assert np.array_equal(prepared.brain_input, brain) and prepared.brain_input[22, 26, 14]
        assert messages == [
            "sub-101_T2S.nii.gz: pre-masked scan: its non-zero region is the brain mask, no skull stripping (83% of "
            "the voxels are 0 or NaN, non-zero region 1.05 L, 0% of the voxels 2-12 mm under its surface dark)"
        ]
    else:
        # some scanners zero the air around a whole head: the non-zero region is the head, its skull shows it
        assert messages == [
            "sub-101_T2S.nii.gz: brain mask by skull stripping, not pre-masked: 67% of the voxels are 0 or NaN, "
            "non-zero region 2.01 L, 41% of the voxels 2-12 mm under its surface dark: a skull (25% or more dark), "
            "so a head"
        ]


def test_a_nan_background_scan_runs_with_no_nan_and_a_zero_mask_outside(tmp_path, write_nifti) -> None:
    image, brain = head_phantom("brain-nan")
    image = _edge_spots(image, brain)
    detector, skull_strip = _phantom_detector(cleanup=False)  # no brain-margin rule: detections reach the edge
    path = write_nifti(tmp_path / "sub-101_space-T2S_desc-masked_T2S.nii.gz", image, PHANTOM_AFFINE)
    prepared = detector.prepare(path)
    assert skull_strip.calls == 0 and prepared.brain_source == "pre-masked"
    assert np.array_equal(prepared.finite_input, brain) and np.array_equal(prepared.brain_input, brain)
    assert torch.isfinite(prepared.image).all()
    result = detector.segment(prepared)
    assert result.mask.shape == image.shape and np.isfinite(result.probability).all()
    assert result.count > 0 and not result.mask[~brain].any() and not result.probability[~brain].any()
    zero = detector(np.where(brain, image, 0), PHANTOM_AFFINE)  # NaN is read as the 0 of a zero background
    assert np.array_equal(zero.probability[brain], result.probability[brain])
    assert zero.mask[~brain].any() and np.array_equal(zero.mask * brain, result.mask)  # reached past the edge there


def test_a_given_brain_mask_wins_and_is_never_brain_where_the_scan_is_nan() -> None:
    image, brain = head_phantom("brain-nan")
    given = np.ones(image.shape, dtype=np.float32)
    given[:, :, :2] = np.nan  # a NaN background in the mask is no brain either
    detector, skull_strip = _phantom_detector()
    prepared = detector.prepare(image, PHANTOM_AFFINE, brain_mask=given)
    assert prepared.brain_source == "given" and skull_strip.calls == 0
    assert np.array_equal(prepared.brain_input, brain)  # the given mask within the voxels that hold a value
    head, _ = head_phantom("head")
    assert detector.prepare(head, PHANTOM_AFFINE).brain_source == "skull-strip" and skull_strip.calls == 1


def test_on_stage_hears_each_stage_as_it_starts() -> None:
    image, affine, brain = _scan()
    detector = _detector()
    heard: list[str] = []
    detector.on_stage = heard.append
    detector(image, affine, brain_mask=brain)
    # a stage can be entered more than once (the brain mask is resampled between grids); each start is heard
    assert heard[0] == "load" and heard[-1] == "cleanup" and set(heard) == set(STAGES)
