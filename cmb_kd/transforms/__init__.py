"""MONAI transforms of cmb_kd: skull stripping, LR generation, working grid, standardisation, candidate patches,
random acquisitions and appearances, empty masks for datalists without them."""

from cmb_kd.transforms.augmentation import patch_augmentation
from cmb_kd.transforms.brain_standardisation import (
    STANDARDISATION_METHODS,
    BrainStandardisation,
    BrainStandardisationd,
)
from cmb_kd.transforms.candidate_crop import (
    KINDS,
    CandidateCentresd,
    RandCandidateCrop,
    RandCandidateCropd,
    candidate_pools,
    component_centres,
)
from cmb_kd.transforms.cubic import CUBIC_A, aligned_positions, cubic_kernel_weights, cubic_resample_axis, slab_average
from cmb_kd.transforms.degrade import DegradeResolution, DegradeResolutiond, degrade_resolution
from cmb_kd.transforms.empty_mask import EmptyMaskd
from cmb_kd.transforms.input_grid import ResampleToInputGrid, ResampleToInputGridd
from cmb_kd.transforms.rand_appearance import RandAppearanced
from cmb_kd.transforms.rand_degrade import RandDegradeResolution, RandDegradeResolutiond
from cmb_kd.transforms.rand_scanner_degrade import RandScannerDegrade
from cmb_kd.transforms.skull_strip import SkullStrip, SkullStripd
from cmb_kd.transforms.working_grid import (
    INPUT_GRID_AFFINE_KEY,
    INPUT_GRID_SHAPE_KEY,
    ResampleToWorkingGrid,
    ResampleToWorkingGridd,
    pop_own_step,
)

__all__ = [
    "pop_own_step",
    "CUBIC_A",
    "cubic_kernel_weights",
    "cubic_resample_axis",
    "aligned_positions",
    "slab_average",
    "DegradeResolution",
    "DegradeResolutiond",
    "degrade_resolution",
    "RandDegradeResolution",
    "RandDegradeResolutiond",
    "RandScannerDegrade",
    "RandAppearanced",
    "ResampleToWorkingGrid",
    "ResampleToWorkingGridd",
    "INPUT_GRID_AFFINE_KEY",
    "INPUT_GRID_SHAPE_KEY",
    "ResampleToInputGrid",
    "ResampleToInputGridd",
    "SkullStrip",
    "SkullStripd",
    "EmptyMaskd",
    "STANDARDISATION_METHODS",
    "BrainStandardisation",
    "BrainStandardisationd",
    "CandidateCentresd",
    "RandCandidateCrop",
    "RandCandidateCropd",
    "KINDS",
    "candidate_pools",
    "component_centres",
    "patch_augmentation",
]
