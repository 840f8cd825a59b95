"""Files on disk, the bottom layer of the package: naming, atomic writes, CSV tables, NIfTI loading, and the
errors a user sees about a path. It imports nothing else of cmb_kd but the argument checks (``cmb_kd.checks``);
every other subpackage may import it."""

from cmb_kd.io.atomic import prepare_folder, write_atomic, write_bytes_atomic, write_files_atomic
from cmb_kd.io.errors import InputError, OutputError, PathProblem
from cmb_kd.io.naming import NIFTI_SUFFIXES, PREDICTION_SUFFIX, nifti_stem
from cmb_kd.io.nifti import EXPECTED_FILE, MIN_VOXEL_VOLUME_MM3, load_scan, open_nifti
from cmb_kd.io.table import csv_bytes, table_cell

__all__ = [
    "EXPECTED_FILE",
    "MIN_VOXEL_VOLUME_MM3",
    "NIFTI_SUFFIXES",
    "PREDICTION_SUFFIX",
    "InputError",
    "OutputError",
    "PathProblem",
    "csv_bytes",
    "load_scan",
    "nifti_stem",
    "open_nifti",
    "prepare_folder",
    "table_cell",
    "write_atomic",
    "write_bytes_atomic",
    "write_files_atomic",
]
