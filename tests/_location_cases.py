"""Shared cases of the location tests: MNI landmarks with their MARS region, and where template points land in a
subject drawn by :func:`cmb_kd.synth.anatomy.deform_template`."""

from __future__ import annotations

import numpy as np

#: The coarse subject grid of ``tests/location/conftest.py``.
SHAPE, SPACING = (64, 75, 59), 3.0


def subject_points(points_mni: np.ndarray, params: dict, affine: np.ndarray) -> np.ndarray:
    """Where template points land in the deformed subject's world (RAS mm)."""
    from cmb_kd.synth.anatomy import template_to_grid

    voxels = template_to_grid(points_mni, params, SHAPE, SPACING)
    return voxels @ affine[:3, :3].T + affine[:3, 3]


#: MNI landmarks (mm) and their MARS region.
LANDMARKS = (
    ((25.0, 3.0, 1.0), "basal_ganglia"),
    ((-25.0, 3.0, 1.0), "basal_ganglia"),
    ((11.0, -18.0, 7.0), "thalamus"),
    ((-11.0, -18.0, 7.0), "thalamus"),
    ((3.0, -28.0, -30.0), "brainstem"),
    ((-25.0, -70.0, -35.0), "cerebellum"),
    ((-40.0, 30.0, 30.0), "frontal"),
    ((40.0, -60.0, 45.0), "parietal"),
    ((-58.0, -25.0, -10.0), "temporal"),
    ((15.0, -92.0, 5.0), "occipital"),
    ((-38.0, -3.0, 4.0), "insula"),
)
