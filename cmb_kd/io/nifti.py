"""Opening and loading a NIfTI scan with one clear error per problem (inputs are only read, never modified).

:func:`open_nifti` checks everything the header tells without reading the voxels (input discovery uses it to
list bad files cheaply); :func:`load_scan` also reads and checks the voxels.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel.filebasedimages import ImageFileError
from nibabel.spatialimages import HeaderDataError

from cmb_kd.checks import MIN_VOXEL_VOLUME_MM3
from cmb_kd.io.errors import InputError
from cmb_kd.io.naming import nifti_stem

__all__ = ["open_nifti", "load_scan", "EXPECTED_FILE", "MIN_VOXEL_VOLUME_MM3"]

EXPECTED_FILE = "a readable NIfTI file (.nii or .nii.gz)"
"""What an input file is expected to be, as worded in error messages."""


_GZIP_MAGIC = b"\x1f\x8b"
_READ_ERRORS = (ImageFileError, HeaderDataError, OSError, EOFError, ValueError, zlib.error)
_DATA_ERRORS = (OSError, EOFError, ValueError, zlib.error)


def _spatial_shape(path: Path, shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(shape) < 3 or min(shape[:3]) < 2:
        raise InputError(
            path,
            f"2D image of shape {shape}",
            "a 3D volume (X, Y, Z) with at least 2 voxels along each axis",
        )
    extra = shape[3:]
    if any(n != 1 for n in extra):
        volumes = int(np.prod(extra))
        raise InputError(
            path,
            f"{len(shape)}D image with {volumes} volumes (shape {shape})",
            "a single 3D volume (a 4D file may hold exactly one volume)",
        )
    return int(shape[0]), int(shape[1]), int(shape[2])


def open_nifti(path: str | os.PathLike) -> tuple[nib.Nifti1Image, tuple[int, int, int]]:
    """Open a NIfTI file without reading its voxels and check everything the header tells.

    Checks, in order: the file exists and is a file, the name ends in ``.nii`` / ``.nii.gz``, the file is not
    empty, a ``.nii.gz`` file starts with the gzip signature, the header parses as NIfTI-1 or NIfTI-2, the voxel
    type is real-valued, the image is 3D (or 4D+ with a single volume) with at least 2 voxels per axis, and the
    affine is finite and invertible.

    Args:
        path: the file to open.

    Returns:
        The lazily loaded image (nothing but the header is read, memory mapping off) and its spatial shape.

    Raises:
        InputError: naming the file, the problem and what was expected.
    """
    file = Path(path)
    if not file.exists():
        raise InputError(file, "file not found", EXPECTED_FILE)
    if not file.is_file():
        raise InputError(file, "is a folder, not a file", EXPECTED_FILE)
    if nifti_stem(file) is None:
        raise InputError(file, f"not a NIfTI file name (suffix {''.join(file.suffixes) or 'none'!r})", EXPECTED_FILE)
    try:
        with open(file, "rb") as handle:
            head = handle.read(4)
    except OSError as err:
        raise InputError(file, f"cannot be read ({err.strerror or type(err).__name__})", EXPECTED_FILE) from err
    if not head:
        raise InputError(file, "empty file (0 bytes)", EXPECTED_FILE)
    if file.name.lower().endswith(".gz") and head[:2] != _GZIP_MAGIC:
        # an uncompressed NIfTI starts with its header size, 348 (NIfTI-1) or 540 (NIfTI-2), in either byte order
        plain_nifti = len(head) == 4 and any(int.from_bytes(head, order) in (348, 540) for order in ("little", "big"))
        expected = (
            "its content is an uncompressed NIfTI: rename it to .nii" if plain_nifti else "a gzip-compressed NIfTI file"
        )
        raise InputError(file, "named .nii.gz but not gzip-compressed", expected)
    try:
        image = nib.load(file, mmap=False)
    except _READ_ERRORS as err:
        raise InputError(file, f"unreadable NIfTI header ({type(err).__name__}: {err})", EXPECTED_FILE) from err
    if not isinstance(image, (nib.Nifti1Image, nib.Nifti2Image)):
        raise InputError(file, f"read as {type(image).__name__}, not as NIfTI", EXPECTED_FILE)
    dtype = image.header.get_data_dtype()
    if dtype.fields is not None or np.issubdtype(dtype, np.complexfloating) or not np.issubdtype(dtype, np.number):
        raise InputError(file, f"voxel type {dtype} is not a real number", "real-valued (integer or float) voxels")
    shape = _spatial_shape(file, tuple(int(n) for n in image.shape))
    affine = np.asarray(image.affine, dtype=np.float64)
    if affine.shape != (4, 4) or not np.isfinite(affine).all():
        raise InputError(file, f"affine is not a finite 4x4 matrix ({affine.tolist()})", "a finite invertible affine")
    determinant = abs(float(np.linalg.det(affine[:3, :3])))
    if determinant < MIN_VOXEL_VOLUME_MM3:
        raise InputError(
            file,
            f"non-invertible affine (|det| = {determinant:.3g}; matrix {np.round(affine[:3, :3], 6).tolist()})",
            "an invertible voxel-to-world affine (set a valid sform or qform and non-zero pixdim)",
        )
    return image, shape


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
