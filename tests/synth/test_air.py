import numpy as np

from cmb_kd.synth.air import draw_air_pockets


def test_pockets_lie_near_the_air_spaces_and_outside_the_intracranial_volume():
    n = 64
    x, y, z = np.meshgrid(*[np.arange(n) - 31.5] * 3, indexing="ij")
    r = np.sqrt(x**2 + y**2 + z**2)
    brain = (r <= 18.0).astype(np.float32)
    outside = np.clip(r - 18.0, 0.0, None).astype(np.float32)
    air = ((np.abs(x) < 4) & (np.abs(y) < 4) & (np.abs(z + 26) < 3)).astype(np.float32)  # a "sinus" under the brain
    fraction, records = draw_air_pockets(air, brain, outside, 1.0, np.random.default_rng(0), 4, (5.0, 10.0))
    assert len(records) == 4 and fraction.max() == 1.0
    assert not np.any(fraction[outside <= 2.0])  # never inside the brain or the CSF around it
    seeds = np.argwhere(air > 0.5)
    for record in records:
        centre = np.asarray(record["centre_voxel"])
        assert np.min(np.linalg.norm(seeds - centre, axis=1)) <= 15.0 + 1e-6
        assert 5.0 <= record["diameter_mm"] <= 10.0
    empty, none = draw_air_pockets(np.zeros_like(air), brain, outside, 1.0, np.random.default_rng(0), 3, (5.0, 9.0))
    assert none == [] and not empty.any()
