"""Rendering a simulated subject as an arbitrary scanner would acquire, reconstruct, present and store it.

The parameters of one scan are drawn from a :class:`~cmb_kd.synth.scanner_config.ScannerConfig` by
:func:`~cmb_kd.synth.scanner_draw.draw_scanner` (a :class:`ScannerDraw`, JSON-recordable), then
:func:`render_scan` applies them to a :class:`~cmb_kd.synth.subject.SyntheticSubject` (drawing and
applying are separate, as in TorchIO, so one draw can be replayed). The rendering works on the subject's
noise-free complex HR signal, in the order a scanner produces an image:

1. slice selection: each acquired slice is the complex signal weighted by its slice profile
   (box, Gaussian or windowed-sinc RF, FWHM = thickness) over the HR slices, slices of the drawn
   thickness separated by the drawn gap;
2. in-plane sampling: each slice's centred 2D k-space is cropped (or zero-filled) to the matrix of
   the drawn pixel size (Gibbs ringing included);
3. receive bias (smooth, multiplicative), complex Gaussian noise white in k-space, then the
   reconstruction filter (window, zero-filled partial Fourier) and the magnitude (Rician);
4. presentation: a monotonic intensity warp, skull stripping with a mask that may be too tight or
   too loose, a zero or NaN background;
5. storage: a global intensity scale, the data type, and the stored axis order and directions, with
   the affine updated so every voxel keeps its world position.

Labels follow the rendered image: a CMB's label is its visible extent on the rendered grid,
computed as for the cohort's thick slices from the ratio of the rendered noise-free signal with
lesions to the one without (:func:`~cmb_kd.synth.labels.visible_extent`); a CMB that darkens no
rendered voxel to the threshold has no label.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage, sparse

from cmb_kd.checks import as_affine
from cmb_kd.synth.acquisition import bias_field
from cmb_kd.synth.kspace import apply_kspace_filter, kspace_filter, kspace_matrix, kspace_resample
from cmb_kd.synth.labels import visible_extent
from cmb_kd.synth.scanner_draw import ScannerDraw
from cmb_kd.synth.slice_profile import slice_centres, slice_weights

if TYPE_CHECKING:
    from cmb_kd.synth.subject import SyntheticSubject

__all__ = ["RenderedScan", "render_scan"]

#: Half edge (mm) of the box searched for a CMB's visible extent around its centre.
_LABEL_HALF_WIDTH_MM = 12.0
#: Rendered brain voxels within this relative distance of the subject's white-matter level count as white matter.
_WM_TOLERANCE = 0.1
#: Percentile of the brain magnitude that the intensity warp maps to itself.
_WARP_PERCENTILE = 99.0
#: Smallest lesion-free magnitude in the label ratio (as the cohort's labels use).
_RATIO_EPS = 1e-6


@dataclass
class RenderedScan:
    """One scan of a subject as a drawn scanner stores it; all arrays share ``affine``.

    Attributes:
        image: the stored image, in the drawn data type and axis order, NaN outside
            ``presentation_mask`` for the ``skull_stripped_nan`` presentation.
        affine: 4×4 voxel-to-world (RAS mm) matrix of the stored grid, world-consistent with the
            subject's HR affine.
        cmb_label: uint8, one connected component per visible CMB (visible extent on this grid).
        brain_mask: uint8 true brain on this grid (the subject's brain, voxel fraction >= 0.5).
        presentation_mask: uint8 voxels kept by the presentation (the stripping mask; all ones for
            a whole-head scan).
        record: JSON-serialisable description: the draw, the rendered geometry, noise level, stored
            scale and the visibility of every CMB.
    """

    image: np.ndarray
    affine: np.ndarray
    cmb_label: np.ndarray
    brain_mask: np.ndarray
    presentation_mask: np.ndarray
    record: dict


@dataclass
class _Geometry:
    matrix: tuple[int, int]
    spacing: tuple[float, float, float]
    centres_mm: np.ndarray
    weights: np.ndarray
    affine: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        return (*self.matrix, len(self.centres_mm))


def _geometry(shape: tuple[int, int, int], hr_affine: np.ndarray, draw: ScannerDraw) -> _Geometry:
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
    return _Geometry(matrix, spacing, centres, weights, hr_affine @ to_hr)


def _weight_slices(volume: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(X, Y, Z) volume -> (X, Y, n) acquired slices: each the weights' combination of the HR slices."""
    x, y, z = volume.shape
    return (volume.reshape(x * y, z) @ weights.T).reshape(x, y, weights.shape[0])


def _area_weights(n_hr: int, n_out: int) -> sparse.csr_matrix:
    """Fraction of each output voxel (centred at i·n_hr/n_out HR voxels, as wide) covered by each HR voxel."""
    r = n_hr / n_out
    centres = np.arange(n_out)[:, None] * r
    edges = np.arange(n_hr)[None, :]
    overlap = np.clip(np.minimum(centres + r / 2, edges + 0.5) - np.maximum(centres - r / 2, edges - 0.5), 0, None)
    return sparse.csr_matrix((overlap / r).astype(np.float32))


def _render_mask(mask: np.ndarray, geometry: _Geometry) -> np.ndarray:
    """Boolean mask on the rendered grid: the HR mask's voxel fraction (slice profile x pixel area) >= 0.5."""
    fraction = _weight_slices(mask.astype(np.float32), geometry.weights)
    x, y, n = fraction.shape
    (mx, my) = geometry.matrix
    fraction = (_area_weights(x, mx) @ fraction.reshape(x, y * n)).reshape(mx, y, n)
    fraction = _area_weights(y, my) @ fraction.transpose(1, 0, 2).reshape(y, mx * n)
    return fraction.reshape(my, mx, n).transpose(1, 0, 2) >= 0.5


def _strip_mask_hr(brain: np.ndarray, margin_mm: float, hr_spacing: np.ndarray) -> np.ndarray:
    """The brain eroded (margin < 0) or dilated (margin > 0) by ``|margin_mm|`` mm, on the HR grid."""
    if margin_mm == 0 or not brain.any():
        return brain
    border = np.ceil(abs(margin_mm) / hr_spacing).astype(int) + 2
    idx = np.argwhere(brain)
    lo = np.maximum(idx.min(axis=0) - border, 0)
    hi = np.minimum(idx.max(axis=0) + border + 1, brain.shape)
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    local = brain[box]
    if margin_mm > 0:
        local = ndimage.distance_transform_edt(~local, sampling=hr_spacing) <= margin_mm
    else:
        local = ndimage.distance_transform_edt(local, sampling=hr_spacing) > -margin_mm
    out = np.zeros_like(brain)
    out[box] = local
    return out


def _wm_level(acquisition: dict) -> float:
    """White-matter mean of the subject's noise-free HR magnitude: SNR times noise sigma of its record."""
    try:
        level = float(acquisition["snr_wm"]) * float(acquisition["noise_sigma"])
    except (KeyError, TypeError) as err:
        found = sorted(acquisition) if isinstance(acquisition, dict) else acquisition
        raise ValueError(
            "subject.acquisition: expected the keys 'snr_wm' and 'noise_sigma' (white-matter SNR and noise sigma of "
            f"the HR magnitude, as simulate_subject records them), got {found!r}"
        ) from err
    if not level > 0:
        raise ValueError(
            f"subject.acquisition: expected a positive white-matter level snr_wm x noise_sigma, got {level}"
        )
    return level


def _warp(magnitude: np.ndarray, brain: np.ndarray, draw: ScannerDraw) -> tuple[np.ndarray, float | None]:
    """Monotonic intensity warp fixing 0 and the brain's 99th percentile (returned as the reference)."""
    if draw.intensity_warp == "none":
        return magnitude, None
    if not brain.any():
        raise ValueError("subject.brain_mask: the brain is empty on the rendered grid; the intensity warp needs it")
    reference = max(float(np.percentile(magnitude[brain], _WARP_PERCENTILE)), 1e-12)
    x = magnitude / np.float32(reference)
    if draw.intensity_warp == "gamma":
        y = np.power(x, np.float32(draw.gamma))
    else:
        slopes = np.asarray(draw.warp_slopes, dtype=np.float64)
        knots_x = np.linspace(0.0, 1.0, len(slopes) + 1)
        knots_y = np.concatenate([[0.0], np.cumsum(slopes)]) / slopes.sum()
        last = slopes[-1] / slopes.sum() * len(slopes)
        y = np.where(x <= 1.0, np.interp(x, knots_x, knots_y), 1.0 + (x - 1.0) * last)
    return (y * reference).astype(np.float32), reference


def _store(image: np.ndarray, keep: np.ndarray, draw: ScannerDraw) -> tuple[np.ndarray, float]:
    """Background, global scale and data type; integer types take the largest scale <= the drawn one that fits."""
    dtype = np.dtype(draw.dtype)
    if draw.presentation == "skull_stripped_zero":
        image = np.where(keep, image, np.float32(0.0))
    if dtype.kind == "f":
        stored = (image * np.float32(draw.intensity_scale)).astype(dtype)
        if draw.presentation == "skull_stripped_nan":
            stored[~keep] = np.nan
        return stored, float(draw.intensity_scale)
    top = float(np.iinfo(dtype).max)
    peak = float(image.max()) if image.size else 0.0
    scale = min(float(draw.intensity_scale), top / peak) if peak > 0 else float(draw.intensity_scale)
    stored = np.clip(np.rint(image * np.float32(scale)), 0, top).astype(dtype)
    return stored, scale


def _orientation(shape: tuple[int, int, int], draw: ScannerDraw) -> np.ndarray:
    """4x4 matrix from stored voxel indices to rendered voxel indices."""
    matrix = np.zeros((4, 4))
    matrix[3, 3] = 1.0
    for stored_axis, rendered_axis in enumerate(draw.axis_permutation):
        if draw.flips[stored_axis]:
            matrix[rendered_axis, stored_axis] = -1.0
            matrix[rendered_axis, 3] = shape[rendered_axis] - 1
        else:
            matrix[rendered_axis, stored_axis] = 1.0
    return matrix


def _reorient(array: np.ndarray, draw: ScannerDraw) -> np.ndarray:
    out = np.transpose(array, draw.axis_permutation)
    flipped = tuple(axis for axis, f in enumerate(draw.flips) if f)
    return np.ascontiguousarray(np.flip(out, axis=flipped) if flipped else out)


def _add_noise_in_place(signal: np.ndarray, sigma: float, rng: np.random.Generator) -> None:
    """Complex Gaussian noise of standard deviation ``sigma`` per part, one part at a time (as add_complex_noise)."""
    for part in (signal.real, signal.imag):
        part += np.float32(sigma) * rng.standard_normal(signal.shape, dtype=np.float32)


def _label_boxes(lesions, geometry: _Geometry) -> list[tuple[np.ndarray, tuple[slice, slice, slice] | None]]:
    """Each CMB's centre in rendered voxel coordinates and the box searched for its visible extent."""
    inverse = np.linalg.inv(geometry.affine)
    shape = np.array(geometry.shape)
    half = np.ceil(np.maximum(_LABEL_HALF_WIDTH_MM / np.array(geometry.spacing), 1.5))
    out = []
    for lesion in lesions:
        centre_mm = np.asarray(lesion.centre_mm, dtype=np.float64)
        centre = inverse[:3, :3] @ centre_mm + inverse[:3, 3]
        lo = np.maximum(np.floor(centre - half), 0).astype(int)
        hi = np.minimum(np.ceil(centre + half) + 1, shape).astype(int)
        box = None if np.any(hi <= lo) else tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
        out.append((centre, box))
    return out


def _check_subject(subject: SyntheticSubject) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    clean = np.asarray(subject.clean)
    background = np.asarray(subject.clean_without_lesions)
    brain = np.asarray(subject.brain_mask) > 0
    affine = np.asarray(subject.affine, dtype=np.float64)
    if clean.ndim != 3:
        raise ValueError(f"subject.clean: expected a 3D HR signal (X, Y, Z), got shape {clean.shape}")
    for name, array in (("clean_without_lesions", background), ("brain_mask", brain)):
        if array.shape != clean.shape:
            raise ValueError(f"subject.{name}: expected the shape of subject.clean {clean.shape}, got {array.shape}")
    as_affine(affine, "subject.affine")
    return clean.astype(np.complex64, copy=False), background.astype(np.complex64, copy=False), brain, affine


def render_scan(
    subject: SyntheticSubject, draw: ScannerDraw, rng: np.random.Generator, *, label_threshold: float = 0.5
) -> RenderedScan:
    """Renders a subject as the drawn scanner acquires, reconstructs, presents and stores it.

    Reads the subject's ``affine``, ``clean`` and ``clean_without_lesions`` (noise-free complex HR
    signals, slice axis last), ``brain_mask``, ``lesions`` (their ``centre_mm``) and the white-matter
    level ``acquisition["snr_wm"] * acquisition["noise_sigma"]``. ``rng`` draws the bias field and
    the noise; the same subject, draw and generator state give a bit-identical scan.

    Args:
        subject: a :class:`~cmb_kd.synth.subject.SyntheticSubject`.
        draw: the scanner, from :func:`draw_scanner`.
        rng: random generator for the bias field and the noise.
        label_threshold: a rendered voxel belongs to a CMB's visible extent when the lesion leaves at
            most this fraction of the lesion-free magnitude (the cohort's ``label_threshold``).

    Returns:
        The rendered scan. Its grid keeps the HR field of view in-plane (pixel size
        ``N·spacing/M``, sample 0 at HR voxel 0) and holds the slices that fit along the slice axis.

    Raises:
        TypeError: if ``draw`` is not a :class:`ScannerDraw` or ``rng`` not a ``numpy.random.Generator``.
        ValueError: if the subject's arrays disagree, its record lacks the white-matter level, the
            slices are thicker than its field of view, or ``label_threshold`` is not in (0, 1).
    """
    if not isinstance(draw, ScannerDraw):
        raise TypeError(f"draw: expected a ScannerDraw (from draw_scanner), got {type(draw).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
    if isinstance(label_threshold, bool) or not 0 < label_threshold < 1:
        raise ValueError(f"label_threshold: expected a fraction in (0, 1), got {label_threshold!r}")
    clean, background, brain_hr, hr_affine = _check_subject(subject)
    wm_level = _wm_level(subject.acquisition)
    geometry = _geometry(clean.shape, hr_affine, draw)
    hr_spacing = np.linalg.norm(hr_affine[:3, :3], axis=0)
    shape = geometry.shape
    k_filter = None
    if draw.kspace_window != "none" or draw.partial_fourier < 1.0:
        k_filter = kspace_filter(
            geometry.matrix,
            draw.kspace_window,
            partial_fourier=draw.partial_fourier,
            phase_axis=draw.phase_axis,
            partial_fourier_side=draw.partial_fourier_side,
        )

    # noise-free acquired slices, in-plane sampled (the reconstruction filter comes after the noise)
    slices = _weight_slices(clean, geometry.weights)
    signal = kspace_resample(slices, geometry.matrix)
    brain = _render_mask(brain_hr, geometry)

    # labels: visible extents from the filtered noise-free signals with and without lesions, in the slices they need
    cmb_label = np.zeros(shape, np.uint8)
    boxes = _label_boxes(subject.lesions, geometry)
    needed = sorted({k for _, box in boxes if box is not None for k in range(box[2].start, box[2].stop)})
    visibility = []
    if needed:
        position = np.full(shape[2], -1)
        position[needed] = np.arange(len(needed))
        with_lesions = np.abs(kspace_resample(slices[:, :, needed], geometry.matrix, k_filter=k_filter))
        without = np.abs(
            kspace_resample(_weight_slices(background, geometry.weights[needed]), geometry.matrix, k_filter=k_filter)
        )
    del slices
    for (centre, box), lesion in zip(boxes, subject.lesions, strict=True):
        visible = False
        if box is not None:
            local_z = slice(int(position[box[2].start]), int(position[box[2].start]) + box[2].stop - box[2].start)
            local = (box[0], box[1], local_z)
            ratio = with_lesions[local] / np.maximum(without[local], np.float32(_RATIO_EPS))
            lo = np.array([box[0].start, box[1].start, box[2].start])
            full = tuple(slice(0, n) for n in ratio.shape)
            mask, visible = visible_extent(ratio, centre - lo, full, label_threshold)
            if visible:
                cmb_label[box][mask] = 1
        visibility.append(
            {
                "centre_mm": np.round(np.asarray(lesion.centre_mm, dtype=float), 3).tolist(),
                "centre_voxel": np.round(centre, 3).tolist(),
                "visible": bool(visible),
            }
        )
    if needed:
        del with_lesions, without

    # receive bias, noise white in k-space, reconstruction filter, magnitude
    bias = bias_field(shape, rng, draw.bias_amplitude)
    magnitude = np.abs(signal)
    white_matter = brain & (np.abs(magnitude / np.float32(wm_level) - 1.0) < _WM_TOLERANCE)
    if not white_matter.any():
        raise ValueError(
            f"subject: no rendered brain voxel lies within {_WM_TOLERANCE:.0%} of the white-matter level {wm_level:g} "
            "of its record (snr_wm x noise_sigma); the SNR cannot be set"
        )
    wm_signal = float((magnitude[white_matter] * bias[white_matter]).mean())
    del magnitude
    sigma = wm_signal / draw.snr
    gain = 1.0 if k_filter is None else float(np.sqrt(np.mean(k_filter.astype(np.float64) ** 2)))
    signal *= bias
    del bias
    _add_noise_in_place(signal, sigma / gain, rng)
    if k_filter is not None:
        signal = apply_kspace_filter(signal, k_filter)
    magnitude = np.abs(signal).astype(np.float32, copy=False)
    del signal

    # presentation and storage
    stripped = draw.presentation != "whole_head"
    keep = _render_mask(_strip_mask_hr(brain_hr, draw.strip_margin, hr_spacing), geometry) if stripped else None
    magnitude, reference = _warp(magnitude, brain, draw)
    keep = np.ones(shape, dtype=bool) if keep is None else keep
    image, stored_scale = _store(magnitude, keep, draw)
    del magnitude
    to_rendered = _orientation(shape, draw)
    affine = geometry.affine @ to_rendered
    stored_shape = tuple(shape[a] for a in draw.axis_permutation)
    stored_spacing = np.linalg.norm(affine[:3, :3], axis=0)
    fov_mm = float(clean.shape[2] * hr_spacing[2])
    record = {
        **draw.record(),
        "hr_shape": [int(n) for n in clean.shape],
        "hr_spacing_mm": [round(float(s), 5) for s in hr_spacing],
        "rendered_shape": [int(n) for n in shape],
        "rendered_spacing_mm": [round(s, 5) for s in geometry.spacing],
        "stored_shape": [int(n) for n in stored_shape],
        "stored_spacing_mm": [round(float(s), 5) for s in stored_spacing],
        "slice_axis": int(draw.axis_permutation.index(2)),
        "n_slices": int(shape[2]),
        "slice_coverage_mm": round(float(shape[2] * draw.slice_thickness), 5),
        "slice_fov_mm": round(fov_mm, 5),
        "wm_signal": round(wm_signal, 5),
        "noise_sigma": round(sigma, 6),
        "warp_reference": None if reference is None else round(reference, 5),
        "stored_scale": float(f"{stored_scale:.6g}"),
        "label_threshold": float(label_threshold),
        "cmbs": visibility,
        "n_cmb_visible": int(sum(v["visible"] for v in visibility)),
    }
    return RenderedScan(
        image=_reorient(image, draw),
        affine=affine,
        cmb_label=_reorient(cmb_label, draw),
        brain_mask=_reorient(brain.astype(np.uint8), draw),
        presentation_mask=_reorient(keep.astype(np.uint8), draw),
        record=record,
    )
