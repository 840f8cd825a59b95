"""Loading of one input scan with one clear error per problem (inputs are only read, never modified)."""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import nibabel as nib
import numpy as np

from cmb_kd.inference._nifti_header import EXPECTED_FILE, open_nifti
from cmb_kd.inference.input_error import InputError

__all__ = ["load_scan"]

_DATA_ERRORS = (OSError, EOFError, ValueError, zlib.error)


def load_scan(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, nib.Nifti1Header]:
    """Load a T2*/SWI scan as a float32 volume with its affine and header, checking it on the way.

    A 4D file holding exactly one volume (shape ``(X, Y, Z, 1)``) is accepted and squeezed to ``(X, Y, Z)``.
    The file is opened read-only without memory mapping; nothing is written back.

    NaN voxels are accepted and returned as NaN: they are the background of skull-stripped scans distributed with
    a NaN background (the VALDO challenge layout), voxels without a value outside the brain. :class:`CMBDetector`
    sets them to 0 before resampling and never counts them as brain. Inf and -Inf are no background convention and
    are refused, as is an image without a finite voxel.

    Args:
        path: a ``.nii`` or ``.nii.gz`` file.

    Returns:
        ``(data, affine, header)``: the voxels as a float32 array ``(X, Y, Z)`` (scaling slope and intercept
        applied), the 4x4 voxel-to-world affine (float64, world RAS in mm) and a copy of the header whose data
        shape is set to ``(X, Y, Z)``.

    Raises:
        InputError: (a ``ValueError``) with one message naming the file, the problem and what was expected, for a
            missing file, a folder, a name that is not ``.nii`` / ``.nii.gz``, an empty file, a ``.nii.gz`` that is
            not gzip, an unreadable header, complex or RGB voxels, a 2D image, a 4D image with more than one
            volume, a non-invertible affine, corrupt or truncated (compressed) data, infinite (Inf or -Inf) voxels,
            an image whose voxels are all NaN, or one whose finite voxels all hold one value (e.g. all zero).
    """
    image, shape = open_nifti(path)
    file = Path(path)
    try:
        if file.name.lower().endswith(".gz"):
            # decompress the whole stream so that the gzip CRC and length checks run (nibabel stops reading
            # once it has the voxels, so a corrupt stream could otherwise load as garbage)
            image = type(image).from_bytes(gzip.decompress(file.read_bytes()))
        data = np.asarray(image.dataobj, dtype=np.float64 if image.get_data_dtype().itemsize > 4 else np.float32)
    except _DATA_ERRORS as err:
        raise InputError(
            file, f"corrupt or truncated image data ({type(err).__name__}: {err})", f"{EXPECTED_FILE}, complete"
        ) from err
    data = data.reshape(shape)
    n_inf = int(np.count_nonzero(np.isinf(data)))
    if n_inf:
        raise InputError(
            file,
            f"{n_inf} infinite voxel(s) (Inf or -Inf) of {data.size}",
            "finite voxel values (NaN is accepted as background)",
        )
    data = data.astype(np.float32, copy=False)
    n_inf = int(np.count_nonzero(np.isinf(data)))
    if n_inf:
        raise InputError(file, f"{n_inf} voxel(s) beyond the float32 range", "voxel values within the float32 range")
    finite = np.isfinite(data)
    if not finite.any():
        raise InputError(file, f"all {data.size} voxels are NaN", "an image with signal (finite voxel values)")
    values = data if finite.all() else data[finite]
    low, high = float(values.min()), float(values.max())
    if low == high:
        besides = "" if values is data else " apart from the NaN ones"
        problem = (
            f"all-zero image (every voxel{besides} is 0)"
            if low == 0
            else f"constant image (every voxel{besides} is {low:g})"
        )
        raise InputError(file, problem, "an image with signal (voxel values that vary)")
    header = image.header.copy()
    header.set_data_shape(shape)
    return np.ascontiguousarray(data), np.asarray(image.affine, dtype=np.float64).copy(), header
