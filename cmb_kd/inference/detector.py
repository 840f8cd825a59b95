"""The whole-volume two-stage CMB detector: working grid, brain, candidates, patch segmentation, clean-up."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import torch
from monai.data import MetaTensor
from monai.inferers import Inferer
from monai.utils import convert_to_numpy

from cmb_kd.candidates import CandidateDetector, ScreeningScoreMap
from cmb_kd.checks import as_affine, as_binary_mask, spacing_of
from cmb_kd.inference.bundle_location import default_bundle_dir
from cmb_kd.inference.candidate_segmentation import CandidatePatchInferer
from cmb_kd.inference.detection_result import DetectionResult, PreparedScan
from cmb_kd.inference.input_discovery import phase_beside
from cmb_kd.inference.lesion_cleanup import LesionCleanup
from cmb_kd.inference.lesion_table import lesion_table
from cmb_kd.inference.pre_masked_brain import PreMaskedBrain
from cmb_kd.inference.scan_plausibility import check_scan_plausibility
from cmb_kd.io import InputError, load_scan
from cmb_kd.transforms import ResampleToInputGrid, ResampleToWorkingGrid, SkullStrip
from cmb_kd.transforms.brain_standardisation import BrainStandardisation

__all__ = ["BRAIN_SOURCES", "INFERENCE_CONFIG", "STAGES", "CMBDetector"]

logger = logging.getLogger(__name__)

INFERENCE_CONFIG = "configs/inference.json"
"""Path of the inference config inside a bundle folder."""

STAGES: tuple[str, ...] = (
    "load",
    "working_grid",
    "brain_mask",
    "standardise",
    "screening",
    "candidates",
    "segmentation",
    "input_grid",
    "cleanup",
)
"""Names of the timed stages of :class:`CMBDetector`, in order (keys of :attr:`DetectionResult.timings`)."""

BRAIN_SOURCES: tuple[str, ...] = ("given", "pre-masked", "skull-strip")
"""Where the brain mask of a scan came from (:attr:`PreparedScan.brain_source`): a given mask, the non-zero region
of a pre-masked scan (:class:`PreMaskedBrain`), or ``skull_strip``."""


PHASE_BESIDE = "beside"
"""The ``phase`` argument that finds a scan's phase image beside it."""


def _as_threshold(threshold: object) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold < 1:
        raise ValueError(f"threshold: expected a probability in (0, 1), got {threshold!r}")
    return float(threshold)


def _as_device(device: str | torch.device) -> torch.device:
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device: expected 'cpu', 'cuda' or 'cuda:N', got {device!r}") from err
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(f"device: expected 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device: {device!r} requested but no CUDA device is available; use device='cpu'")
    return resolved


def _to_array(value: Any) -> np.ndarray:
    return np.asarray(convert_to_numpy(value))


def _spatial(array: np.ndarray, name: str) -> np.ndarray:
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 3:
        raise ValueError(f"{name}: expected a 3D volume (X, Y, Z) or (1, X, Y, Z), got shape {array.shape}")
    return array


class _StageTimer:
    def __init__(self, on_stage: Callable[[str], None] | None = None) -> None:
        self.seconds: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        self.on_stage = on_stage

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        if self.on_stage is not None:
            self.on_stage(stage)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] += time.perf_counter() - start


class CMBDetector:
    """Detect CMBs on a whole T2*/SWI scan with the two-stage pipeline of PLKD (``000_2429e8a773e1f797``).

    Data flow (see ``SPEC.md``):

    1. load the scan (a NIfTI path via :func:`load_scan`, or an array with its affine) and check that it can be a
       magnitude scan (:func:`check_scan_plausibility`: masks, label maps and images without a positive intensity
       are refused; inverted contrast, signed intensities and too thick slices give warnings, logged and kept in
       :attr:`DetectionResult.warnings`). NaN voxels (the background of VALDO's skull-stripped scans) are set to
       0, the value of a zero background, and are never brain; the output is 0 there;
    2. resample it to the working grid (``working_grid``: RAS, cubic, 1 mm by default);
    3. brain mask, in this order (logged at INFO level, kept in :attr:`PreparedScan.brain_source`): a given mask
       (input grid, resampled by nearest); else, for a scan that is already skull-stripped (``pre_masked``,
       :class:`PreMaskedBrain`: a large exact-zero or NaN background around a brain-sized region without a skull
       under its surface), its non-zero region, likewise; else ``skull_strip`` on the working grid.
       Everything after this runs on the brain's bounding box plus half a patch of margin;
    4. standardise intensities with brain statistics (``standardisation``);
    5. stage 1: when a ``screening_network`` is given, its score map (sigmoid) over the volume through
       ``screening_inferer`` (MONAI sliding window), fused by ``candidate_detector`` with FRST and dark spots as
       the source ``"fcn"``;
    6. stage 2: ``network`` on a crop around each candidate (``inferer``, :class:`CandidatePatchInferer`),
       probabilities pasted back by maximum;
    7. the probability map back onto the exact input grid (:class:`ResampleToInputGrid`, maximum over the working
       voxels inside each input voxel), thresholded at ``threshold`` (``phase_threshold`` for a scan on which the
       phase-sign rule runs);
    8. stage 3: ``postprocessing`` (:class:`LesionCleanup`, on the input grid, with the optional phase) and the
       lesion table.

    Networks run on ``device`` under ``torch.no_grad()``; the rest runs on the CPU. Build one from a bundle with
    :meth:`from_bundle`. Calling the detector runs :meth:`prepare` (steps 1-5, independent of ``network``) then
    :meth:`segment` (steps 6-8); call them separately to run several networks on one prepared scan.

    Args:
        network: stage-2 segmentation network ``(B, 1, H, W, D) -> (B, 1, H, W, D)`` logits (E²U-Net).
        screening_network: optional stage-1 screening FCN ``(B, 1, ...) -> (B, 1, ...)`` logits of any size.
        working_grid: resampler to the working grid (default ``ResampleToWorkingGrid(1.0)``).
        skull_strip: brain extraction used when no brain mask is given and the scan is not pre-masked (default
            ``SkullStrip()``).
        pre_masked: the test for a scan that is already skull-stripped, whose non-zero region is then its brain
            mask (default :class:`PreMaskedBrain` ``()``).
        standardisation: intensity standardisation (default :class:`BrainStandardisation` ``("robust")``).
        candidate_detector: stage-1 candidates (default ``CandidateDetector()``).
        inferer: stage-2 patch inferer (default :class:`CandidatePatchInferer` ``()``).
        screening_inferer: stage-1 whole-volume inferer (default ``SlidingWindowInferer((64, 64, 32))``).
        screening_amp: run the screening FCN under float16 autocast on CUDA (its own setting, apart from the
            stage-2 inferer's); the network, inferer and flag make :attr:`screening`, a :class:`ScreeningScoreMap`.
        postprocessing: stage-3 clean-up (default ``LesionCleanup()``); ignored when ``cleanup`` is False.
        cleanup: whether stage 3 runs.
        threshold: probability at or above which a voxel is a detection, in (0, 1).
        phase_threshold: the threshold for scans on which the clean-up's phase-sign rule runs (given with a phase
            image, slices no thicker than the rule's limit), in (0, 1). That rule removes calcifications, the mimics
            a magnitude-only scan can only keep out by a high threshold, so a lower one keeps more CMBs. None:
            ``threshold`` for every scan.
        device: where the networks run, ``"cpu"`` or ``"cuda[:N]"``.

    Raises:
        ValueError: for a bad threshold or device, a CUDA device that is not available, or components of the
            wrong type.

    Example:
        >>> detector = CMBDetector.from_bundle("bundles/cmb_lr_mri_segmentation", device="cpu")
        >>> result = detector("sub-001_T2S.nii.gz")
        >>> result.mask.shape, result.count, result.lesions[0].centroid_mm
    """

    def __init__(
        self,
        network: torch.nn.Module,
        *,
        screening_network: torch.nn.Module | None = None,
        working_grid: ResampleToWorkingGrid | None = None,
        skull_strip: SkullStrip | None = None,
        pre_masked: PreMaskedBrain | None = None,
        standardisation: BrainStandardisation | None = None,
        candidate_detector: CandidateDetector | None = None,
        inferer: Inferer | None = None,
        screening_inferer: Inferer | None = None,
        screening_amp: bool = False,
        postprocessing: LesionCleanup | None = None,
        cleanup: bool = True,
        threshold: float = 0.5,
        phase_threshold: float | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        if not isinstance(network, torch.nn.Module):
            raise ValueError(f"network: expected a torch.nn.Module, got {type(network).__name__}")
        if screening_network is not None and not isinstance(screening_network, torch.nn.Module):
            raise ValueError(f"screening_network: expected a torch.nn.Module or None, got {type(screening_network)}")
        self.threshold = _as_threshold(threshold)
        self.phase_threshold = None if phase_threshold is None else _as_threshold(phase_threshold)
        self.device = _as_device(device)
        self.network = network.to(self.device).eval()
        self.screening = (
            None
            if screening_network is None
            else ScreeningScoreMap(screening_network, screening_inferer, screening_amp, self.device)
        )
        self.working_grid = ResampleToWorkingGrid(1.0) if working_grid is None else working_grid
        self.skull_strip = SkullStrip() if skull_strip is None else skull_strip
        self.pre_masked = PreMaskedBrain() if pre_masked is None else pre_masked
        self.standardisation = BrainStandardisation() if standardisation is None else standardisation
        self.candidate_detector = CandidateDetector() if candidate_detector is None else candidate_detector
        self.inferer = CandidatePatchInferer() if inferer is None else inferer
        self.postprocessing = LesionCleanup() if postprocessing is None else postprocessing
        if not isinstance(self.postprocessing, LesionCleanup):
            raise ValueError(f"postprocessing: expected a LesionCleanup, got {type(self.postprocessing).__name__}")
        self.cleanup = bool(cleanup)
        self.on_stage: Callable[[str], None] | None = None
        """Called with the name of each stage (:data:`STAGES`) as it starts, e.g. to show progress within a scan."""

    @classmethod
    def from_bundle(
        cls,
        bundle_dir: str | os.PathLike | None = None,
        device: str | torch.device = "cpu",
        *,
        allow_untrained: bool = False,
        overrides: Mapping[str, Any] | None = None,
    ) -> CMBDetector:
        """Build the detector wired by a bundle's ``configs/inference.json`` (its ``detector`` id).

        The config is read with MONAI's ``ConfigParser``; ``bundle_root``, ``device`` and ``allow_untrained`` are
        set before anything is instantiated, then ``overrides`` (config ids to values, e.g.
        ``{"working_spacing": 2.0}``). The config loads ``models/model.pt`` (and ``models/screening.pt`` when
        ``use_screening`` is true; off by default because the full-resolution FCN costs 20–35 s per scan on a CPU)
        through :func:`load_network_weights`.

        Args:
            bundle_dir: the bundle folder (holding ``configs/inference.json``); None: the shipped bundle
                (:func:`default_bundle_dir`, as ``cmb-kd infer`` without ``--bundle``).
            device: where the networks run.
            allow_untrained: run with freshly initialised weights (and a warning) when ``models/model.pt`` is
                missing; for tests and speed benchmarks only.
            overrides: further config ids to replace.

        Returns:
            The detector.

        Raises:
            FileNotFoundError: naming the missing bundle folder, config or weights file.
            ValueError: for a bad device, a CUDA device that is not available, or a config that does not build a
                :class:`CMBDetector`.
        """
        from monai.bundle import ConfigParser

        root = default_bundle_dir() if bundle_dir is None else Path(bundle_dir)
        config_file = root / INFERENCE_CONFIG
        if not root.is_dir():
            raise FileNotFoundError(f"{root}: bundle folder not found; expected a folder holding {INFERENCE_CONFIG}")
        if not config_file.is_file():
            raise FileNotFoundError(f"{config_file}: bundle inference config not found")
        resolved = _as_device(device)
        parser = ConfigParser()
        parser.read_config(str(config_file))
        parser["bundle_root"] = str(root.resolve())
        parser["device"] = str(resolved)
        parser["allow_untrained"] = bool(allow_untrained)
        for key, value in (overrides or {}).items():
            parser[key] = value
        try:
            if "imports" in parser:
                parser.get_parsed_content("imports")
            detector = parser.get_parsed_content("detector")
        except RuntimeError as err:
            # ConfigParser wraps what a component raised; surface a missing file or a bad value as itself
            cause = err.__cause__
            while cause is not None and not isinstance(cause, (FileNotFoundError, ValueError)):
                cause = cause.__cause__
            if cause is not None:
                raise cause from err
            raise
        if not isinstance(detector, cls):
            raise ValueError(f"{config_file}: id 'detector' expected to build a {cls.__name__}, got {type(detector)}")
        return detector

    def __call__(
        self,
        image: str | os.PathLike | np.ndarray | torch.Tensor,
        affine: Any | None = None,
        *,
        brain_mask: str | os.PathLike | np.ndarray | torch.Tensor | None = None,
        phase: str | os.PathLike | np.ndarray | torch.Tensor | None = None,
        name: str | os.PathLike | None = None,
    ) -> DetectionResult:
        """Detect the CMBs of one scan: :meth:`segment` of :meth:`prepare`.

        Args:
            image: a NIfTI path, a nibabel image (with its own affine), or the scan ``(X, Y, Z)`` /
                ``(1, X, Y, Z)`` as an array or (Meta)tensor.
            affine: 4x4 voxel-to-world affine (RAS, mm) of an array; a MetaTensor carries its own; not allowed
                with a path or a nibabel image (theirs is used).
            brain_mask: optional brain mask on the input grid (path, nibabel image or array; non-zero is brain,
                NaN is not); it wins over the pre-masked test, and skull stripping is skipped.
            phase: optional high-pass phase on the input grid (path, image or array; NaN voxels count as 0), for the
                clean-up's phase rule; ``"beside"``: the phase image found beside a scan given as a path, as
                ``cmb-kd infer`` does (:func:`phase_beside`; none found: no phase). A path never brings its phase
                along by itself. (A file named ``beside`` is given as ``./beside``.)
            name: the file an array was loaded from (e.g. by a batch run), named in the errors and warnings about
                it; an array given with a name that is no magnitude scan raises :class:`InputError` naming it.

        Returns:
            The :class:`DetectionResult` on the input grid.

        Raises:
            InputError: for a path that cannot be loaded (missing, not NIfTI, 2D, 4D, Inf, all NaN, constant,
                corrupt) or that holds no magnitude scan (a mask, a label map, no positive intensity:
                :func:`check_scan_plausibility`).
            ValueError: for an array without affine, a path with one, arrays of bad shape or values (including an
                array that is no magnitude scan, the message starting ``image:``), or a scan in which no brain is
                found.
        """
        return self.segment(self.prepare(image, affine, brain_mask=brain_mask, phase=phase, name=name))

    def prepare(
        self,
        image: str | os.PathLike | np.ndarray | torch.Tensor,
        affine: Any | None = None,
        *,
        brain_mask: str | os.PathLike | np.ndarray | torch.Tensor | None = None,
        phase: str | os.PathLike | np.ndarray | torch.Tensor | None = None,
        name: str | os.PathLike | None = None,
    ) -> PreparedScan:
        """Run the network-independent steps 1-5 on one scan: load, working grid, brain mask, standardisation,
        stage-1 candidates (with the screening network when there is one).

        The result can be given to :meth:`segment` any number of times, e.g. once per segmentation network when
        comparing networks on the same scans.

        Args:
            image: a NIfTI path, a nibabel image (with its own affine), or the scan ``(X, Y, Z)`` /
                ``(1, X, Y, Z)`` as an array or (Meta)tensor.
            affine: 4x4 voxel-to-world affine (RAS, mm) of an array; a MetaTensor carries its own; not allowed
                with a path or a nibabel image (theirs is used).
            brain_mask: optional brain mask on the input grid (path, nibabel image or array; non-zero is brain,
                NaN is not); it wins over the pre-masked test, and skull stripping is skipped.
            phase: optional high-pass phase on the input grid (path, image or array; NaN voxels count as 0), for the
                clean-up's phase rule; ``"beside"``: the phase image found beside a scan given as a path, as
                ``cmb-kd infer`` does (:func:`phase_beside`; none found: no phase). A path never brings its phase
                along by itself. (A file named ``beside`` is given as ``./beside``.)
            name: the file an array was loaded from (e.g. by a batch run), named in the errors and warnings about
                it; an array given with a name that is no magnitude scan raises :class:`InputError` naming it.

        Returns:
            The :class:`PreparedScan`.

        Raises:
            InputError: for a path that cannot be loaded (missing, not NIfTI, 2D, 4D, Inf, all NaN, constant,
                corrupt) or that holds no magnitude scan (a mask, a label map, no positive intensity:
                :func:`check_scan_plausibility`).
            ValueError: for an array without affine, a path with one, arrays of bad shape or values (including an
                array that is no magnitude scan, the message starting ``image:``), or a scan in which no brain is
                found.
        """
        if isinstance(phase, str) and phase == PHASE_BESIDE:
            if not isinstance(image, (str, os.PathLike)):
                raise ValueError(f"phase: {PHASE_BESIDE!r} needs the scan as a path, got {type(image).__name__}")
            phase = phase_beside(image)
            logger.debug("%s: phase %s", image, "from " + str(phase) if phase else "not found beside it")
        timer = _StageTimer(self.on_stage)
        with timer("load"):
            data, in_affine = self._load_image(image, affine)
            warnings = self._plausibility(image if name is None else name, data, in_affine)
            shape = data.shape
            finite = np.isfinite(data)
            finite_input = None if finite.all() else finite
            if finite_input is not None:
                data = np.where(finite_input, data, np.float32(0))  # the NaN background: no network sees a NaN
            given_brain = None if brain_mask is None else self._load_aux(brain_mask, "brain_mask", shape, mask=True)
            phase_map = None if phase is None else self._load_aux(phase, "phase", shape, mask=False)
        with timer("brain_mask"):
            source = self._source_name(image if name is None else name, data)
            if given_brain is not None:
                brain_source = "given"
                logger.info("%s: brain mask given, no skull stripping", source)
            else:  # from here on given_brain is also the non-zero region of a pre-masked scan
                given_brain, reason = self.pre_masked(data, in_affine)
                if given_brain is not None:
                    brain_source = "pre-masked"
                    logger.info(
                        "%s: pre-masked scan: its non-zero region is the brain mask, no skull stripping (%s)",
                        source,
                        reason,
                    )
                else:
                    brain_source = "skull-strip"
                    logger.info("%s: brain mask by skull stripping, not pre-masked: %s", source, reason)
            if given_brain is not None and finite_input is not None:
                given_brain = given_brain & finite_input  # a voxel without a value is never brain
        with timer("working_grid"):
            in_affine_t = torch.as_tensor(in_affine, dtype=torch.float64)
            work = self.working_grid(MetaTensor(torch.from_numpy(data)[None], affine=in_affine_t.clone()))
            if not isinstance(work, MetaTensor):
                raise ValueError("working_grid: expected a MetaTensor (MONAI meta tracking must be on)")
            work_affine = convert_to_numpy(work.affine, dtype=np.float64)
            work_image = _to_array(work[0]).astype(np.float32, copy=False)
        with timer("brain_mask"):
            if given_brain is None:
                brain_work = _to_array(self.skull_strip(work)[0]) != 0
            else:
                source = MetaTensor(torch.from_numpy(given_brain.astype(np.uint8))[None], affine=in_affine_t.clone())
                brain_work = _to_array(self.working_grid(source, mode="nearest")[0]) != 0
            if not brain_work.any():
                raise ValueError("brain_mask: no brain voxel found on the working grid; expected a head scan")
            box = self._brain_box(brain_work)
            brain_crop = brain_work[box]
        with timer("standardise"):
            standardised = self.standardisation(work_image[box], brain_crop)
            crop_affine = work_affine.copy()
            crop_affine[:3, 3] = (
                work_affine[:3, :3] @ np.array([s.start for s in box], dtype=np.float64) + work_affine[:3, 3]
            )
            tensor = torch.from_numpy(standardised)[None, None].to(self.device)
        with timer("screening"):
            extra = None
            if self.screening is not None:
                extra = {"fcn": self.screening(tensor)}
        with timer("candidates"):
            # stage 1 works on the magnitude itself: the dark-spot source measures relative darkening, which needs
            # positive intensities; the networks get the standardised volume
            found = self.candidate_detector(work_image[box], brain_crop, crop_affine, extra_scores=extra)
        with timer("input_grid"):
            if given_brain is None:
                brain_in = self._to_input_grid(brain_work, "nearest", in_affine, shape, work_affine)
                if finite_input is not None:
                    brain_in = brain_in & finite_input
            else:
                brain_in = given_brain
        offset = tuple(s.start for s in box)
        candidates = tuple(
            dataclasses.replace(c, voxel=tuple(int(v + o) for v, o in zip(c.voxel, offset))) for c in found
        )
        return PreparedScan(
            input_shape=tuple(int(n) for n in shape),
            input_affine=in_affine,
            working_shape=tuple(int(n) for n in work_image.shape),
            working_affine=work_affine,
            brain_box=box,
            image=tensor,
            brain_working=brain_work,
            brain_input=brain_in,
            phase=phase_map,
            candidates=candidates,
            timings=dict(timer.seconds),
            warnings=warnings,
            brain_source=brain_source,
            finite_input=finite_input,
        )

    def segment(self, prepared: PreparedScan, network: torch.nn.Module | None = None) -> DetectionResult:
        """Run steps 6-8 on a prepared scan: stage-2 patch segmentation around the candidates, the probability map
        back on the input grid, threshold, clean-up and lesion table.

        ``prepared`` is only read, so it can be segmented again, with this or another network.

        Args:
            prepared: the output of :meth:`prepare` (of this detector: same device and patch inferer).
            network: stage-2 segmentation network ``(B, 1, H, W, D) -> (B, 1, H, W, D)`` logits to run instead of
                :attr:`network`; it is moved to :attr:`device` and put in ``eval()`` mode, as in ``__init__``.

        Returns:
            The :class:`DetectionResult` on the input grid, with the timings of :meth:`prepare` and of this step.

        Raises:
            ValueError: when ``prepared`` is not a :class:`PreparedScan` or ``network`` not a ``torch.nn.Module``.
        """
        if not isinstance(prepared, PreparedScan):
            raise ValueError(f"prepared: expected a PreparedScan from CMBDetector.prepare, got {type(prepared)}")
        if network is None:
            network = self.network
        elif not isinstance(network, torch.nn.Module):
            raise ValueError(f"network: expected a torch.nn.Module or None, got {type(network).__name__}")
        else:
            network = network.to(self.device).eval()
        timer = _StageTimer(self.on_stage)
        timer.seconds.update(prepared.timings)
        offset = prepared.box_offset
        with timer("segmentation"):
            centres = [tuple(v - o for v, o in zip(c.voxel, offset)) for c in prepared.candidates]
            probability_crop = self.inferer(prepared.image, network, centres=centres)
            probability_work = np.zeros(prepared.working_shape, dtype=np.float32)
            probability_work[prepared.brain_box] = _to_array(probability_crop[0, 0])
        with timer("input_grid"):
            probability = self._to_input_grid(
                probability_work, "max", prepared.input_affine, prepared.input_shape, prepared.working_affine
            ).astype(np.float32, copy=False)
            if prepared.finite_input is not None:
                probability = np.where(prepared.finite_input, probability, np.float32(0))
        with timer("cleanup"):
            mask = self.detections(prepared, probability)
            lesions = lesion_table(mask, prepared.input_affine, probability=probability)
        logger.debug(
            "%d candidate(s), %d lesion(s) in %.2f s",
            len(prepared.candidates),
            len(lesions),
            sum(timer.seconds.values()),
        )
        return DetectionResult(
            mask=mask,
            probability=probability,
            affine=prepared.input_affine,
            lesions=lesions,
            count=len(lesions),
            candidates=list(prepared.candidates),
            timings=dict(timer.seconds),
            warnings=tuple(prepared.warnings),
        )

    def detections(self, prepared: PreparedScan, probability: np.ndarray, threshold: float | None = None) -> np.ndarray:
        """Step 8 without the lesion table: threshold a stage-2 probability map on the input grid and clean it up.

        :meth:`segment` calls it with the scan's :meth:`threshold_for`; calling it on ``DetectionResult.probability``
        with other thresholds gives the masks :meth:`segment` would give at them, without running stage 2 again
        (e.g. to choose the threshold on a validation set).

        Args:
            prepared: the :class:`PreparedScan` the probability map was computed on.
            probability: float ``(X, Y, Z)`` probability on the input grid (``DetectionResult.probability``).
            threshold: probability threshold; :meth:`threshold_for` the scan if None.

        Returns:
            uint8 CMB mask ``(X, Y, Z)``.

        Raises:
            ValueError: for a threshold outside (0, 1) or a map not of the input's shape.
        """
        threshold = self.threshold_for(prepared) if threshold is None else _as_threshold(threshold)
        if tuple(probability.shape) != tuple(prepared.input_shape):
            raise ValueError(
                f"probability: expected the input's shape {tuple(prepared.input_shape)}, got {tuple(probability.shape)}"
            )
        detections = probability >= threshold
        if prepared.finite_input is not None:
            detections &= prepared.finite_input  # no detection where the input has no value (NaN)
        if self.cleanup:
            detections, _ = self.postprocessing(
                detections,
                spacing_of(prepared.input_affine),
                brain_mask=prepared.brain_input,
                phase=prepared.phase,
                affine=prepared.input_affine,
            )
        return detections.astype(np.uint8)

    def phase_rule_applies(self, prepared: PreparedScan) -> bool:
        """Whether the clean-up's phase-sign rule runs on a prepared scan (a phase image, the rule on, and slices no
        thicker than its limit; see :meth:`LesionCleanup.phase_rule_applies`)."""
        spacing = spacing_of(prepared.input_affine)
        return self.cleanup and self.postprocessing.phase_rule_applies(spacing, prepared.phase is not None)

    def threshold_for(self, prepared: PreparedScan) -> float:
        """The probability threshold of a prepared scan: :attr:`phase_threshold` where the phase-sign rule runs on
        it (:meth:`phase_rule_applies`), :attr:`threshold` otherwise."""
        if self.phase_threshold is not None and self.phase_rule_applies(prepared):
            return self.phase_threshold
        return self.threshold

    @property
    def screening_network(self) -> torch.nn.Module | None:
        """The stage-1 screening FCN (of :attr:`screening`), or None."""
        return None if self.screening is None else self.screening.network

    def screening_map(self, image: torch.Tensor) -> np.ndarray:
        """The screening FCN's CMB probability over a standardised volume ``(1, 1, X, Y, Z)``, float32 ``(X, Y, Z)``.

        Raises:
            ValueError: when no screening network was given.
        """
        if self.screening is None:
            raise ValueError("screening_network: expected a screening FCN, got None")
        return self.screening(image)

    def _brain_box(self, brain: np.ndarray) -> tuple[slice, slice, slice]:
        patch = getattr(self.inferer, "patch_size", (48, 48, 24))
        box = []
        for axis in range(3):
            other = tuple(a for a in range(3) if a != axis)
            present = np.flatnonzero(brain.any(axis=other))
            margin = int(patch[axis]) // 2
            box.append(slice(max(0, int(present[0]) - margin), min(brain.shape[axis], int(present[-1]) + 1 + margin)))
        return tuple(box)

    @staticmethod
    def _to_input_grid(
        volume: np.ndarray, mode: str, input_affine: np.ndarray, input_shape: tuple[int, ...], affine: np.ndarray
    ) -> np.ndarray:
        moved = ResampleToInputGrid(mode)(
            torch.from_numpy(volume)[None], input_affine=input_affine, input_shape=input_shape, affine=affine
        )
        return _to_array(moved)[0]

    @staticmethod
    def _load_image(image: Any, affine: Any | None) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(image, (str, os.PathLike)):
            if affine is not None:
                raise ValueError("affine: expected None with a file path (the file's own affine is used)")
            data, file_affine, _ = load_scan(image)
            return data, file_affine
        if isinstance(image, nib.spatialimages.SpatialImage):
            if affine is not None:
                raise ValueError("affine: expected None with a nibabel image (the image's own affine is used)")
            image, affine = np.asanyarray(image.dataobj), image.affine
        if isinstance(image, MetaTensor) and affine is None:
            affine = image.affine
        if not isinstance(image, (np.ndarray, torch.Tensor)):
            raise ValueError(
                f"image: expected a NIfTI path, a nibabel image, a numpy array or a tensor, got {type(image).__name__}"
            )
        if affine is None:
            raise ValueError("affine: expected the 4x4 voxel-to-world affine of the array (RAS, mm), got None")
        data = _spatial(_to_array(image), "image")
        if not np.issubdtype(data.dtype, np.number) or np.iscomplexobj(data):
            raise ValueError(f"image: expected real voxel values, got dtype {data.dtype}")
        data = np.ascontiguousarray(data, dtype=np.float32)
        n_inf = int(np.count_nonzero(np.isinf(data)))
        if n_inf:
            raise ValueError(
                f"image: expected finite voxel values (NaN is accepted as background), got {n_inf} infinite "
                f"voxel(s) (Inf or -Inf) in shape {data.shape}"
            )
        finite = np.isfinite(data)
        if not finite.any():
            raise ValueError(f"image: expected finite voxel values, got only NaN in shape {data.shape}")
        values = data if finite.all() else data[finite]
        if values.min() == values.max():
            raise ValueError(f"image: expected voxel values that vary, got a constant image of {values.min():g}")
        return data, as_affine(_to_array(affine), "affine")

    @staticmethod
    def _source_name(image: Any, data: np.ndarray) -> str:
        """How the log names a scan: its path or name, or ``image of shape ...`` for an anonymous array."""
        return str(image) if isinstance(image, (str, os.PathLike)) else f"image of shape {data.shape}"

    @staticmethod
    def _plausibility(image: Any, data: np.ndarray, affine: np.ndarray) -> tuple[str, ...]:
        """Warnings about ``image`` (a path or name is named; an anonymous array is ``image of shape ...``)."""
        if isinstance(image, (str, os.PathLike)):
            source = str(image)
            warnings = check_scan_plausibility(data, affine, image)
        else:
            source = f"image of shape {data.shape}"
            try:
                warnings = check_scan_plausibility(data, affine, "image")
            except InputError as err:
                # an array has no file to name: report it like the other array checks, as a ValueError
                raise ValueError(str(err)) from err
        for warning in warnings:
            logger.warning("%s: %s", source, warning)
        return warnings

    @staticmethod
    def _load_aux(value: Any, name: str, shape: tuple[int, ...], *, mask: bool) -> np.ndarray:
        if isinstance(value, (str, os.PathLike)):
            try:
                array = load_scan(value)[0]
            except InputError as err:
                raise ValueError(f"{name}: {err}") from err
        elif isinstance(value, nib.spatialimages.SpatialImage):
            array = _spatial(np.asanyarray(value.dataobj), name)
        else:
            array = _spatial(_to_array(value), name)
        if array.shape != tuple(shape):
            raise ValueError(f"{name}: expected the image's shape {tuple(shape)}, got {array.shape}")
        nan = np.isnan(array) if np.issubdtype(array.dtype, np.floating) else None
        if mask:
            return as_binary_mask(array != 0 if nan is None else (array != 0) & ~nan, name, shape)  # NaN: not brain
        array = np.asarray(array, dtype=np.float32)
        return array if nan is None or not nan.any() else np.where(nan, np.float32(0), array)  # NaN: 0, as the image's
