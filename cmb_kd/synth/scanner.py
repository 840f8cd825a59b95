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

from cmb_kd.checks import as_affine
from cmb_kd.synth.acquisition import bias_field
from cmb_kd.synth.kspace import apply_kspace_filter, kspace_filter, kspace_resample
from cmb_kd.synth.labels import visible_extent
from cmb_kd.synth.presentation import orientation, reorient, store, strip_mask_hr, warp
from cmb_kd.synth.scan_geometry import ScanGeometry, render_mask, scan_geometry, weight_slices
from cmb_kd.synth.scanner_draw import ScannerDraw

if TYPE_CHECKING:
    from cmb_kd.synth.subject import SyntheticSubject

__all__ = ["RenderedScan", "render_scan"]

#: Half edge (mm) of the box searched for a CMB's visible extent around its centre.
_LABEL_HALF_WIDTH_MM = 12.0
#: Rendered brain voxels within this relative distance of the subject's white-matter level count as white matter.
_WM_TOLERANCE = 0.1
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


def _add_noise_in_place(signal: np.ndarray, sigma: float, rng: np.random.Generator) -> None:
    """Complex Gaussian noise of standard deviation ``sigma`` per part, one part at a time (as add_complex_noise)."""
    for part in (signal.real, signal.imag):
        part += np.float32(sigma) * rng.standard_normal(signal.shape, dtype=np.float32)


def _label_boxes(lesions: list, geometry: ScanGeometry) -> list[tuple[np.ndarray, tuple[slice, slice, slice] | None]]:
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
    """The subject's signals with and without lesions (complex64), brain mask (bool) and affine (float64).

    Raises:
        ValueError: if the signals are not 3D, the arrays' shapes disagree or the affine is not 4×4.
    """
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


def _check_arguments(draw: ScannerDraw, rng: np.random.Generator, label_threshold: float) -> None:
    """Raises the TypeError or ValueError of :func:`render_scan` for a bad draw, generator or threshold."""
    if not isinstance(draw, ScannerDraw):
        raise TypeError(f"draw: expected a ScannerDraw (from draw_scanner), got {type(draw).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
    if isinstance(label_threshold, bool) or not 0 < label_threshold < 1:
        raise ValueError(f"label_threshold: expected a fraction in (0, 1), got {label_threshold!r}")


def _reconstruction_filter(geometry: ScanGeometry, draw: ScannerDraw) -> np.ndarray | None:
    """The k-space filter of the drawn window and partial Fourier; ``None`` when neither is drawn."""
    if draw.kspace_window == "none" and draw.partial_fourier >= 1.0:
        return None
    return kspace_filter(
        geometry.matrix,
        draw.kspace_window,
        partial_fourier=draw.partial_fourier,
        phase_axis=draw.phase_axis,
        partial_fourier_side=draw.partial_fourier_side,
    )


def _render_labels(
    lesions: list,
    slices: np.ndarray,
    background: np.ndarray,
    geometry: ScanGeometry,
    k_filter: np.ndarray | None,
    threshold: float,
) -> tuple[np.ndarray, list[dict]]:
    """CMB labels: visible extents from the filtered noise-free signals with and without lesions.

    Only the rendered slices that some CMB's search box needs are reconstructed.

    Args:
        lesions: the subject's CMBs (their ``centre_mm``).
        slices: noise-free acquired slices with lesions (X, Y, n), before in-plane sampling.
        background: noise-free HR signal without lesions (X, Y, Z).
        geometry: the rendered grid.
        k_filter: reconstruction filter, or ``None``.
        threshold: visibility threshold on the ratio.

    Returns:
        ``(cmb_label, visibility)``: uint8 label of the rendered shape and one record per CMB.
    """
    cmb_label = np.zeros(geometry.shape, np.uint8)
    boxes = _label_boxes(lesions, geometry)
    needed = sorted({k for _, box in boxes if box is not None for k in range(box[2].start, box[2].stop)})
    if needed:
        position = np.full(geometry.shape[2], -1)
        position[needed] = np.arange(len(needed))
        with_lesions = np.abs(kspace_resample(slices[:, :, needed], geometry.matrix, k_filter=k_filter))
        without = np.abs(
            kspace_resample(weight_slices(background, geometry.weights[needed]), geometry.matrix, k_filter=k_filter)
        )
    visibility = []
    for (centre, box), lesion in zip(boxes, lesions, strict=True):
        visible = False
        if box is not None:
            local_z = slice(int(position[box[2].start]), int(position[box[2].start]) + box[2].stop - box[2].start)
            local = (box[0], box[1], local_z)
            ratio = with_lesions[local] / np.maximum(without[local], np.float32(_RATIO_EPS))
            lo = np.array([box[0].start, box[1].start, box[2].start])
            full = tuple(slice(0, n) for n in ratio.shape)
            mask, visible = visible_extent(ratio, centre - lo, full, threshold)
            if visible:
                cmb_label[box][mask] = 1
        visibility.append(
            {
                "centre_mm": np.round(np.asarray(lesion.centre_mm, dtype=float), 3).tolist(),
                "centre_voxel": np.round(centre, 3).tolist(),
                "visible": bool(visible),
            }
        )
    return cmb_label, visibility


def _acquire(
    signal: np.ndarray,
    brain: np.ndarray,
    wm_level: float,
    k_filter: np.ndarray | None,
    draw: ScannerDraw,
    rng: np.random.Generator,
) -> tuple[np.ndarray, float, float]:
    """Receive bias, noise white in k-space, reconstruction filter, magnitude.

    The noise is set so that the rendered white matter (brain voxels near the subject's white-matter level)
    has the drawn SNR; the filter's RMS gain is divided out of the noise, so the SNR holds after it.

    Args:
        signal: noise-free complex signal on the rendered grid (X, Y, n), consumed.
        brain: boolean brain mask on the rendered grid.
        wm_level: white-matter magnitude of the subject's noise-free signal.
        k_filter: reconstruction filter, or ``None``.
        draw: the scanner (``bias_amplitude``, ``snr``).
        rng: draws the bias field, then the noise.

    Returns:
        ``(magnitude, wm_signal, sigma)``: float32 magnitude, white-matter signal and noise sigma.

    Raises:
        ValueError: if no rendered brain voxel lies near the white-matter level.
    """
    bias = bias_field(signal.shape, rng, draw.bias_amplitude)
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
    return np.abs(signal).astype(np.float32, copy=False), wm_signal, sigma


def _record(
    draw: ScannerDraw,
    hr_shape: tuple[int, int, int],
    hr_spacing: np.ndarray,
    geometry: ScanGeometry,
    affine: np.ndarray,
    values: dict,
    visibility: list[dict],
) -> dict:
    """JSON-serialisable description of the scan: the draw, the geometry, the levels and each CMB's visibility."""
    shape = geometry.shape
    stored_shape = tuple(shape[a] for a in draw.axis_permutation)
    stored_spacing = np.linalg.norm(affine[:3, :3], axis=0)
    return {
        **draw.record(),
        "hr_shape": [int(n) for n in hr_shape],
        "hr_spacing_mm": [round(float(s), 5) for s in hr_spacing],
        "rendered_shape": [int(n) for n in shape],
        "rendered_spacing_mm": [round(s, 5) for s in geometry.spacing],
        "stored_shape": [int(n) for n in stored_shape],
        "stored_spacing_mm": [round(float(s), 5) for s in stored_spacing],
        "slice_axis": int(draw.axis_permutation.index(2)),
        "n_slices": int(shape[2]),
        "slice_coverage_mm": round(float(shape[2] * draw.slice_thickness), 5),
        "slice_fov_mm": round(float(hr_shape[2] * hr_spacing[2]), 5),
        "wm_signal": round(values["wm_signal"], 5),
        "noise_sigma": round(values["sigma"], 6),
        "warp_reference": None if values["reference"] is None else round(values["reference"], 5),
        "stored_scale": float(f"{values['stored_scale']:.6g}"),
        "label_threshold": float(values["label_threshold"]),
        "cmbs": visibility,
        "n_cmb_visible": int(sum(v["visible"] for v in visibility)),
    }


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
    _check_arguments(draw, rng, label_threshold)
    clean, background, brain_hr, hr_affine = _check_subject(subject)
    wm_level = _wm_level(subject.acquisition)
    geometry = scan_geometry(clean.shape, hr_affine, draw)
    hr_spacing = np.linalg.norm(hr_affine[:3, :3], axis=0)
    shape = geometry.shape
    k_filter = _reconstruction_filter(geometry, draw)

    # noise-free acquired slices, in-plane sampled (the reconstruction filter comes after the noise)
    slices = weight_slices(clean, geometry.weights)
    signal = kspace_resample(slices, geometry.matrix)
    brain = render_mask(brain_hr, geometry)
    cmb_label, visibility = _render_labels(subject.lesions, slices, background, geometry, k_filter, label_threshold)
    del slices
    magnitude, wm_signal, sigma = _acquire(signal, brain, wm_level, k_filter, draw, rng)
    del signal

    # presentation and storage
    stripped = draw.presentation != "whole_head"
    keep = render_mask(strip_mask_hr(brain_hr, draw.strip_margin, hr_spacing), geometry) if stripped else None
    magnitude, reference = warp(magnitude, brain, draw)
    keep = np.ones(shape, dtype=bool) if keep is None else keep
    image, stored_scale = store(magnitude, keep, draw)
    del magnitude
    affine = geometry.affine @ orientation(shape, draw)
    values = {
        "wm_signal": wm_signal,
        "sigma": sigma,
        "reference": reference,
        "stored_scale": stored_scale,
        "label_threshold": label_threshold,
    }
    return RenderedScan(
        image=reorient(image, draw),
        affine=affine,
        cmb_label=reorient(cmb_label, draw),
        brain_mask=reorient(brain.astype(np.uint8), draw),
        presentation_mask=reorient(keep.astype(np.uint8), draw),
        record=_record(draw, clean.shape, hr_spacing, geometry, affine, values, visibility),
    )
