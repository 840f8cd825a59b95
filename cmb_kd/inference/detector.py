"""The whole-volume two-stage CMB detector: working grid, brain, candidates, patch segmentation, clean-up."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from monai.data import MetaTensor
from monai.inferers import Inferer
from monai.transforms import Compose

from cmb_kd.candidates import CandidateDetector, ScreeningScoreMap
from cmb_kd.checks import spacing_of
from cmb_kd.inference.bundle import build_bundle_component, inference_config_file
from cmb_kd.inference.candidate_segmentation import CandidatePatchInferer
from cmb_kd.inference.detection_result import DetectionResult, PreparedScan
from cmb_kd.inference.detection_threshold import as_threshold, threshold_probability
from cmb_kd.inference.detection_transforms import PRED, PROBABILITY, LesionCleanupd, ThresholdDetectionsd
from cmb_kd.inference.grid_mapping import DEFAULT_BOX_PATCH, to_box
from cmb_kd.inference.lesion_cleanup import LesionCleanup
from cmb_kd.inference.lesion_table import lesion_table
from cmb_kd.inference.pre_masked_brain import PreMaskedBrain
from cmb_kd.inference.scan_input import scan_data
from cmb_kd.inference.scan_pipeline import (
    find_transform,
    prepared_scan,
    run_stages,
    scan_postprocessing,
    scan_preprocessing,
    without_io,
)
from cmb_kd.inference.scan_transforms import IMAGE, ScreeningScored
from cmb_kd.inference.stage_timer import StageTimer
from cmb_kd.networks.device import as_device
from cmb_kd.transforms import ResampleToWorkingGrid, SkullStrip, SkullStripd
from cmb_kd.transforms.brain_standardisation import BrainStandardisation

__all__ = ["CMBDetector"]

logger = logging.getLogger(__name__)


class CMBDetector:
    """Detect CMBs on a whole T2*/SWI scan with the two-stage pipeline of PLKD (``000_2429e8a773e1f797``).

    The detector runs the bundle's standard pipeline (:mod:`~cmb_kd.inference.scan_pipeline`): its ``preprocessing``
    transforms on a scan it loads itself (everything after ``LoadImaged``), its stage-2 ``inferer``, and its
    ``postprocessing`` transforms before ``SaveImaged``; it times each stage and hands back a
    :class:`DetectionResult` instead of writing files. Data flow (see ``SPEC.md``):

    1. load the scan (a NIfTI path via :func:`load_scan`, a nibabel image, or an array with its affine) and check
       that it can be a magnitude scan (:class:`CheckScand`: masks, label maps and images without a positive
       intensity are refused; doubts are logged and kept in :attr:`DetectionResult.warnings`). NaN voxels (the
       background of VALDO's skull-stripped scans) are set to 0 and are never brain; the output is 0 there;
    2. brain mask on the input grid when there is one (:class:`InputBraind`: a given mask, else the non-zero region
       of a pre-masked scan), logged at INFO level;
    3. the working grid (:class:`~cmb_kd.transforms.ResampleToWorkingGridd`: RAS, cubic, 1 mm by default), skull
       stripping there when the scan brought no brain, and the brain's bounding box plus half a patch
       (:class:`BrainBoxd`), where everything after runs;
    4. stage 1: candidates (:class:`StageCandidatesd`: FRST and dark spots, fused with the screening FCN's score map
       when there is one); then intensities standardised with brain statistics;
    5. stage 2: ``network`` on a crop around each candidate (``inferer``, :class:`CandidatePatchInferer`),
       probabilities pasted back by maximum;
    6. back onto the exact input grid by ``Invertd`` (maximum over the working voxels inside each input voxel),
       thresholded (:class:`ThresholdDetectionsd`: ``phase_threshold`` for a scan on which the phase-sign rule runs,
       ``threshold`` otherwise), stage 3 (:class:`LesionCleanupd`) and the lesion table.

    Networks run on ``device`` under ``torch.no_grad()``; the rest runs on the CPU. Build one from a bundle with
    :meth:`from_bundle` (the bundle's own ``preprocessing``, ``inferer`` and ``postprocessing``), or from its parts.
    Calling the detector runs :meth:`prepare` (steps 1-4, independent of ``network``) then :meth:`segment` (5-6).

    Args:
        network: stage-2 segmentation network ``(B, 1, H, W, D) -> (B, 1, H, W, D)`` logits (E²U-Net).
        preprocessing: the ``preprocessing`` Compose (:func:`scan_preprocessing`); None: built from the parts below.
        inferer: stage-2 patch inferer (default :class:`CandidatePatchInferer` ``()``).
        postprocessing: the ``postprocessing`` Compose (:func:`scan_postprocessing`); None: built from the parts.
        device: where the networks run, ``"cpu"`` or ``"cuda[:N]"``.
        screening_network, screening_inferer, screening_amp: optional stage-1 screening FCN, its whole-volume
            inferer (default ``SlidingWindowInferer((64, 64, 32))``) and float16 autocast on CUDA.
        working_grid: resampler whose spacing is the working grid's (default ``ResampleToWorkingGrid(1.0)``).
        skull_strip: brain extraction for a scan without a brain mask that is not pre-masked (default ``SkullStrip()``).
        pre_masked: the test for a pre-masked scan (default :class:`PreMaskedBrain` ``()``).
        standardisation: intensity standardisation (default :class:`BrainStandardisation` ``("robust")``).
        candidate_detector: stage-1 candidates (default ``CandidateDetector()``).
        lesion_cleanup: stage-3 clean-up (default ``LesionCleanup()``); ``cleanup``: whether stage 3 runs.
        threshold, phase_threshold: as :class:`ThresholdDetectionsd`, in (0, 1).

    Raises:
        ValueError: for a bad threshold or device, a CUDA device that is not available, components of the wrong
            type, or parts given together with the Compose they would build.

    Example:
        >>> detector = CMBDetector.from_bundle("bundles/cmb_lr_mri_segmentation", device="cpu")
        >>> result = detector("sub-001_T2S.nii.gz")
        >>> result.mask.shape, result.count, result.lesions[0].centroid_mm
    """

    def __init__(
        self,
        network: torch.nn.Module,
        *,
        preprocessing: Compose | None = None,
        inferer: Inferer | None = None,
        postprocessing: Compose | None = None,
        device: str | torch.device = "cpu",
        screening_network: torch.nn.Module | None = None,
        screening_inferer: Inferer | None = None,
        screening_amp: bool = False,
        working_grid: ResampleToWorkingGrid | None = None,
        skull_strip: SkullStrip | None = None,
        pre_masked: PreMaskedBrain | None = None,
        standardisation: BrainStandardisation | None = None,
        candidate_detector: CandidateDetector | None = None,
        lesion_cleanup: LesionCleanup | None = None,
        cleanup: bool = True,
        threshold: float = 0.5,
        phase_threshold: float | None = None,
    ) -> None:
        if not isinstance(network, torch.nn.Module):
            raise ValueError(f"network: expected a torch.nn.Module, got {type(network).__name__}")
        self.device = as_device(device)
        self.network = network.to(self.device).eval()
        self.inferer = CandidatePatchInferer() if inferer is None else inferer
        parts = {"screening_network": screening_network, "working_grid": working_grid, "skull_strip": skull_strip}
        parts.update(pre_masked=pre_masked, standardisation=standardisation, candidate_detector=candidate_detector)
        if preprocessing is None:
            preprocessing = self._preprocessing(screening_inferer, screening_amp, **parts)
        elif any(v is not None for v in parts.values()):
            given = sorted(k for k, v in parts.items() if v is not None)
            raise ValueError(f"preprocessing: expected either the Compose or its parts, got both (parts {given})")
        self.preprocessing = preprocessing
        if postprocessing is None:
            cleaner = (LesionCleanup() if lesion_cleanup is None else lesion_cleanup) if cleanup else None
            postprocessing = scan_postprocessing(
                preprocessing, threshold=threshold, phase_threshold=phase_threshold, cleanup=cleaner
            )
            if cleaner is None:
                postprocessing = Compose([t for t in postprocessing.transforms if not isinstance(t, LesionCleanupd)])
        self.postprocessing = postprocessing
        self._pre, self._post = without_io(preprocessing), without_io(postprocessing)
        self._threshold = find_transform(self._post, ThresholdDetectionsd)
        if self._threshold is None:
            raise ValueError("postprocessing: expected a ThresholdDetectionsd among its transforms, found none")
        self._cleanup = find_transform(self._post, LesionCleanupd)
        screening = find_transform(self._pre, ScreeningScored)
        self.screening: ScreeningScoreMap | None = None if screening is None else screening.screening
        self.on_stage: Callable[[str], None] | None = None
        """Called with the name of each stage (:data:`STAGES`) as it starts, e.g. to show progress within a scan."""

    def _preprocessing(self, screening_inferer: Inferer | None, screening_amp: bool, **parts: Any) -> Compose:
        """The ``preprocessing`` Compose from the detector's parts (see the class's Args)."""
        network = parts["screening_network"]
        if network is not None and not isinstance(network, torch.nn.Module):
            raise ValueError(f"screening_network: expected a torch.nn.Module or None, got {type(network)}")
        stripper = None
        if parts["skull_strip"] is not None:
            stripper = SkullStripd(IMAGE, mask_key="brain")
            stripper.stripper = parts["skull_strip"]
        grid = parts["working_grid"]
        return scan_preprocessing(
            spacing=1.0 if grid is None else grid.spacing,
            pre_masked=parts["pre_masked"],
            skull_strip=stripper,
            screening=None
            if network is None
            else ScreeningScoreMap(network, screening_inferer, screening_amp, self.device),
            standardisation=parts["standardisation"],
            candidate_detector=parts["candidate_detector"],
            patch_size=getattr(self.inferer, "patch_size", DEFAULT_BOX_PATCH),
            load=False,
        )

    @property
    def threshold(self) -> float:
        """The probability threshold of scans on which the phase-sign rule does not run."""
        return self._threshold.threshold

    @property
    def phase_threshold(self) -> float | None:
        """The threshold of scans on which the phase-sign rule runs (None: :attr:`threshold`)."""
        return self._threshold.phase_threshold

    @property
    def cleanup(self) -> LesionCleanup | None:
        """The stage-3 clean-up, or None when stage 3 does not run."""
        return None if self._cleanup is None else self._cleanup.cleanup

    @classmethod
    def from_bundle(
        cls,
        bundle_dir: str | os.PathLike | None = None,
        device: str | torch.device = "cpu",
        *,
        allow_untrained: bool = False,
        overrides: Mapping[str, Any] | None = None,
    ) -> CMBDetector:
        """Build the detector wired by a bundle's ``configs/inference.json`` (its ``detector`` id, made of the
        config's ``network``, ``preprocessing``, ``inferer`` and ``postprocessing``).

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
        """Detect the CMBs of one scan: :meth:`segment` of :meth:`prepare` (same arguments and errors)."""
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
        """Run the network-independent steps 1-4 on one scan (the ``preprocessing`` transforms after loading).

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
                ``cmb-kd infer`` does (:func:`phase_beside`; none found: no phase). (A file named ``beside`` is
                given as ``./beside``.)
            name: the file an array was loaded from (e.g. by a batch run), named in the errors and warnings about
                it; an array given with a name that is no magnitude scan raises :class:`InputError` naming it.

        Raises:
            InputError: for a path that cannot be loaded (missing, not NIfTI, 2D, 4D, Inf, all NaN, constant,
                corrupt) or that holds no magnitude scan (a mask, a label map, no positive intensity).
            ValueError: for an array without affine, a path with one, arrays of bad shape or values (including an
                array that is no magnitude scan, the message starting ``image:``), or a scan in which no brain is
                found.
        """
        timer = StageTimer(self.on_stage)
        with timer("load"):
            data = scan_data(image, affine, brain_mask=brain_mask, phase=phase, name=name, log=logger)
        data = run_stages(self._pre, data, timer)
        return prepared_scan(data, self.device, timer.seconds)

    def segment(self, prepared: PreparedScan, network: torch.nn.Module | None = None) -> DetectionResult:
        """Run steps 5-6 on a prepared scan: the stage-2 ``inferer`` around the candidates, then the
        ``postprocessing`` transforms (back on the input grid, threshold, clean-up) and the lesion table.

        ``prepared`` is only read, so it can be segmented again, with this or another network.

        Args:
            prepared: the output of :meth:`prepare` (of this detector: same device and patch inferer).
            network: stage-2 network to run instead of :attr:`network`; moved to :attr:`device`, put in ``eval()``.

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
            probability = self.inferer(prepared.image, network, centres=centres)
        image = prepared.data[IMAGE]
        pred = MetaTensor(probability[0].detach().float().cpu(), meta=dict(image.meta))
        data = run_stages(self._post, {**prepared.data, PRED: pred}, timer)
        with timer("cleanup"):
            mask = np.asarray(data[PRED][0], dtype=np.uint8)
            probability_in = np.asarray(data[PROBABILITY][0], dtype=np.float32)
            lesions = lesion_table(mask, prepared.input_affine, probability=probability_in)
        n_candidates, seconds = len(prepared.candidates), sum(timer.seconds.values())
        logger.debug("%d candidate(s), %d lesion(s) in %.2f s", n_candidates, len(lesions), seconds)
        return DetectionResult(
            mask=mask,
            probability=probability_in,
            affine=prepared.input_affine,
            lesions=lesions,
            count=len(lesions),
            candidates=list(prepared.candidates),
            timings=dict(timer.seconds),
            warnings=tuple(prepared.warnings),
            brain_mask=prepared.brain_input,
        )

    def detections(self, prepared: PreparedScan, probability: np.ndarray, threshold: float | None = None) -> np.ndarray:
        """Threshold and clean up a stage-2 probability map on the input grid (``DetectionResult.probability``) as
        :meth:`segment` does, at :meth:`threshold_for` the scan or at ``threshold``, without running stage 2 again
        (e.g. to choose the threshold on a validation set). Returns the uint8 CMB mask ``(X, Y, Z)``.

        Raises:
            ValueError: for a threshold outside (0, 1) or a map not of the input's shape.
        """
        threshold = self.threshold_for(prepared) if threshold is None else as_threshold(threshold)
        detections = threshold_probability(probability, threshold, prepared.input_shape, prepared.finite_input)
        if self.cleanup is not None:
            detections, _ = self.cleanup(
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
        return self.cleanup is not None and self.cleanup.phase_rule_applies(spacing, prepared.phase is not None)

    def threshold_for(self, prepared: PreparedScan) -> float:
        """The probability threshold of a prepared scan: :attr:`phase_threshold` where the phase-sign rule runs on
        it (:meth:`phase_rule_applies`), :attr:`threshold` otherwise."""
        return self._threshold.threshold_for(spacing_of(prepared.input_affine), prepared.phase is not None)

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
