"""Files for the tests of every subpackage: tiny NIfTI scans, a results page with its markers, a small network
config, a rename that fails, and a cohort of probability maps with a detector that reads them
(tests/conftest.py puts this module on the path)."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from types import SimpleNamespace

import nibabel as nib
import numpy as np
import torch

ANISOTROPIC_AFFINE = np.array(
    [
        [-0.5, 0.0, 0.0, 40.0],
        [0.0, 0.5, 0.0, -30.0],
        [0.0, 0.0, 3.0, -12.0],
        [0.0, 0.0, 0.0, 1.0],
    ]
)
"""A thick-slice grid: 0.5 x 0.5 x 3 mm voxels, x flipped, with an offset."""


def random_scan(shape: tuple[int, ...] = (8, 9, 6), seed: int = 0) -> np.ndarray:
    """A small random 3D scan of float32 values in [10, 100]."""
    return np.random.default_rng(seed).uniform(10.0, 100.0, size=shape).astype(np.float32)


def write_nifti(path: Path, data: np.ndarray | None = None, affine: np.ndarray | None = None) -> Path:
    """Write ``data`` (default: :func:`random_scan`) with ``affine`` (default :data:`ANISOTROPIC_AFFINE`, as sform
    and qform) to ``path``, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = nib.Nifti1Image(random_scan() if data is None else data, ANISOTROPIC_AFFINE if affine is None else affine)
    image.set_sform(image.affine, code=1)
    image.set_qform(image.affine, code=1)
    nib.save(image, path)
    return path


def interrupt_rename_to(
    monkeypatch, suffix: str, error: BaseException | type[BaseException] = KeyboardInterrupt
) -> None:
    """Make ``os.replace`` raise ``error`` (default a Ctrl-C) when it would rename a file onto ``*suffix``."""
    replace = os.replace

    def interrupted(source, target):
        if str(target).endswith(suffix):
            raise error
        return replace(source, target)

    monkeypatch.setattr(os, "replace", interrupted)


RESULTS_DOC = """# Results

Intro.

<!-- results:table:start -->
old main table
<!-- results:table:end -->

Between.

<!-- results:walltime:start -->
<!-- results:walltime:end -->

<!-- results:magnitude:start -->
<!-- results:magnitude:end -->

<!-- results:ablation:start -->
<!-- results:ablation:end -->
Outro.
"""
"""A Markdown file holding every marker pair of the results tables (``--write-docs`` of scripts/evaluate_models.py)."""

TINY_E2UNET = {
    "_target_": "cmb_kd.networks.E2UNet",
    "spatial_dims": 3,
    "in_channels": 1,
    "out_channels": 1,
    "channels": [4, 8, 16, 32, 64],
}
"""The MONAI config dict of a small E²U-Net, as a run folder's ``network_def.json`` holds it."""


class GainNetwork(torch.nn.Module):
    """A "network" whose output is its input times ``gain``, a buffer saved in its state dict; the stage-2 network
    of :class:`ProbabilityDetector` (a run folder's ``network_def.json`` may name it as ``_test_files.GainNetwork``)."""

    def __init__(self, gain: float = 1.0) -> None:
        super().__init__()
        self.register_buffer("gain", torch.tensor(float(gain)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gain


@dataclasses.dataclass(frozen=True)
class ProbabilityScan:
    """What :meth:`ProbabilityDetector.prepare` gives: the fields of :class:`PreparedScan` that the evaluation reads,
    and the scan's voxels."""

    image: np.ndarray
    input_shape: tuple[int, int, int]
    input_affine: np.ndarray
    phase: np.ndarray | None
    candidates: tuple[tuple[int, ...], ...]


class ProbabilityDetector:
    """A stand-in for :class:`CMBDetector` on scans that hold probability maps, with its interface and none of its
    cost: :meth:`prepare` loads the scan (refusing one without a positive voxel, as the plausibility check does),
    :meth:`segment` gives the network's output on it as the probability, :meth:`detections` thresholds that and,
    where the phase rule runs (a phase image and slices of at most :attr:`PHASE_RULE_MM`), removes the voxels of
    positive phase (calcifications). ``from_bundle`` records its arguments in :attr:`built`."""

    PHASE_RULE_MM = 5.0
    built: dict = {}

    def __init__(self, threshold: float = 0.6, phase_threshold: float | None = 0.3) -> None:
        self.threshold = threshold
        self.phase_threshold = phase_threshold

    @classmethod
    def from_bundle(cls, bundle_dir, device="cpu", *, overrides=None) -> ProbabilityDetector:
        cls.built = {"bundle": bundle_dir, "device": device, "overrides": dict(overrides or {})}
        return cls()

    def prepare(self, image, *, phase=None) -> ProbabilityScan:
        scan = nib.load(image)
        data = np.asarray(scan.dataobj, dtype=np.float32)
        if not (data > 0).any():
            raise ValueError("no positive intensity; expected a magnitude scan")
        phase_data = None if phase is None else np.asarray(nib.load(phase).dataobj, dtype=np.float32)
        candidates = tuple(map(tuple, np.argwhere(data > 0.1)))
        return ProbabilityScan(data, data.shape, scan.affine, phase_data, candidates)

    def segment(self, prepared: ProbabilityScan, network: torch.nn.Module) -> SimpleNamespace:
        with torch.no_grad():
            return SimpleNamespace(probability=network(torch.from_numpy(prepared.image)).numpy())

    def phase_rule_applies(self, prepared: ProbabilityScan) -> bool:
        thickest = np.linalg.norm(prepared.input_affine[:3, :3], axis=0).max()
        return bool(prepared.phase is not None and thickest <= self.PHASE_RULE_MM)

    def detections(self, prepared: ProbabilityScan, probability: np.ndarray, threshold: float) -> np.ndarray:
        mask = probability >= threshold
        if self.phase_rule_applies(prepared):
            mask &= prepared.phase <= 0
        return mask.astype(np.uint8)


PROBABILITY_SHAPE = (16, 16, 8)
"""Shape of every scan of :func:`write_probability_cohort`."""


def probability_scan(with_small_lesion: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scan, label and phase of one subject of :func:`write_probability_cohort`: a lesion A of probability 0.9, when
    ``with_small_lesion`` a one-voxel lesion B of 0.4, and a calcification C of 0.8 (positive phase) off the label."""
    scan = np.full(PROBABILITY_SHAPE, 0.01, np.float32)
    label = np.zeros(PROBABILITY_SHAPE, np.uint8)
    phase = np.zeros(PROBABILITY_SHAPE, np.float32)
    scan[3:5, 3:5, 2:4] = 0.9
    label[3:5, 3:5, 2:4] = 1
    if with_small_lesion:
        scan[10, 10, 5] = 0.4
        label[10, 10, 5] = 1
    scan[12:14, 3:5, 2:4] = 0.8
    phase[12:14, 3:5, 2:4] = 1.0
    return scan, label, phase


def write_probability_cohort(cohort: Path, factors: tuple[int, ...] = (2, 8), seed: int = 7) -> Path:
    """A cohort in the layout of ``cmb-kd synth`` for :class:`ProbabilityDetector`: ``sub-001`` (lesions A and B)
    and ``sub-002`` (lesion A), both in ``test``, each with ``image``/``label``/``phase`` on a 1 mm grid and the
    same voxels on a grid of ``F`` mm slices for each factor F. Returns the ``datalist.json``."""
    entries = []
    for number, with_small_lesion in ((1, True), (2, False)):
        subject = f"sub-{number:03d}"
        scan, label, phase = probability_scan(with_small_lesion)
        entry: dict[str, str] = {"subject": subject}
        for suffix, slice_mm in [("", 1.0)] + [(f"_lr_x{f}", float(f)) for f in factors]:
            affine = np.diag([1.0, 1.0, slice_mm, 1.0])
            for key, data, name in (("image", scan, "T2S"), ("label", label, "CMB"), ("phase", phase, "phase")):
                relative = f"{subject}/{subject}_{name}{suffix.replace('_lr_', '_lr-')}.nii.gz"
                write_nifti(cohort / relative, data, affine)
                entry[f"{key}{suffix}"] = relative
        entries.append(entry)
    datalist = cohort / "datalist.json"
    datalist.write_text(json.dumps({"seed": seed, "training": [], "validation": [], "test": entries}, indent=1))
    return datalist
