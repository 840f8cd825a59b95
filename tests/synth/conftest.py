import pytest

from cmb_kd.synth import SynthConfig, simulate_subject

#: A 2 mm grid holds the whole head with an eighth of the 1 mm voxels: fast enough for the test suite.
SMALL = SynthConfig(shape=(96, 112, 88), spacing=2.0, cmb_p_zero=0.0, cmb_count_mean=5.0)


@pytest.fixture(scope="session")
def small_config() -> SynthConfig:
    return SMALL


@pytest.fixture(scope="session")
def small_subject():
    return simulate_subject(SMALL, seed=11)
