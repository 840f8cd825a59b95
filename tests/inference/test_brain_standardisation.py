"""Tests of BrainStandardisation: statistics from brain voxels only, applied to the whole volume."""

from __future__ import annotations

import numpy as np
import pytest

from cmb_kd.inference import BrainStandardisation


def _scan() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    image = rng.normal(500.0, 20.0, size=(20, 20, 10)).astype(np.float32)
    brain = np.zeros(image.shape, dtype=bool)
    brain[4:16, 4:16, 2:8] = True
    image[~brain] = 3000.0  # bright scalp must not move the statistics
    image[10, 10, 5] = 0.0  # a dark CMB must not either (robust)
    return image, brain


@pytest.mark.parametrize("method", ["robust", "zscore"])
def test_brain_is_centred_and_scaled(method: str) -> None:
    image, brain = _scan()
    out = BrainStandardisation(method)(image, brain)
    assert out.dtype == np.float32 and out.shape == image.shape
    values = out[brain]
    centre = np.median(values) if method == "robust" else values.mean()
    assert abs(centre) < 1e-3
    assert 0.5 < values.std() < (1.5 if method == "robust" else 1.0001)
    assert out[0, 0, 0] > 50  # outside voxels kept, on the same scale


def test_flat_brain_falls_back_to_unit_scale() -> None:
    image = np.full((6, 6, 6), 7.0, dtype=np.float32)
    out = BrainStandardisation()(image, np.ones(image.shape, dtype=bool))
    assert np.allclose(out, 0.0)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="median"):
        BrainStandardisation("median")
    with pytest.raises(ValueError, match="eps"):
        BrainStandardisation(eps=0)
    image, brain = _scan()
    with pytest.raises(ValueError, match="empty mask"):
        BrainStandardisation()(image, np.zeros_like(brain))
    with pytest.raises(ValueError, match="shape"):
        BrainStandardisation()(image, brain[:5])
