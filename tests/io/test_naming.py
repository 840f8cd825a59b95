"""Tests of cmb_kd.io.naming: the NIfTI stem of a file name."""

import pytest

from cmb_kd.io import nifti_stem


@pytest.mark.parametrize(
    "name, stem",
    [("a.nii.gz", "a"), ("b.NII", "b"), ("c.txt", None), (".nii.gz", None), ("d_cmb_mask.nii", "d_cmb_mask")],
)
def test_nifti_stem(name, stem):
    assert nifti_stem(name) == stem
