"""The whole-volume pipeline as MONAI Composes: the ``preprocessing`` and ``postprocessing`` of the bundle's
``inference.json``, which :class:`CMBDetector`, ``cmb-kd infer``, MONAI's evaluator and MONAI Label all run.

``preprocessing``: ``LoadImaged`` (key ``image``) → :class:`CheckScand` (which loads a given ``brain_mask`` or
``phase``) → :class:`InputBraind` → :class:`~cmb_kd.transforms.ResampleToWorkingGridd` (RAS, working spacing;
invertible) → :class:`~cmb_kd.transforms.SkullStripd` (only when the scan brought no brain) → :class:`BrainBoxd`
(invertible) → :class:`InputGridBraind` → :class:`ScreeningScored` → :class:`StageCandidatesd` →
:class:`~cmb_kd.transforms.BrainStandardisationd`. The stage-2 inferer (:class:`CandidatePatchInferer`) then gives the
probability map ``pred`` over the brain box. ``postprocessing``: ``Invertd`` (back through the brain box and the
working grid onto the input grid, maximum over the working voxels inside each input voxel) →
:class:`ThresholdDetectionsd` → :class:`LesionCleanupd` (→ ``SaveImaged`` in the bundle).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from monai.data import MetaTensor, list_data_collate
from monai.transforms import Compose, Invertd, LoadImaged, SaveImaged
from monai.utils import convert_to_numpy

from cmb_kd.candidates import CandidateDetector, ScreeningScoreMap
from cmb_kd.inference.detection_result import PreparedScan
from cmb_kd.inference.detection_transforms import PRED, LesionCleanupd, ThresholdDetectionsd
from cmb_kd.inference.grid_mapping import DEFAULT_BOX_PATCH, from_box
from cmb_kd.inference.lesion_cleanup import LesionCleanup
from cmb_kd.inference.pre_masked_brain import PreMaskedBrain
from cmb_kd.inference.scan_transforms import (
    BRAIN,
    BRAIN_INPUT,
    BRAIN_WORKING,
    CANDIDATES,
    FINITE,
    IMAGE,
    META_BRAIN_SOURCE,
    META_WARNINGS,
    PHASE,
    BrainBoxd,
    CheckScand,
    InputBraind,
    InputGridBraind,
    ScreeningScored,
    StageCandidatesd,
)
from cmb_kd.inference.stage_timer import StageTimer
from cmb_kd.transforms import BrainStandardisationd, ResampleToWorkingGridd, SkullStripd
from cmb_kd.transforms.brain_standardisation import BrainStandardisation

__all__ = [
    "STAGE_OF",
    "collate_scans",
    "find_transform",
    "prepared_scan",
    "run_stages",
    "scan_postprocessing",
    "scan_preprocessing",
    "stage_of",
    "without_io",
]

STAGE_OF: dict[type, str] = {
    LoadImaged: "load",
    ResampleToWorkingGridd: "working_grid",
    SkullStripd: "brain_mask",
    BrainStandardisationd: "standardise",
    Invertd: "input_grid",
    SaveImaged: "cleanup",
}
"""The stage (:data:`STAGES`) of the transforms that do not name their own (``stage`` attribute)."""


def stage_of(transform: Callable) -> str:
    """The timed stage a transform of the pipeline belongs to (``"load"`` for one the pipeline does not know)."""
    stage = getattr(transform, "stage", None)
    if isinstance(stage, str):
        return stage
    return next((name for kind, name in STAGE_OF.items() if isinstance(transform, kind)), "load")


def without_io(transforms: Compose | Iterable[Callable]) -> list[Callable]:
    """The transforms of a Compose without ``LoadImaged`` and ``SaveImaged``: what the detector runs on a scan it
    loaded itself and whose results it hands back instead of writing them."""
    items = transforms.transforms if isinstance(transforms, Compose) else transforms
    return [t for t in items if not isinstance(t, (LoadImaged, SaveImaged))]


def find_transform(transforms: Compose | Iterable[Callable], kind: type) -> Any | None:
    """The first transform of ``kind`` in a Compose or list of transforms, or None."""
    items = transforms.transforms if isinstance(transforms, Compose) else transforms
    return next((t for t in items if isinstance(t, kind)), None)


def run_stages(transforms: Sequence[Callable], data: Mapping, timer: StageTimer) -> dict:
    """Apply the transforms in order, each timed as its stage (:func:`stage_of`)."""
    d = dict(data)
    for transform in transforms:
        with timer(stage_of(transform)):
            d = transform(d)
    return d


def collate_scans(items: Sequence[Mapping]) -> dict:
    """MONAI's ``list_data_collate`` for preprocessed scans, without the stage-1 :data:`CANDIDATES` objects (which
    neither collate nor decollate); the inferer finds the candidates' voxels in the scan's meta data."""
    return list_data_collate([{k: v for k, v in item.items() if k != CANDIDATES} for item in items])


def scan_preprocessing(
    *,
    spacing: float | Sequence[float] = 1.0,
    pre_masked: PreMaskedBrain | None = None,
    skull_strip: SkullStripd | None = None,
    screening: ScreeningScoreMap | None = None,
    standardisation: BrainStandardisation | None = None,
    candidate_detector: CandidateDetector | None = None,
    patch_size: Sequence[int] = DEFAULT_BOX_PATCH,
    load: bool = True,
) -> Compose:
    """The ``preprocessing`` Compose of the module docstring, from its parts (the bundle writes the same list).

    Args:
        spacing: working voxel size in mm.
        pre_masked: the test for a pre-masked scan (default :class:`PreMaskedBrain` ``()``).
        skull_strip: the brain extraction on the working grid (default ``SkullStripd(image, mask_key=brain)``).
        screening: the stage-1 screening FCN with its inferer, or None.
        standardisation: intensity standardisation (default :class:`BrainStandardisation` ``()``).
        candidate_detector: stage-1 candidates (default ``CandidateDetector()``).
        patch_size: the stage-2 patch, whose half is the brain box's margin.
        load: start with ``LoadImaged`` of the key ``image`` (a given ``brain_mask`` or ``phase``, a path or an
            array, is loaded and checked by :class:`CheckScand`).
    """
    standardisation = BrainStandardisation() if standardisation is None else standardisation
    standardise = BrainStandardisationd(IMAGE, brain_key=BRAIN, method=standardisation.method)
    standardise.standardise = standardisation
    steps: list[Callable] = [
        CheckScand(IMAGE),
        InputBraind(IMAGE, pre_masked=pre_masked),
        ResampleToWorkingGridd([IMAGE, BRAIN], spacing=spacing, mode=["cubic", "nearest"], allow_missing_keys=True),
        SkullStripd(IMAGE, mask_key=BRAIN) if skull_strip is None else skull_strip,
        BrainBoxd([IMAGE, BRAIN], patch_size=tuple(patch_size)),
        InputGridBraind(IMAGE),
        ScreeningScored(IMAGE, screening=screening, standardisation=standardisation),
        StageCandidatesd(IMAGE, detector=candidate_detector),
        standardise,
    ]
    if load:
        steps.insert(0, LoadImaged(IMAGE, image_only=True, ensure_channel_first=True))
    return Compose(steps)


def scan_postprocessing(
    preprocessing: Compose,
    *,
    threshold: float = 0.5,
    phase_threshold: float | None = None,
    cleanup: LesionCleanup | None = None,
) -> Compose:
    """The ``postprocessing`` Compose of the module docstring, without ``SaveImaged``.

    Args:
        preprocessing: the Compose whose working grid and brain box ``Invertd`` undoes.
        threshold, phase_threshold: as :class:`ThresholdDetectionsd`.
        cleanup: stage 3 (default ``LesionCleanup()``); None with ``cleanup=False`` semantics is not offered here:
            leave :class:`LesionCleanupd` out of the list to run no clean-up.
    """
    cleanup = LesionCleanup() if cleanup is None else cleanup
    return Compose(
        [
            Invertd(PRED, transform=preprocessing, orig_keys=IMAGE, nearest_interp=False, to_tensor=True),
            ThresholdDetectionsd(PRED, threshold=threshold, phase_threshold=phase_threshold, cleanup=cleanup),
            LesionCleanupd(PRED, cleanup=cleanup),
        ]
    )


def _step_info(image: MetaTensor, class_name: str) -> dict:
    steps = [op for op in image.applied_operations if op.get("class") == class_name]
    if not steps:
        raise ValueError(f"key '{IMAGE}': expected the step {class_name} in its applied operations, found none")
    return steps[-1]


def prepared_scan(data: Mapping, device: torch.device, timings: Mapping[str, float]) -> PreparedScan:
    """The :class:`PreparedScan` of a scan's preprocessed data (the output of the ``preprocessing`` transforms)."""
    image = data[IMAGE]
    grid = _step_info(image, "ResampleToWorkingGridd")
    box_start = [int(v) for v in _step_info(image, "BrainBoxd")["extra_info"]["box_start"]]
    box = tuple(slice(a, a + int(n)) for a, n in zip(box_start, image.shape[1:]))
    finite = data.get(FINITE)
    phase = data.get(PHASE)
    kept = {key: data[key] for key in (IMAGE, FINITE, PHASE, BRAIN_INPUT) if key in data}
    return PreparedScan(
        input_shape=tuple(int(n) for n in grid["orig_size"]),
        input_affine=np.asarray(convert_to_numpy(grid["extra_info"]["input_affine"]), dtype=np.float64),
        working_shape=tuple(int(n) for n in data[BRAIN_WORKING].shape),
        working_affine=np.asarray(convert_to_numpy(grid["extra_info"]["working_affine"]), dtype=np.float64),
        brain_box=box,
        image=image.as_tensor()[None].float().to(device),
        brain_working=data[BRAIN_WORKING],
        brain_input=data[BRAIN_INPUT],
        phase=None if phase is None else np.asarray(phase),
        candidates=from_box(data[CANDIDATES], box),
        timings=dict(timings),
        warnings=tuple(image.meta.get(META_WARNINGS, ())),
        brain_source=image.meta.get(META_BRAIN_SOURCE, "skull-strip"),
        finite_input=finite,
        data=kept,
    )
