"""Constants shared by the inference tests (a uniquely named module, importable from every test file here)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from _test_files import ANISOTROPIC_AFFINE, interrupt_rename_to  # noqa: F401 (re-exported for the inference tests)

_HOLD_LOCK = """
import fcntl, os, sys
descriptor = os.open(os.path.join(sys.argv[1], sys.argv[2]), os.O_RDWR | os.O_CREAT, 0o666)
fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
print("locked", flush=True)
sys.stdin.read()
"""


def hold_lock(folder, name: str = ".cmb_kd_infer.lock") -> subprocess.Popen:
    """Start a process that holds the lock of ``folder`` (``flock`` on ``folder/name``, as ``OutputFolderLock``
    takes it) until its stdin is closed; returns once the lock is held (no sleep)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(folder), name], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    line = holder.stdout.readline()
    if line != b"locked\n":
        holder.kill()
        raise RuntimeError(f"the lock holder did not take the lock of {folder} (it wrote {line!r})")
    return holder


def release(holder: subprocess.Popen) -> None:
    """End a :func:`hold_lock` process (its lock is released as it exits)."""
    holder.stdin.close()
    holder.wait(timeout=30)


PHANTOM_AFFINE = np.diag([4.0, 4.0, 6.0, 1.0])
"""The grid of :func:`head_phantom`: 4 x 4 x 6 mm voxels, a field of view of 176 x 208 x 168 mm (6.1 L)."""


def head_phantom(
    kind: str, *, brain_axes_mm: tuple[float, float, float] = (62.0, 78.0, 52.0), seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A head of realistic size on :data:`PHANTOM_AFFINE`, float32 ``(44, 52, 28)``, and its brain mask (bool).

    The brain is an ellipsoid (default semi-axes 62 x 78 x 52 mm, 1.05 L) of noisy tissue around 100 with a CMB core
    of exact zeros; around it lie CSF (3 mm, 150), a dark skull (6 mm, 5) and the scalp (6 mm, 120), 2.0 L in all.
    ``kind``: ``"head"`` (air of Rician-like noise), ``"head-zero-air"`` (air exactly 0, as some scanners write it),
    ``"brain-zero"`` (skull-stripped: 0 outside the brain) or ``"brain-nan"`` (NaN outside the brain, VALDO's layout).
    """
    rng = np.random.default_rng(seed)
    shape = (44, 52, 28)
    spacing = np.diag(PHANTOM_AFFINE)[:3]
    grid = np.meshgrid(*[(np.arange(n) - (n - 1) / 2) * s for n, s in zip(shape, spacing)], indexing="ij")

    def inside(extra_mm: float) -> np.ndarray:
        return sum((g / (a + extra_mm)) ** 2 for g, a in zip(grid, brain_axes_mm)) <= 1.0

    brain = inside(0.0)
    image = np.abs(rng.normal(0.0, 3.0, size=shape))  # air
    for extra_mm, level in ((15.0, 120.0), (9.0, 5.0), (3.0, 150.0)):
        image[inside(extra_mm)] = level + rng.normal(0.0, 3.0, size=int(np.count_nonzero(inside(extra_mm))))
    image[brain] = rng.normal(100.0, 5.0, size=int(np.count_nonzero(brain)))
    image[22, 26, 14] = 0.0  # a CMB core stored as exact zero: still brain
    if kind == "head-zero-air":
        image[~inside(15.0)] = 0.0
    elif kind == "brain-zero":
        image[~brain] = 0.0
    elif kind == "brain-nan":
        image[~brain] = np.nan
    elif kind != "head":
        raise ValueError(f"kind: expected 'head', 'head-zero-air', 'brain-zero' or 'brain-nan', got {kind!r}")
    return image.astype(np.float32), brain


def fake_locate(volume, affine, brain_mask, centroids_mm, **options):
    """A stand-in for :func:`cmb_kd.location.locate` without registration: MNI is the scan's world, a point with
    x >= 0 is in the right frontal lobe, one with x < 0 in the left thalamus."""
    from cmb_kd.location import LocationResult, TemplateTransform, burden

    points = np.asarray(centroids_mm, dtype=np.float64).reshape(-1, 3)
    regions = tuple("frontal" if x >= 0 else "thalamus" for x in points[:, 0])
    sides = tuple("right" if x >= 0 else "left" for x in points[:, 0])
    return LocationResult(points, points.copy(), regions, sides, TemplateTransform(np.eye(4)), burden(regions, sides))


def result_of_mask(mask: np.ndarray, affine: np.ndarray, **fields):
    """The :class:`DetectionResult` of a detection ``mask`` (its probability the mask itself, its lesion table
    the mask's), with any further ``fields`` (``timings``, ``brain_mask``)."""
    from cmb_kd.inference import DetectionResult, lesion_table

    lesions = lesion_table(mask, affine)
    fields.setdefault("timings", {})
    return DetectionResult(
        mask=mask,
        probability=mask.astype(np.float32),
        affine=affine,
        lesions=lesions,
        count=len(lesions),
        candidates=[],
        **fields,
    )
