"""Registration of a brain scan to the MNI ICBM152 2009 template with ITK's v4 framework.

The scan (fixed) and the template (moving) are compared on the brain only: the scan is masked by its brain mask,
block-averaged in-plane and resampled onto an isotropic grid (``spacing_mm``, 4 mm by default) aligned with its
world axes, so thick slices and any voxel orientation are handled through the scan's affine. The template is its
T1 map masked by its brain mask, at 2 mm. Two stages follow, both with Mattes mutual information (the scan may be
T2*-weighted or SWI, the template is T1-weighted):

1. **affine** (12 parameters), started from the brain masks' centres of mass and their volume ratio, regular-step
   gradient descent with physical-shift scales, two resolution levels (shrink 2 then 1);
2. **deformable**: a dense displacement field on the same coarse grid, composed before the affine and optimised
   greedily (gradient descent, steps of at most ``step_mm``) with Gaussian smoothing of each update and of the
   total field (ITK's ``GaussianSmoothingOnUpdateDisplacementFieldTransform``, the greedy core of SyN without its
   symmetric half). A B-spline stage (``BSplineTransform`` with L-BFGS-B) was tried first and dropped: on one core
   it took minutes per scan where the field takes seconds.

The first call in a process also pays for loading ITK's wrapped registration modules (tens of seconds on a busy
machine); later calls take a few seconds.

ITK works in LPS; the result is returned as a :class:`~cmb_kd.location.transform.TemplateTransform` in RAS that
maps points of the scan's world to MNI.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

import itk
import numpy as np
from scipy import ndimage

from cmb_kd.checks import as_affine, as_mask, as_positive, as_volume, spacing_of
from cmb_kd.location.orientation import RAS_TO_LPS, image_to_itk
from cmb_kd.location.transform import TemplateTransform, transform_from_itk

__all__ = ["RegistrationSettings", "register_to_template", "brain_grid", "template_images"]

logger = logging.getLogger(__name__)


def _image_type() -> Any:
    """ITK's float 3D image type, looked up when a registration runs: naming it at import would load ITK's
    registration modules (seconds) in every process that imports the package."""
    return itk.Image[itk.F, 3]


#: Resolution (mm) of the template image the scan is compared with.
TEMPLATE_SPACING_MM = 2
#: Margin (mm) around the brain on the scan's registration grid.
_GRID_MARGIN_MM = 8.0
#: First step (mm of point motion) of the affine stage's gradient descent.
_AFFINE_STEP_MM = 2.0
#: Gaussian smoothing variances (voxels²) of the deformable stage's update field and total field.
_UPDATE_VARIANCE, _TOTAL_VARIANCE = 3.0, 1.0


@dataclass(frozen=True)
class RegistrationSettings:
    """Options of :func:`register_to_template`.

    Attributes:
        spacing_mm: isotropic spacing of the scan's registration grid.
        affine_iterations: gradient-descent iterations per level of the affine stage.
        deformable: whether the deformable (displacement field) stage runs.
        deformable_iterations: gradient-descent iterations of the deformable stage.
        step_mm: largest displacement update of one deformable iteration.
        sampling: fraction of the grid's voxels the affine stage's metric samples (random, seeded); the
            deformable stage uses every voxel.
        bins: histogram bins of Mattes mutual information.
        seed: seed of the metric's sampling.
    """

    spacing_mm: float = 4.0
    affine_iterations: int = 100
    deformable: bool = True
    deformable_iterations: int = 15
    step_mm: float = 1.0
    sampling: float = 0.2
    bins: int = 32
    seed: int = 0

    def __post_init__(self) -> None:
        as_positive(self.spacing_mm, "spacing_mm")
        as_positive(self.step_mm, "step_mm")
        for name in ("affine_iterations", "deformable_iterations", "bins"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
        if not 0.0 < float(self.sampling) <= 1.0:
            raise ValueError(f"sampling: expected a fraction in (0, 1], got {self.sampling!r}")


@functools.lru_cache(maxsize=1)
def template_images() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The template's masked T1 and brain mask at :data:`TEMPLATE_SPACING_MM` (block means) and their RAS affine."""
    from cmb_kd.synth.anatomy import load_template

    maps, affine = load_template()
    f = TEMPLATE_SPACING_MM
    shape = tuple(n // f for n in maps.shape[1:])
    crop = maps[:, : shape[0] * f, : shape[1] * f, : shape[2] * f]
    blocks = crop[[0, 3]].reshape(2, shape[0], f, shape[1], f, shape[2], f).mean(axis=(2, 4, 6))
    brain = blocks[1]
    coarse = affine.copy()
    coarse[:3, :3] = affine[:3, :3] * f
    coarse[:3, 3] = affine[:3, :3] @ np.full(3, (f - 1) / 2.0) + affine[:3, 3]
    return (blocks[0] * brain).astype(np.float32), brain.astype(np.float32), coarse


def _block_average(volume: np.ndarray, affine: np.ndarray, target_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Averages blocks of voxels along axes finer than ``target_mm / 1.5`` (anti-aliasing before resampling)."""
    spacing = spacing_of(affine)
    factors = [max(1, int(target_mm // s)) if s < target_mm / 1.5 else 1 for s in spacing]
    if factors == [1, 1, 1]:
        return volume, affine
    shape = [n // f for n, f in zip(volume.shape, factors)]
    crop = volume[: shape[0] * factors[0], : shape[1] * factors[1], : shape[2] * factors[2]]
    out = crop.reshape(shape[0], factors[0], shape[1], factors[1], shape[2], factors[2]).mean(axis=(1, 3, 5))
    coarse = affine.copy()
    coarse[:3, :3] = affine[:3, :3] * np.array(factors, dtype=float)
    coarse[:3, 3] = affine[:3, :3] @ ((np.array(factors, dtype=float) - 1) / 2.0) + affine[:3, 3]
    return out, coarse


def brain_grid(affine: np.ndarray, mask: np.ndarray, spacing_mm: float) -> tuple[np.ndarray, tuple[int, int, int]]:
    """An isotropic grid aligned with the world (RAS) axes around the brain mask, ``_GRID_MARGIN_MM`` wider.

    Returns:
        ``(grid_affine, shape)``: its 4x4 RAS voxel-to-world matrix and shape.
    """
    index = np.argwhere(mask)
    corners = np.array([[a, b, c] for a in (0, 1) for b in (0, 1) for c in (0, 1)], dtype=float)
    low, high = index.min(axis=0).astype(float), index.max(axis=0).astype(float)
    box = low + corners * (high - low)
    world = box @ affine[:3, :3].T + affine[:3, 3]
    start = world.min(axis=0) - _GRID_MARGIN_MM
    extent = world.max(axis=0) + _GRID_MARGIN_MM - start
    shape = tuple(int(np.ceil(e / spacing_mm)) + 1 for e in extent)
    grid = np.diag([spacing_mm, spacing_mm, spacing_mm, 1.0])
    grid[:3, 3] = start
    return grid, shape


def _resample(volume: np.ndarray, affine: np.ndarray, grid: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Trilinear samples of ``volume`` (on ``affine``) at the voxels of a grid; zero outside."""
    to_voxel = np.linalg.inv(affine) @ grid
    index = np.indices(shape, dtype=np.float32).reshape(3, -1)
    coords = to_voxel[:3, :3] @ index + to_voxel[:3, 3:]
    return ndimage.map_coordinates(volume, coords, order=1, mode="constant", cval=0.0).reshape(shape)


def _fixed_images(volume, affine, mask, spacing_mm) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The masked, intensity-normalised scan and its mask on the isotropic brain grid, and the grid's affine."""
    grid, shape = brain_grid(affine, mask, spacing_mm)
    masked = np.where(mask, volume, 0.0).astype(np.float32)
    scale = float(np.percentile(volume[mask], 99))
    masked /= scale if scale > 0 else 1.0
    small, small_affine = _block_average(masked, affine, spacing_mm)
    small_mask, _ = _block_average(mask.astype(np.float32), affine, spacing_mm)
    image = _resample(small, small_affine, grid, shape)
    brain = _resample(small_mask, small_affine, grid, shape)
    image = np.where(brain > 0.5, image / np.maximum(brain, 1e-3), 0.0).astype(np.float32)
    return image, (brain > 0.5).astype(np.float32), grid


def _centre_lps(mask: np.ndarray, affine: np.ndarray) -> np.ndarray:
    centre = np.argwhere(mask > 0.5).mean(axis=0)
    return (RAS_TO_LPS @ affine @ np.append(centre, 1.0))[:3]


def _initial_affine(fixed_mask, fixed_affine, moving_mask, moving_affine) -> itk.AffineTransform:
    """Centres of mass aligned, isotropic scale from the brain volumes' ratio (moving / fixed)."""
    fixed_centre = _centre_lps(fixed_mask, fixed_affine)
    moving_centre = _centre_lps(moving_mask, moving_affine)
    fixed_volume = (fixed_mask > 0.5).sum() * abs(np.linalg.det(fixed_affine[:3, :3]))
    moving_volume = (moving_mask > 0.5).sum() * abs(np.linalg.det(moving_affine[:3, :3]))
    transform = itk.AffineTransform[itk.D, 3].New()
    transform.SetCenter(fixed_centre.tolist())
    transform.SetMatrix(itk.matrix_from_array(np.eye(3) * (moving_volume / fixed_volume) ** (1.0 / 3.0)))
    transform.SetTranslation((moving_centre - fixed_centre).tolist())
    return transform


def _method(fixed: itk.Image, moving: itk.Image, settings: RegistrationSettings, optimizer: Any, levels: int):
    """An ``ImageRegistrationMethodv4`` with Mattes MI, seeded random sampling and ``levels`` shrink levels."""
    metric = itk.MattesMutualInformationImageToImageMetricv4[_image_type(), _image_type()].New()
    metric.SetNumberOfHistogramBins(settings.bins)
    method = itk.ImageRegistrationMethodv4[_image_type(), _image_type()].New()
    method.SetFixedImage(fixed)
    method.SetMovingImage(moving)
    method.SetMetric(metric)
    method.SetOptimizer(optimizer)
    method.SetMetricSamplingStrategy(itk.ImageRegistrationMethodv4Enums.MetricSamplingStrategy_RANDOM)
    method.SetMetricSamplingPercentage(float(settings.sampling))
    method.MetricSamplingReinitializeSeed(int(settings.seed) + 1)
    method.SetNumberOfLevels(levels)
    method.SetShrinkFactorsPerLevel([2 ** (levels - 1 - k) for k in range(levels)])
    method.SetSmoothingSigmasPerLevel([float(levels - 1 - k) for k in range(levels)])
    method.InPlaceOn()
    return method, metric


def _affine_scales(fixed: itk.Image) -> list[float]:
    """Optimizer scales of the 12 affine parameters: matrix entries move points by up to the brain's half-extent."""
    extent = np.array(fixed.GetLargestPossibleRegion().GetSize()) * np.array(fixed.GetSpacing())
    radius = float(extent.max()) / 2.0
    return [radius**2] * 9 + [1.0] * 3


def _affine_stage(fixed, moving, initial, settings: RegistrationSettings) -> itk.AffineTransform:
    optimizer = itk.RegularStepGradientDescentOptimizerv4[itk.D].New()
    optimizer.SetLearningRate(_AFFINE_STEP_MM)
    optimizer.SetMinimumStepLength(1e-3)
    optimizer.SetRelaxationFactor(0.6)
    optimizer.SetNumberOfIterations(settings.affine_iterations)
    scales = itk.OptimizerParameters[itk.D](12)
    for k, value in enumerate(_affine_scales(fixed)):
        scales[k] = value
    optimizer.SetScales(scales)
    method, _ = _method(fixed, moving, settings, optimizer, levels=2)
    method.SetInitialTransform(initial)
    method.Update()
    return initial


def _zero_field(fixed: itk.Image) -> itk.Image:
    field = itk.Image[itk.Vector[itk.D, 3], 3].New()
    field.CopyInformation(fixed)
    field.SetRegions(fixed.GetLargestPossibleRegion())
    field.Allocate()
    field.FillBuffer(itk.Vector[itk.D, 3]([0.0, 0.0, 0.0]))
    return field


def _deformable_stage(fixed, moving, affine, settings: RegistrationSettings) -> itk.Image:
    """Greedy displacement field on the fixed grid after the affine (Gaussian-smoothed updates and total field).

    Returns:
        The LPS displacement field (vector image on the fixed grid).
    """
    transform = itk.GaussianSmoothingOnUpdateDisplacementFieldTransform[itk.D, 3].New()
    transform.SetDisplacementField(_zero_field(fixed))
    transform.SetGaussianSmoothingVarianceForTheUpdateField(_UPDATE_VARIANCE)
    transform.SetGaussianSmoothingVarianceForTheTotalField(_TOTAL_VARIANCE)
    metric = itk.MattesMutualInformationImageToImageMetricv4[_image_type(), _image_type()].New()
    metric.SetNumberOfHistogramBins(settings.bins)
    optimizer = itk.GradientDescentOptimizerv4.New()
    optimizer.SetNumberOfIterations(settings.deformable_iterations)
    optimizer.SetLearningRate(1.0)
    optimizer.SetDoEstimateLearningRateOnce(False)
    optimizer.SetDoEstimateLearningRateAtEachIteration(True)
    optimizer.SetMaximumStepSizeInPhysicalUnits(settings.step_mm)
    scales = itk.RegistrationParameterScalesFromPhysicalShift[type(metric)].New()
    scales.SetMetric(metric)
    optimizer.SetScalesEstimator(scales)
    method = itk.ImageRegistrationMethodv4[_image_type(), _image_type(), itk.DisplacementFieldTransform[itk.D, 3]].New()
    method.SetFixedImage(fixed)
    method.SetMovingImage(moving)
    method.SetMetric(metric)
    method.SetOptimizer(optimizer)
    method.SetNumberOfLevels(1)
    method.SetShrinkFactorsPerLevel([1])
    method.SetSmoothingSigmasPerLevel([0.0])
    method.SetMovingInitialTransform(affine)
    method.SetInitialTransform(transform)
    method.InPlaceOn()
    method.Update()
    return transform.GetDisplacementField()


def register_to_template(
    volume: Any, affine: Any, brain_mask: Any, settings: RegistrationSettings | None = None
) -> TemplateTransform:
    """Registers a brain scan to the MNI template: affine, then a displacement field (see the module docstring).

    Args:
        volume: (X, Y, Z) scan (T2*, SWI or any contrast), any voxel size and orientation.
        affine: 4x4 voxel-to-world (RAS, mm) matrix of ``volume``.
        brain_mask: (X, Y, Z) brain mask of the scan (> 0.5 inside).
        settings: registration options; defaults when None.

    Returns:
        The transform from the scan's world (RAS mm) to MNI (RAS mm).

    Raises:
        ValueError: a bad volume, affine or mask (``"name: expected …, got …"``).
    """
    volume = as_volume(volume, "volume")
    affine = as_affine(affine, "affine")
    mask = as_mask(brain_mask, volume.shape, "brain_mask")
    settings = RegistrationSettings() if settings is None else settings
    if not isinstance(settings, RegistrationSettings):
        raise TypeError(f"settings: expected RegistrationSettings, got {type(settings).__name__}")
    image, fixed_mask, grid = _fixed_images(volume, affine, mask, float(settings.spacing_mm))
    template, template_mask, template_affine = template_images()
    fixed, moving = image_to_itk(image, grid), image_to_itk(template, template_affine)
    initial = _initial_affine(fixed_mask, grid, template_mask, template_affine)
    linear = _affine_stage(fixed, moving, initial, settings)
    if not settings.deformable:
        return transform_from_itk(linear, None, None)
    return transform_from_itk(linear, _deformable_stage(fixed, moving, linear, settings), grid)
