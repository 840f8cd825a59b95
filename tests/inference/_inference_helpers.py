"""Constants shared by the inference tests (a uniquely named module, importable from every test file here)."""

from __future__ import annotations

import numpy as np

ANISOTROPIC_AFFINE = np.array(
    [
        [-0.5, 0.0, 0.0, 40.0],
        [0.0, 0.5, 0.0, -30.0],
        [0.0, 0.0, 3.0, -12.0],
        [0.0, 0.0, 0.0, 1.0],
    ]
)
"""A thick-slice grid: 0.5 x 0.5 x 3 mm voxels, x flipped, with an offset."""
