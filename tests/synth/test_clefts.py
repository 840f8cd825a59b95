import numpy as np
from scipy import ndimage

from cmb_kd.synth.clefts import draw_sulcal_clefts


def _cortex(n: int = 48):
    """A ball of 'brain' whose outer 3 mm are grey matter, and its inside distance (1 mm voxels)."""
    x, y, z = np.meshgrid(*[np.arange(n) - (n - 1) / 2.0] * 3, indexing="ij")
    brain = np.sqrt(x**2 + y**2 + z**2) <= 20.0
    inside = ndimage.distance_transform_edt(brain).astype(np.float32)
    gm = (brain & (inside <= 3.0)).astype(np.float32)
    return gm, inside


def test_clefts_are_thin_sheets_across_the_surface_in_the_cortex():
    gm, inside = _cortex()
    fraction, records = draw_sulcal_clefts(gm, inside, 1.0, np.random.default_rng(0), 12, (0.3, 1.5), (4.0, 12.0))
    assert len(records) == 12 and fraction.dtype == np.float32
    assert 0 < fraction.max() <= 1 and fraction.min() >= 0
    volume = sum(np.pi / 6 * r["width_mm"] * r["depth_mm"] * r["length_mm"] for r in records)
    assert fraction.sum() <= volume * 1.05  # overlapping clefts count once
    assert fraction.sum() >= 0.5 * volume
    for r in records:
        centre = np.round(r["centre_voxel"]).astype(int)
        assert gm[tuple(centre)] > 0.5 and 1.0 <= inside[tuple(centre)] <= 6.0
        assert 0.3 <= r["width_mm"] <= 1.5 and 4.0 <= r["depth_mm"] <= 12.0
    # partial volume: a cleft thinner than a voxel never fills one
    thin, rec = draw_sulcal_clefts(gm, inside, 1.0, np.random.default_rng(1), 1, (0.3, 0.3), (8.0, 8.0))
    assert 0 < thin.max() < 0.7 and rec[0]["width_mm"] == 0.3


def test_no_cortex_gives_no_cleft():
    fraction, records = draw_sulcal_clefts(
        np.zeros((8, 8, 8), np.float32), np.zeros((8, 8, 8)), 1.0, np.random.default_rng(0), 5, (0.3, 1.0), (4, 8)
    )
    assert records == [] and not fraction.any()
