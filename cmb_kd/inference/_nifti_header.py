"""Header-level checks of a NIfTI scan, shared by input discovery (cheap) and scan loading (full)."""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel.filebasedimages import ImageFileError
from nibabel.spatialimages import HeaderDataError

from cmb_kd.inference.input_error import InputError
from cmb_kd.metrics.pairing import nifti_stem

__all__ = ["open_nifti", "EXPECTED_FILE", "MIN_VOXEL_VOLUME_MM3"]

EXPECTED_FILE = "a readable NIfTI file (.nii or .nii.gz)"
"""What an input file is expected to be, as worded in error messages."""

MIN_VOXEL_VOLUME_MM3 = 1e-9
"""|det(affine[:3, :3])| below this (mm³) counts as a non-invertible affine."""

_GZIP_MAGIC = b"\x1f\x8b"
_READ_ERRORS = (ImageFileError, HeaderDataError, OSError, EOFError, ValueError, zlib.error)


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
