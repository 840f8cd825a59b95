"""The whole-volume two-stage CMB detector: working grid, brain, candidates, patch segmentation, clean-up."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from monai.inferers import Inferer

from cmb_kd.candidates import CandidateDetector, ScreeningScoreMap
from cmb_kd.checks import spacing_of
from cmb_kd.inference.brain_source import input_brain, input_grid_brain, working_brain
from cmb_kd.inference.bundle import build_bundle_component, inference_config_file
from cmb_kd.inference.candidate_segmentation import CandidatePatchInferer
from cmb_kd.inference.detection_result import DetectionResult, PreparedScan
from cmb_kd.inference.detection_threshold import as_threshold, scan_threshold, threshold_probability
from cmb_kd.inference.grid_mapping import (
    DEFAULT_BOX_PATCH,
    box_affine,
    brain_box,
    from_box,
    from_box_volume,
    probability_to_input_grid,
    to_box,
    to_working_grid,
)
from cmb_kd.inference.lesion_cleanup import LesionCleanup
from cmb_kd.inference.lesion_table import lesion_table
from cmb_kd.inference.pre_masked_brain import PreMaskedBrain
from cmb_kd.inference.scan_input import load_scan_input
from cmb_kd.inference.stage_timer import StageTimer
from cmb_kd.networks.device import as_device
from cmb_kd.transforms import ResampleToWorkingGrid, SkullStrip
from cmb_kd.transforms.brain_standardisation import BrainStandardisation

__all__ = ["CMBDetector"]

logger = logging.getLogger(__name__)


class CMBDetector:
    """Detect CMBs on a whole T2*/SWI scan with the two-stage pipeline of PLKD (``000_2429e8a773e1f797``).

    Data flow (see ``SPEC.md``):

    1. load the scan (a NIfTI path via :func:`load_scan`, or an array with its affine) and check that it can be a
       magnitude scan (:func:`check_scan_plausibility`: masks, label maps and images without a positive intensity
       are refused; inverted contrast, signed intensities and too thick slices give warnings, logged and kept in
       :attr:`DetectionResult.warnings`). NaN voxels (the background of VALDO's skull-stripped scans) are set to
       0, the value of a zero background, and are never brain; the output is 0 there;
    2. resample it to the working grid (``working_grid``: RAS, cubic, 1 mm by default);
    3. brain mask (:func:`input_brain`, logged at INFO level, kept in :attr:`PreparedScan.brain_source`): a given
       mask (resampled by nearest); else the non-zero region of a scan that is already skull-stripped
       (``pre_masked``, :class:`PreMaskedBrain`), likewise; else ``skull_strip`` on the working grid. Everything
       after this runs on the brain's bounding box plus half a patch of margin;
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
        self.threshold = as_threshold(threshold)
        self.phase_threshold = None if phase_threshold is None else as_threshold(phase_threshold)
        self.device = as_device(device)
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
        ``{"working_spacing": 2.0}``). The config loads ``models/model.pt`` (and ``models/screening/model.pt``
        when ``use_screening`` is true; off by default because the full-resolution FCN costs 20–35 s per scan on a
        CPU) through :func:`load_network_weights`.

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
        config_file = inference_config_file(bundle_dir)
        settings = {"device": str(as_device(device)), "allow_untrained": bool(allow_untrained), **(overrides or {})}
        detector = build_bundle_component(config_file, "detector", settings)
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
            image, affine, brain_mask, phase, name: the scan and what comes with it, as for :meth:`prepare`.

        Returns:
            The :class:`DetectionResult` on the input grid.

        Raises:
            InputError, ValueError: as :meth:`prepare`.
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

        The result can be given to :meth:`segment` any number of times (e.g. once per network, to compare them).

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
        timer = StageTimer(self.on_stage)
        with timer("load"):
            scan = load_scan_input(image, affine, brain_mask=brain_mask, phase=phase, name=name, log=logger)
        with timer("brain_mask"):
            brain = input_brain(scan.brain_mask, scan.data, scan.affine, self.pre_masked, scan.finite_input)
            logger.info("%s: %s", scan.name, brain.message)
        with timer("working_grid"):
            work, work_affine, work_image = to_working_grid(self.working_grid, scan.data, scan.affine)
        with timer("brain_mask"):
            brain_work = working_brain(brain, work, scan.affine, self.working_grid, self.skull_strip)
            box = brain_box(brain_work, getattr(self.inferer, "patch_size", DEFAULT_BOX_PATCH))
        with timer("standardise"):
            standardised = self.standardisation(work_image[box], brain_work[box])
            tensor = torch.from_numpy(standardised)[None, None].to(self.device)
        with timer("screening"):
            extra = None if self.screening is None else {"fcn": self.screening(tensor)}
        with timer("candidates"):
            # stage 1 works on the magnitude itself: the dark-spot source measures relative darkening, which needs
            # positive intensities; the networks get the standardised volume
            crop_affine = box_affine(work_affine, box)
            found = self.candidate_detector(work_image[box], brain_work[box], crop_affine, extra_scores=extra)
        with timer("input_grid"):
            brain_in = input_grid_brain(brain, brain_work, scan.affine, scan.data.shape, work_affine, scan.finite_input)
        return PreparedScan(
            input_shape=tuple(int(n) for n in scan.data.shape),
            input_affine=scan.affine,
            working_shape=tuple(int(n) for n in work_image.shape),
            working_affine=work_affine,
            brain_box=box,
            image=tensor,
            brain_working=brain_work,
            brain_input=brain_in,
            phase=scan.phase,
            candidates=from_box(found, box),
            timings=dict(timer.seconds),
            warnings=scan.warnings,
            brain_source=brain.source,
            finite_input=scan.finite_input,
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
        timer = StageTimer(self.on_stage)
        timer.seconds.update(prepared.timings)
        with timer("segmentation"):
            centres = to_box(prepared.candidates, prepared.brain_box)
            probability_crop = self.inferer(prepared.image, network, centres=centres)
            probability_work = from_box_volume(probability_crop[0, 0], prepared.brain_box, prepared.working_shape)
        with timer("input_grid"):
            probability = probability_to_input_grid(probability_work, prepared)
        with timer("cleanup"):
            mask = self.detections(prepared, probability)
            lesions = lesion_table(mask, prepared.input_affine, probability=probability)
        n_candidates, seconds = len(prepared.candidates), sum(timer.seconds.values())
        logger.debug("%d candidate(s), %d lesion(s) in %.2f s", n_candidates, len(lesions), seconds)
        return DetectionResult(
            mask=mask,
            probability=probability,
            affine=prepared.input_affine,
            lesions=lesions,
            count=len(lesions),
            candidates=list(prepared.candidates),
            timings=dict(timer.seconds),
            warnings=tuple(prepared.warnings),
            brain_mask=prepared.brain_input,
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
        threshold = self.threshold_for(prepared) if threshold is None else as_threshold(threshold)
        detections = threshold_probability(probability, threshold, prepared.input_shape, prepared.finite_input)
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
        return scan_threshold(self.threshold, self.phase_threshold, self.phase_rule_applies(prepared))

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
