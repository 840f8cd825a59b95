import numpy as np
import pytest

from cmb_kd.synth import SynthConfig, simulate_subject
from cmb_kd.synth.anatomy import Anatomy

#: A 2 mm grid holds the whole head with an eighth of the 1 mm voxels: fast enough for the test suite.
SMALL = SynthConfig(shape=(96, 112, 88), spacing=2.0, cmb_p_zero=0.0, cmb_count_mean=5.0)


@pytest.fixture(scope="session")
def small_config() -> SynthConfig:
    return SMALL


@pytest.fixture(scope="session")
def small_subject():
    return simulate_subject(SMALL, seed=11)


def _ball(shape, centre, radius):
    grid = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), axis=-1)
    return (np.linalg.norm(grid - np.asarray(centre, float), axis=-1) <= radius).astype(np.float32)


@pytest.fixture(scope="session")
def toy_anatomy() -> Anatomy:
    """A 2 mm ball brain: white matter inside 7 voxels, a grey-matter shell to 11, a CSF core of 2, a deep
    region of 3 voxels, the lowest fifth as posterior fossa and infratentorial region, an air ball below."""
    shape = (32, 32, 32)
    centre = (16.0, 16.0, 16.0)
    brain = _ball(shape, centre, 11)
    core = _ball(shape, centre, 2)
    wm = _ball(shape, centre, 7) - core
    gm = brain - wm - core
    low = np.zeros(shape, np.float32)
    low[:, :, :10] = 1.0
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = -32.0
    return Anatomy(
        affine=affine,
        t1=(0.6 * gm + 1.0 * wm + 0.2 * core).astype(np.float32),
        gm=gm,
        wm=wm,
        csf=core,
        brain=brain,
        deep_region=_ball(shape, (16.0, 16.0, 20.0), 3),
        infratentorial=low * brain,
        air=_ball(shape, (16.0, 16.0, 1.0), 2) * (1.0 - brain),
        posterior_fossa=low * brain,
    )


@pytest.fixture(scope="session")
def small_mra_subject():
    """A TOF MRA subject on the small grid (128×128×64 at 0.5×0.5×0.8 mm around the circle of Willis)."""
    from cmb_kd.synth import MRAConfig, simulate_mra_subject

    return simulate_mra_subject(MRAConfig.small(), seed=3)


def ball_inside(centre=(0.0, 0.0, 0.0), radius: float = 60.0):
    """A ball brain for the vessel growth: the distance inside its surface (mm) and its inward direction."""
    centre = np.asarray(centre, dtype=np.float64)

    def inside(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        offset = centre - np.atleast_2d(points)
        distance = np.linalg.norm(offset, axis=1)
        return radius - distance, offset / np.maximum(distance, 1e-9)[:, None]

    return inside
