"""Tests of cmb_kd.io.errors: one message naming the path, the problem and what was expected."""

import pickle
import re

import pytest

from cmb_kd.io import InputError, OutputError


def test_input_error_pickles_and_keeps_its_parts(tmp_path):
    error = InputError(tmp_path / "a.nii.gz", "2D image of shape (4, 4)", "a 3D volume")
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error) == f"{tmp_path / 'a.nii.gz'}: 2D image of shape (4, 4); expected a 3D volume"
    assert re.search("expected a 3D volume", str(copy))


@pytest.mark.parametrize(("kind", "base"), [(InputError, ValueError), (OutputError, OSError)])
def test_each_error_is_the_built_in_kind_its_callers_catch(tmp_path, kind, base):
    error = kind(tmp_path / "out", "cannot create the folder (Not a directory)", "a folder that can be created")
    assert isinstance(error, base) and error.path == tmp_path / "out"
    assert (error.problem, error.expected) == (
        "cannot create the folder (Not a directory)",
        "a folder that can be created",
    )
