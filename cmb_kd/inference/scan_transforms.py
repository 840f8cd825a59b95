"""The detector's preprocessing as MONAI dictionary transforms: the steps between a loaded scan and the standardised
brain box the stage-2 network sees (the bundle's ``preprocessing``, after ``LoadImaged``).

The data dictionary of one scan holds, by the key names below: the scan (:data:`IMAGE`, a ``(1, X, Y, Z)``
MetaTensor), what may come with it (:data:`BRAIN_MASK`, :data:`PHASE`, on its grid), and what the steps add: the
voxels that held a value (:data:`FINITE`), the brain on the working grid (:data:`BRAIN`, cut to the brain box, and
:data:`BRAIN_WORKING`, whole) and on the input grid (:data:`BRAIN_INPUT`), the screening FCN's score map
(:data:`SCREENING`) and the stage-1 candidates (:data:`CANDIDATES`). Each transform names the stage of
:data:`~cmb_kd.inference.stage_timer.STAGES` it belongs to (``stage``), so the detector can time them.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import torch
from monai.config import KeysCollection
from monai.data import MetaTensor
from monai.transforms import InvertibleTransform, MapTransform
from monai.utils import TraceKeys, convert_to_numpy

from cmb_kd.candidates import CandidateDetector, ScreeningScoreMap
from cmb_kd.checks import require_keys
from cmb_kd.inference.brain_source import input_brain
from cmb_kd.inference.grid_mapping import DEFAULT_BOX_PATCH, box_affine, brain_box, to_input_grid
from cmb_kd.inference.pre_masked_brain import PreMaskedBrain
from cmb_kd.inference.scan_input import load_scan_input
from cmb_kd.transforms.brain_standardisation import BrainStandardisation
from cmb_kd.transforms.working_grid import pop_own_step

__all__ = [
    "BRAIN",
    "BRAIN_INPUT",
    "BRAIN_MASK",
    "BRAIN_WORKING",
    "BrainBoxd",
    "CANDIDATES",
    "CANDIDATE_VOXELS",
    "CheckScand",
    "FINITE",
    "IMAGE",
    "InputBraind",
    "InputGridBraind",
    "META_BRAIN_SOURCE",
    "META_WARNINGS",
    "PHASE",
    "SCREENING",
    "ScreeningScored",
    "StageCandidatesd",
]

logger = logging.getLogger(__name__)

IMAGE = "image"
"""The scan, ``(1, X, Y, Z)``: as loaded, then on the working grid, cut to the brain box and standardised."""
BRAIN_MASK = "brain_mask"
"""A brain mask given with the scan, on its grid (optional)."""
PHASE = "phase"
"""A high-pass phase image given with the scan, on its grid (optional; the clean-up's phase-sign rule)."""
FINITE = "finite"
"""bool ``(X, Y, Z)``: the input voxels that held a value (not NaN); absent when all did."""
BRAIN = "brain"
"""uint8 ``(1, ...)`` brain mask following the scan: input grid, working grid, brain box."""
BRAIN_WORKING = "brain_working"
"""bool ``(X', Y', Z')``: the brain on the whole working grid."""
BRAIN_INPUT = "brain_input"
"""bool ``(X, Y, Z)``: the brain on the input grid, what the clean-up's brain-margin rule reads."""
SCREENING = "screening"
"""float32 ``(X'', Y'', Z'')``: the screening FCN's CMB probability over the brain box (when it runs)."""
CANDIDATES = "candidates"
"""The stage-1 :class:`~cmb_kd.candidates.Candidate` tuple, ``voxel`` in the brain box."""
CANDIDATE_VOXELS = "candidate_voxels"
"""Meta key of the scan: int64 ``(N, 3)`` tensor of the candidates' voxels in the brain box, most important first,
which :class:`CandidatePatchInferer` reads when called without centres."""
META_WARNINGS = "cmb_warnings"
"""Meta key of the scan: its plausibility warnings (:func:`check_scan_plausibility`), one line each."""
META_BRAIN_SOURCE = "cmb_brain_source"
"""Meta key of the scan: where its brain mask came from (:data:`BRAIN_SOURCES`)."""
META_NAME = "cmb_name"
"""Meta key of the scan: how messages name it."""


def _volume(value: Any) -> np.ndarray:
    """The spatial volume ``(X, Y, Z)`` of a ``(1, X, Y, Z)`` or ``(X, Y, Z)`` array or tensor."""
    array = np.asarray(convert_to_numpy(value))
    return array[0] if array.ndim == 4 else array


def _affine(image: Any) -> np.ndarray:
    if not isinstance(image, MetaTensor):
        raise ValueError(f"key '{IMAGE}': expected a MetaTensor with its affine (LoadImaged), got {type(image)}")
    return np.asarray(convert_to_numpy(image.affine), dtype=np.float64)


def _with_volume(image: MetaTensor, volume: np.ndarray, affine: np.ndarray, **meta: Any) -> MetaTensor:
    """A MetaTensor ``(1, X, Y, Z)`` of ``volume`` keeping ``image``'s meta data and operations, with ``meta`` added."""
    merged = {k: v for k, v in image.meta.items() if k != "affine"}
    merged.update(meta)
    out = MetaTensor(torch.from_numpy(volume)[None], affine=torch.as_tensor(affine, dtype=torch.float64), meta=merged)
    out.applied_operations = list(image.applied_operations)
    return out


class CheckScand(MapTransform):
    """Check a loaded scan and what came with it (:func:`load_scan_input`): refuse what cannot be a magnitude scan,
    keep the warnings about a doubtful one in its meta data (:data:`META_WARNINGS`), set NaN voxels to 0 (recorded
    under :data:`FINITE`), and load and check a given brain mask and phase image (paths or arrays, under
    ``brain_mask_key`` and ``phase_key``) against its grid.

    Args:
        keys: the scan's key.
        brain_mask_key, phase_key, finite_key: keys of the given brain mask and phase (optional) and of the voxels
            holding a value.

    Raises:
        InputError: naming the file (its meta data's ``filename_or_obj``) when it holds no magnitude scan.
        ValueError: for an array without a file name that holds none, or bad companions.
    """

    stage = "load"

    def __init__(
        self,
        keys: KeysCollection = IMAGE,
        brain_mask_key: Hashable = BRAIN_MASK,
        phase_key: Hashable = PHASE,
        finite_key: Hashable = FINITE,
    ) -> None:
        super().__init__(keys)
        self.brain_mask_key, self.phase_key, self.finite_key = brain_mask_key, phase_key, finite_key

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        require_keys(d, self.keys)
        for key in self.key_iterator(d):
            image = d[key]
            source = image.meta.get("filename_or_obj") if isinstance(image, MetaTensor) else None
            scan = load_scan_input(
                _volume(image),
                _affine(image),
                brain_mask=d.get(self.brain_mask_key),
                phase=d.get(self.phase_key),
                name=str(source) if source else None,
                log=logger,
            )
            meta = {META_WARNINGS: list(scan.warnings), META_NAME: scan.name}
            d[key] = _with_volume(image, scan.data, scan.affine, **meta)
            companions = {self.brain_mask_key: scan.brain_mask, self.phase_key: scan.phase}
            companions[self.finite_key] = scan.finite_input
            for name, value in companions.items():
                if value is None:
                    d.pop(name, None)
                else:
                    d[name] = value
        return d


class InputBraind(MapTransform):
    """The scan's brain on its input grid when it has one before skull stripping (:func:`input_brain`): the given
    mask, else the non-zero region of a pre-masked scan (:class:`PreMaskedBrain`); written under ``brain_key`` (a
    ``(1, X, Y, Z)`` uint8 MetaTensor that the working grid resamples) and :data:`BRAIN_INPUT`. Without one, nothing
    is written and :class:`~cmb_kd.transforms.SkullStripd` finds it on the working grid.

    Args:
        keys: the scan's key (checked by :class:`CheckScand`).
        brain_key: where the brain mask goes.
        brain_mask_key, finite_key: keys of the given mask and of the voxels holding a value.
        pre_masked: the test for a pre-masked scan (default :class:`PreMaskedBrain` ``()``).
    """

    stage = "brain_mask"

    def __init__(
        self,
        keys: KeysCollection = IMAGE,
        brain_key: Hashable = BRAIN,
        brain_mask_key: Hashable = BRAIN_MASK,
        finite_key: Hashable = FINITE,
        pre_masked: PreMaskedBrain | None = None,
    ) -> None:
        super().__init__(keys)
        self.brain_key, self.brain_mask_key, self.finite_key = brain_key, brain_mask_key, finite_key
        self.pre_masked = PreMaskedBrain() if pre_masked is None else pre_masked

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        require_keys(d, self.keys)
        for key in self.key_iterator(d):
            image, affine = d[key], _affine(d[key])
            given = d.get(self.brain_mask_key)
            given = None if given is None else _volume(given) != 0
            brain = input_brain(given, _volume(image), affine, self.pre_masked, d.get(self.finite_key))
            logger.info("%s: %s", image.meta.get(META_NAME, key), brain.message)
            image.meta[META_BRAIN_SOURCE] = brain.source
            if brain.mask is not None:
                d[self.brain_key] = _with_volume(image, brain.mask.astype(np.uint8), affine)
                d[BRAIN_INPUT] = brain.mask
        return d


class BrainBoxd(MapTransform, InvertibleTransform):
    """Cut the scan and its brain to the brain's bounding box on the working grid plus half a patch on each side
    (:func:`brain_box`), where everything after runs; invertible (``Invertd`` pads an output back with zeros). The
    whole working-grid brain is kept under :data:`BRAIN_WORKING`.

    Args:
        keys: the keys to cut (the scan and its brain).
        brain_key: the brain mask on the working grid.
        patch_size: the stage-2 patch, whose half is the margin.
        allow_missing_keys: skip missing keys.

    Raises:
        ValueError: when no voxel of the working grid is brain.
    """

    stage = "brain_mask"

    def __init__(
        self,
        keys: KeysCollection = (IMAGE, BRAIN),
        brain_key: Hashable = BRAIN,
        patch_size: tuple[int, int, int] = DEFAULT_BOX_PATCH,
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.brain_key = brain_key
        self.patch_size = tuple(int(p) for p in patch_size)

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        require_keys(d, [self.brain_key, *self.keys], self.allow_missing_keys)
        brain = _volume(d[self.brain_key]) != 0
        if not brain.any():
            raise ValueError("brain_mask: no brain voxel found on the working grid; expected a head scan")
        d[BRAIN_WORKING] = brain
        box = brain_box(brain, self.patch_size)
        for key in self.key_iterator(d):
            d[key] = self._cut(d[key], box)
        return d

    def _cut(self, image: Any, box: tuple[slice, slice, slice]) -> Any:
        if not isinstance(image, MetaTensor):
            return image[(slice(None), *box)]
        affine = np.asarray(convert_to_numpy(image.affine), dtype=np.float64)
        meta = {k: v for k, v in image.meta.items() if k != "affine"}
        out = MetaTensor(
            image.as_tensor()[(slice(None), *box)], affine=torch.from_numpy(box_affine(affine, box)), meta=meta
        )
        out.applied_operations = list(image.applied_operations)
        start = [int(s.start) for s in box]
        self.push_transform(out, orig_size=tuple(image.shape[1:]), extra_info={"box_start": start})
        return out

    def inverse(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        """Pad each key back onto the whole working grid with zeros."""
        d = dict(data)
        for key in self.key_iterator(d):
            step = pop_own_step(self, d[key])
            image = d[key]
            start = [int(v) for v in step[TraceKeys.EXTRA_INFO]["box_start"]]
            shape = [int(n) for n in step[TraceKeys.ORIG_SIZE]]
            box = tuple(slice(a, a + n) for a, n in zip(start, image.shape[1:]))
            full = torch.zeros((image.shape[0], *shape), dtype=image.dtype, device=image.device)
            full[(slice(None), *box)] = image.as_tensor() if isinstance(image, MetaTensor) else image
            affine = np.asarray(convert_to_numpy(image.affine), dtype=np.float64).copy()
            affine[:3, 3] -= affine[:3, :3] @ np.asarray(start, dtype=np.float64)
            meta = {k: v for k, v in image.meta.items() if k != "affine"}
            out = MetaTensor(full, affine=torch.from_numpy(affine), meta=meta)
            out.applied_operations = list(image.applied_operations)
            d[key] = out
        return d


class InputGridBraind(MapTransform):
    """The brain on the input grid (:data:`BRAIN_INPUT`) for a scan whose brain was found by skull stripping: the
    working-grid brain mapped back by nearest neighbour, never where the input had no value. A scan that came with
    its brain keeps it.

    Args:
        keys: the scan's key (on the working grid, with the operations of :class:`ResampleToWorkingGridd`).
        finite_key: key of the voxels holding a value.
    """

    stage = "input_grid"

    def __init__(self, keys: KeysCollection = IMAGE, finite_key: Hashable = FINITE) -> None:
        super().__init__(keys)
        self.finite_key = finite_key

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        require_keys(d, [*self.keys, BRAIN_WORKING])
        if BRAIN_INPUT in d:
            return d
        for key in self.key_iterator(d):
            step = _working_grid_step(d[key])
            shape = tuple(int(n) for n in step["orig_size"])
            in_affine = np.asarray(convert_to_numpy(step["extra_info"]["input_affine"]), dtype=np.float64)
            work_affine = np.asarray(convert_to_numpy(step["extra_info"]["working_affine"]), dtype=np.float64)
            brain = to_input_grid(d[BRAIN_WORKING], "nearest", in_affine, shape, work_affine)
            finite = d.get(self.finite_key)
            d[BRAIN_INPUT] = brain if finite is None else brain & finite
        return d


def _working_grid_step(image: Any) -> dict:
    """The operation :class:`ResampleToWorkingGridd` recorded on a scan."""
    steps = [op for op in getattr(image, "applied_operations", []) if op.get("class") == "ResampleToWorkingGridd"]
    if not steps:
        raise ValueError(f"key '{IMAGE}': expected a scan resampled by ResampleToWorkingGridd, found none recorded")
    return steps[-1]


class ScreeningScored(MapTransform):
    """The screening FCN's CMB probability over the brain box (:class:`ScreeningScoreMap`), on the scan standardised
    as the network will see it, under :data:`SCREENING`; nothing without a screening FCN.

    Args:
        keys: the scan's key (brain box, not yet standardised).
        brain_key: the brain mask on the same grid.
        screening: the screening FCN with its inferer, or None.
        standardisation: the intensity standardisation the FCN was trained with.
    """

    stage = "screening"

    def __init__(
        self,
        keys: KeysCollection = IMAGE,
        brain_key: Hashable = BRAIN,
        screening: ScreeningScoreMap | None = None,
        standardisation: BrainStandardisation | None = None,
    ) -> None:
        super().__init__(keys)
        self.brain_key, self.screening = brain_key, screening
        self.standardisation = BrainStandardisation() if standardisation is None else standardisation

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        if self.screening is None:
            return d
        for key in self.key_iterator(d):
            standardised = self.standardisation(_volume(d[key]), _volume(d[self.brain_key]))
            d[SCREENING] = self.screening(torch.from_numpy(standardised)[None, None])
        return d


class StageCandidatesd(MapTransform):
    """Stage 1: the candidates of :class:`CandidateDetector` on the scan's magnitude in the brain box (fused with the
    screening FCN's map as the source ``"fcn"`` when there is one), under :data:`CANDIDATES`, and their voxels in
    the scan's meta data (:data:`CANDIDATE_VOXELS`) for the stage-2 inferer.

    Args:
        keys: the scan's key (brain box, in its own positive units: the dark-spot source measures relative
            darkening).
        brain_key: the brain mask on the same grid.
        detector: the candidate detector (default ``CandidateDetector()``).
    """

    stage = "candidates"

    def __init__(
        self, keys: KeysCollection = IMAGE, brain_key: Hashable = BRAIN, detector: CandidateDetector | None = None
    ) -> None:
        super().__init__(keys)
        self.brain_key = brain_key
        self.detector = CandidateDetector() if detector is None else detector

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        require_keys(d, [*self.keys, self.brain_key])
        extra = None if SCREENING not in d else {"fcn": d.pop(SCREENING)}
        for key in self.key_iterator(d):
            image = d[key]
            found = self.detector(_volume(image), _volume(d[self.brain_key]) != 0, _affine(image), extra_scores=extra)
            d[CANDIDATES] = tuple(found)
            voxels = torch.tensor([c.voxel for c in found], dtype=torch.int64).reshape(-1, 3)
            image.meta[CANDIDATE_VOXELS] = voxels
        return d
