"""Fixtures of the location tests: the MARS atlas (built once) and a subject drawn from the template with a known
affine deformation on a coarse grid."""

from __future__ import annotations

import itk
import numpy as np
import pytest
from _location_cases import SHAPE, SPACING


@pytest.fixture(scope="session", autouse=True)
def _one_itk_thread():
    itk.MultiThreaderBase.SetGlobalDefaultNumberOfThreads(1)


@pytest.fixture(scope="session")
def atlas():
    from cmb_kd.location import load_mars_atlas

    return load_mars_atlas()


@pytest.fixture(scope="session")
def deformed_subject():
    """``(image, affine, brain_mask, params)``: the template under a random affine (no elastic part), as a
    T2*-like image (CSF bright, grey above white matter)."""
    from cmb_kd.synth.anatomy import deform_template

    anatomy, params = deform_template(SHAPE, SPACING, np.random.default_rng(3), elastic_mm=0.0)
    image = (anatomy.csf + 0.6 * anatomy.gm + 0.4 * anatomy.wm).astype(np.float32)
    return image, anatomy.affine, anatomy.brain > 0.5, params
