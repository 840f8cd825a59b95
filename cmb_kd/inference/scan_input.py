"""The forms in which the detector takes a scan and its companions (a brain mask, a phase image): a NIfTI path, a
nibabel image, or an array or (Meta)tensor with its affine, each turned into a checked float32 volume."""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import torch
from monai.data import MetaTensor
from monai.utils import convert_to_numpy

from cmb_kd.checks import as_affine, as_binary_mask
from cmb_kd.inference.input_discovery import phase_beside
from cmb_kd.inference.scan_plausibility import check_scan_plausibility
from cmb_kd.io import InputError, load_scan

__all__ = [
    "PHASE_BESIDE",
    "ScanInput",
    "load_companion",
    "load_image",
    "load_scan_input",
    "phase_beside_scan",
    "plausibility_warnings",
    "scan_data",
    "source_name",
    "without_nan",
]

PHASE_BESIDE = "beside"
"""The ``phase`` argument that finds a scan's phase image beside it."""


def _to_array(value: Any) -> np.ndarray:
    return np.asarray(convert_to_numpy(value))


def _spatial(array: np.ndarray, name: str) -> np.ndarray:
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 3:
        raise ValueError(f"{name}: expected a 3D volume (X, Y, Z) or (1, X, Y, Z), got shape {array.shape}")
    return array


def load_image(image: Any, affine: Any | None) -> tuple[np.ndarray, np.ndarray]:
    """The scan's voxels and affine, from a NIfTI path (:func:`load_scan`), a nibabel image or an array.

    Args:
        image: a NIfTI path, a nibabel image, or the scan ``(X, Y, Z)`` / ``(1, X, Y, Z)`` as an array or
            (Meta)tensor.
        affine: 4x4 voxel-to-world affine (RAS, mm) of an array; a MetaTensor carries its own; None with a path or
            a nibabel image.

    Returns:
        ``(data, affine)``: float32 ``(X, Y, Z)`` (NaN kept, as the background of a skull-stripped scan) and the
        float64 4x4 affine.

    Raises:
        InputError: for a path that cannot be loaded.
        ValueError: for an affine given with a path or an image, an array without one, a bad shape, or values that
            are not real, are infinite, all NaN or constant.
    """
    if isinstance(image, (str, os.PathLike)):
        if affine is not None:
            raise ValueError("affine: expected None with a file path (the file's own affine is used)")
        data, file_affine, _ = load_scan(image)
        return data, file_affine
    if isinstance(image, nib.spatialimages.SpatialImage):
        if affine is not None:
            raise ValueError("affine: expected None with a nibabel image (the image's own affine is used)")
        image, affine = np.asanyarray(image.dataobj), image.affine
    if isinstance(image, MetaTensor) and affine is None:
        affine = image.affine
    if not isinstance(image, (np.ndarray, torch.Tensor)):
        raise ValueError(
            f"image: expected a NIfTI path, a nibabel image, a numpy array or a tensor, got {type(image).__name__}"
        )
    if affine is None:
        raise ValueError("affine: expected the 4x4 voxel-to-world affine of the array (RAS, mm), got None")
    return _checked_voxels(_spatial(_to_array(image), "image")), as_affine(_to_array(affine), "affine")


def _checked_voxels(data: np.ndarray) -> np.ndarray:
    """The voxels of an array as contiguous float32; ValueError unless real, never infinite, not all NaN, varying."""
    if not np.issubdtype(data.dtype, np.number) or np.iscomplexobj(data):
        raise ValueError(f"image: expected real voxel values, got dtype {data.dtype}")
    data = np.ascontiguousarray(data, dtype=np.float32)
    n_inf = int(np.count_nonzero(np.isinf(data)))
    if n_inf:
        raise ValueError(
            f"image: expected finite voxel values (NaN is accepted as background), got {n_inf} infinite "
            f"voxel(s) (Inf or -Inf) in shape {data.shape}"
        )
    finite = np.isfinite(data)
    if not finite.any():
        raise ValueError(f"image: expected finite voxel values, got only NaN in shape {data.shape}")
    values = data if finite.all() else data[finite]
    if values.min() == values.max():
        raise ValueError(f"image: expected voxel values that vary, got a constant image of {values.min():g}")
    return data


def source_name(image: Any, data: np.ndarray) -> str:
    """How messages name a scan: its path or name, or ``image of shape ...`` for an anonymous array."""
    return str(image) if isinstance(image, (str, os.PathLike)) else f"image of shape {data.shape}"


def plausibility_warnings(image: Any, data: np.ndarray, affine: np.ndarray) -> tuple[str, ...]:
    """:func:`check_scan_plausibility` of a scan given as ``image`` (a path or name is named in its errors).

    Args:
        image: the path or name of the scan, or the array itself.
        data: its voxels ``(X, Y, Z)``.
        affine: its 4x4 affine.

    Returns:
        The warnings, one line each without the scan's name.

    Raises:
        InputError: naming the path or name of a scan that cannot be a magnitude scan.
        ValueError: for an array (no path or name) that cannot be one, the message starting ``image:``.
    """
    if isinstance(image, (str, os.PathLike)):
        return check_scan_plausibility(data, affine, image)
    try:
        return check_scan_plausibility(data, affine, "image")
    except InputError as err:
        # an array has no file to name: report it like the other array checks, as a ValueError
        raise ValueError(str(err)) from err


def without_nan(data: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The scan with its NaN voxels set to 0 (the value of a zero background; no network sees a NaN), and the bool
    mask ``(X, Y, Z)`` of the voxels that hold a value, None when all do."""
    finite = np.isfinite(data)
    finite_input = None if finite.all() else finite
    if finite_input is not None:
        data = np.where(finite_input, data, np.float32(0))
    return data, finite_input


def load_companion(value: Any, name: str, shape: tuple[int, ...], *, mask: bool) -> np.ndarray:
    """A brain mask or a phase image on the scan's grid, from a NIfTI path, a nibabel image or an array.

    Args:
        value: the companion image ``(X, Y, Z)`` or ``(1, X, Y, Z)``.
        name: its argument's name (``"brain_mask"``, ``"phase"``), in the messages.
        shape: the scan's shape, which it must have.
        mask: whether it is a mask (non-zero and not NaN is inside) or a float image (NaN counts as 0).

    Returns:
        bool ``(X, Y, Z)`` for a mask, float32 ``(X, Y, Z)`` otherwise.

    Raises:
        ValueError: naming ``name``, for a path that cannot be loaded, a bad shape or, for a mask, values that are
            not binary.
    """
    if isinstance(value, (str, os.PathLike)):
        try:
            array = load_scan(value)[0]
        except InputError as err:
            raise ValueError(f"{name}: {err}") from err
    elif isinstance(value, nib.spatialimages.SpatialImage):
        array = _spatial(np.asanyarray(value.dataobj), name)
    else:
        array = _spatial(_to_array(value), name)
    if array.shape != tuple(shape):
        raise ValueError(f"{name}: expected the image's shape {tuple(shape)}, got {array.shape}")
    nan = np.isnan(array) if np.issubdtype(array.dtype, np.floating) else None
    if mask:
        return as_binary_mask(array != 0 if nan is None else (array != 0) & ~nan, name, shape)  # NaN: not brain
    array = np.asarray(array, dtype=np.float32)
    return array if nan is None or not nan.any() else np.where(nan, np.float32(0), array)  # NaN: 0, as the image's


@dataclasses.dataclass(frozen=True)
class ScanInput:
    """A loaded scan with its companions, on its input grid, ready for the working grid.

    Attributes:
        data: float32 scan ``(X, Y, Z)``, NaN voxels set to 0.
        affine: its float64 4x4 voxel-to-world affine (RAS, mm).
        finite_input: bool ``(X, Y, Z)``, the voxels that held a value (not NaN), or None when all did.
        brain_mask: bool brain mask ``(X, Y, Z)`` given with the scan, or None.
        phase: float32 high-pass phase ``(X, Y, Z)`` given with the scan (NaN set to 0), or None.
        warnings: the scan's plausibility warnings (:func:`plausibility_warnings`).
        name: how messages name the scan (:func:`source_name`).
    """

    data: np.ndarray
    affine: np.ndarray
    finite_input: np.ndarray | None
    brain_mask: np.ndarray | None
    phase: np.ndarray | None
    warnings: tuple[str, ...]
    name: str


def phase_beside_scan(image: Any) -> Path | None:
    """The phase image beside a scan given as a path (:func:`phase_beside`), or None when there is none.

    Raises:
        ValueError: for a scan not given as a path.
    """
    if not isinstance(image, (str, os.PathLike)):
        raise ValueError(f"phase: {PHASE_BESIDE!r} needs the scan as a path, got {type(image).__name__}")
    return phase_beside(image)


def _phase_of(image: Any, phase: Any, log: logging.Logger) -> Any:
    """``phase`` as given, or the phase image found beside ``image`` for :data:`PHASE_BESIDE` (None if none)."""
    if isinstance(phase, str) and phase == PHASE_BESIDE:
        phase = phase_beside_scan(image)
        log.debug("%s: phase %s", image, "from " + str(phase) if phase else "not found beside it")
    return phase


def load_scan_input(
    image: Any,
    affine: Any | None = None,
    *,
    brain_mask: Any | None = None,
    phase: Any | None = None,
    name: str | os.PathLike | None = None,
    log: logging.Logger | None = None,
) -> ScanInput:
    """Load and check a scan and its companions (step 1 of :meth:`CMBDetector.prepare`), logging its warnings.

    Args:
        image, affine: the scan, as for :func:`load_image`.
        brain_mask: optional brain mask on the input grid (:func:`load_companion`).
        phase: optional phase image on the input grid, or :data:`PHASE_BESIDE` (:func:`phase_beside_scan`).
        name: the file an array was loaded from, named in the errors and warnings about it.
        log: the logger that gets the warnings (level WARNING) and where the phase was found (DEBUG); default this
            module's.

    Returns:
        The :class:`ScanInput`.

    Raises:
        InputError: as :func:`load_image` and :func:`plausibility_warnings`.
        ValueError: as :func:`load_image`, :func:`plausibility_warnings`, :func:`load_companion` and
            :func:`phase_beside_scan`.
    """
    log = logging.getLogger(__name__) if log is None else log
    phase = _phase_of(image, phase, log)
    data, in_affine = load_image(image, affine)
    source = image if name is None else name
    warnings = plausibility_warnings(source, data, in_affine)
    for warning in warnings:
        log.warning("%s: %s", source_name(source, data), warning)
    data, finite_input = without_nan(data)
    shape = data.shape
    return ScanInput(
        data=data,
        affine=in_affine,
        finite_input=finite_input,
        brain_mask=None if brain_mask is None else load_companion(brain_mask, "brain_mask", shape, mask=True),
        phase=None if phase is None else load_companion(phase, "phase", shape, mask=False),
        warnings=warnings,
        name=source_name(source, data),
    )


def scan_data(
    image: Any,
    affine: Any | None = None,
    *,
    brain_mask: Any | None = None,
    phase: Any | None = None,
    name: str | os.PathLike | None = None,
    log: logging.Logger | None = None,
) -> dict[str, Any]:
    """A scan as the bundle's ``preprocessing`` takes it after ``LoadImaged``: ``{"image": (1, X, Y, Z) MetaTensor}``
    with its file (``filename_or_obj``: the path, or ``name``; none for an anonymous array) and the companions that
    were given (``brain_mask``, ``phase``; :data:`PHASE_BESIDE` is looked up beside a path here).

    Raises:
        InputError, ValueError: as :func:`load_image` and :func:`phase_beside_scan`.
    """
    log = logging.getLogger(__name__) if log is None else log
    phase = _phase_of(image, phase, log)
    data, in_affine = load_image(image, affine)
    source = image if name is None else name
    meta = {"filename_or_obj": str(source)} if isinstance(source, (str, os.PathLike)) else {}
    tensor = MetaTensor(torch.from_numpy(data)[None], affine=torch.as_tensor(in_affine, dtype=torch.float64), meta=meta)
    companions = {"brain_mask": brain_mask, "phase": phase}
    return {"image": tensor, **{key: value for key, value in companions.items() if value is not None}}
