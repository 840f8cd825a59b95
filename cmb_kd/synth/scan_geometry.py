"""The grid of a rendered scan: the in-plane matrix, the slices and their profiles over the HR slices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from cmb_kd.synth.kspace import kspace_matrix
from cmb_kd.synth.scanner_draw import ScannerDraw
from cmb_kd.synth.slice_profile import slice_centres, slice_weights

__all__ = ["ScanGeometry", "scan_geometry", "weight_slices", "render_mask"]


@dataclass
class ScanGeometry:
    """Where the voxels of a rendered scan lie on the subject's HR grid.

    Attributes:
        matrix: in-plane matrix ``(M_x, M_y)``.
        spacing: rendered voxel size in mm (in-plane pixel sizes, slice step).
        centres_mm: slice centres in mm along the HR slice axis, (n,).
        weights: slice profile weights over the HR slices, (n, Z).
        affine: 4×4 voxel-to-world matrix of the rendered grid.
    """

    matrix: tuple[int, int]
    spacing: tuple[float, float, float]
    centres_mm: np.ndarray
    weights: np.ndarray
    affine: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        """Rendered grid shape ``(M_x, M_y, n)``."""
        return (*self.matrix, len(self.centres_mm))


def scan_geometry(shape: tuple[int, int, int], hr_affine: np.ndarray, draw: ScannerDraw) -> ScanGeometry:
    """The rendered grid of a draw: it keeps the HR field of view in-plane and holds the slices that fit.

    Args:
        shape: HR grid shape (X, Y, Z), slice axis last.
        hr_affine: 4×4 HR voxel-to-world matrix.
        draw: the scanner (pixel size, slice thickness, gap, offset and profile).

    Returns:
        The geometry; in-plane sample 0 lies at HR voxel 0 and the pixel size is ``N·spacing/M``.

    Raises:
        ValueError: if the slices are thicker than the field of view along the slice axis.
    """
    hr_spacing = np.linalg.norm(hr_affine[:3, :3], axis=0)
    matrix = tuple(kspace_matrix(shape[k], float(hr_spacing[k]), draw.inplane_spacing) for k in range(2))
    if draw.slice_thickness > shape[2] * hr_spacing[2]:
        raise ValueError(
            f"draw.slice_thickness: {draw.slice_thickness} mm is thicker than the subject's field of view along "
            f"the slice axis ({shape[2]} x {hr_spacing[2]:g} mm)"
        )
    centres = slice_centres(shape[2], float(hr_spacing[2]), draw.slice_thickness, draw.slice_gap, draw.slice_offset)
    weights = slice_weights(
        draw.slice_profile,
        centres,
        shape[2],
        float(hr_spacing[2]),
        draw.slice_thickness,
        time_bandwidth=draw.rf_time_bandwidth,
    )
    step = draw.slice_thickness + draw.slice_gap
    to_hr = np.eye(4)
    to_hr[0, 0], to_hr[1, 1] = shape[0] / matrix[0], shape[1] / matrix[1]
    to_hr[2, 2], to_hr[2, 3] = step / hr_spacing[2], centres[0] / hr_spacing[2]
    spacing = (
        float(hr_spacing[0] * shape[0] / matrix[0]),
        float(hr_spacing[1] * shape[1] / matrix[1]),
        float(step),
    )
    return ScanGeometry(matrix, spacing, centres, weights, hr_affine @ to_hr)


def weight_slices(volume: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Acquired slices: each the weights' combination of the HR slices.

    Args:
        volume: HR volume (X, Y, Z), real or complex.
        weights: slice profile weights (n, Z).

    Returns:
        The slices (X, Y, n).
    """
    x, y, z = volume.shape
    return (volume.reshape(x * y, z) @ weights.T).reshape(x, y, weights.shape[0])


def _area_weights(n_hr: int, n_out: int) -> sparse.csr_matrix:
    """Fraction of each output voxel (centred at i·n_hr/n_out HR voxels, as wide) covered by each HR voxel."""
    r = n_hr / n_out
    centres = np.arange(n_out)[:, None] * r
    edges = np.arange(n_hr)[None, :]
    overlap = np.clip(np.minimum(centres + r / 2, edges + 0.5) - np.maximum(centres - r / 2, edges - 0.5), 0, None)
    return sparse.csr_matrix((overlap / r).astype(np.float32))


def render_mask(mask: np.ndarray, geometry: ScanGeometry) -> np.ndarray:
    """Boolean mask on the rendered grid: the HR mask's voxel fraction (slice profile x pixel area) >= 0.5.

    Args:
        mask: boolean HR mask (X, Y, Z).
        geometry: the rendered grid.

    Returns:
        Boolean mask of ``geometry.shape``.
    """
    fraction = weight_slices(mask.astype(np.float32), geometry.weights)
    x, y, n = fraction.shape
    (mx, my) = geometry.matrix
    fraction = (_area_weights(x, mx) @ fraction.reshape(x, y * n)).reshape(mx, y, n)
    fraction = _area_weights(y, my) @ fraction.transpose(1, 0, 2).reshape(y, mx * n)
    return fraction.reshape(my, mx, n).transpose(1, 0, 2) >= 0.5
