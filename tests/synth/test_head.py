import numpy as np
import pytest

from cmb_kd.synth.head import head_layers


@pytest.fixture(scope="module")
def ball():
    grid = np.stack(np.meshgrid(*[np.arange(40)] * 3, indexing="ij"), axis=-1)
    return (np.linalg.norm(grid - 19.5, axis=-1) <= 10).astype(np.float32)


def test_layers_share_their_boundary_voxels_by_partial_volume(ball):
    head = head_layers(ball, 2.0, np.random.default_rng(0))
    assert (ball + head.csf_rim).max() <= 1.0 + 1e-5  # the CSF fills what the brain leaves of its voxels
    assert (head.skull + head.scalp).max() <= 1.0 + 1e-5
    assert ((head.skull > 0.99) & (head.scalp > 0.01)).sum() == 0
    for layer in (head.csf_rim, head.skull, head.scalp):
        assert layer.dtype == np.float32 and layer.shape == ball.shape
        assert layer.min() >= 0.0 and layer[ball == 1].max() == 0.0  # nothing inside the brain
    assert np.all(head.outside_distance[ball == 1] <= 1.0 + 1e-5)  # 0 inside, up to the 1 mm noise


def test_layers_lie_csf_then_skull_then_scalp_outward(ball):
    head = head_layers(ball, 2.0, np.random.default_rng(1))
    depth = [float((layer * head.outside_distance).sum() / layer.sum()) for layer in (head.csf_rim, head.skull)]
    depth.append(float((head.scalp * head.outside_distance).sum() / head.scalp.sum()))
    assert depth[0] < depth[1] < depth[2]
    params = head.params
    assert 1.5 <= params["csf_mm"] <= 3.5 and 4.5 <= params["skull_mm"] <= 7.5 and 4.0 <= params["scalp_mm"] <= 7.0
    # the skull's volume is about its thickness times the surface it covers (a sphere of radius 20 + csf mm)
    inner = 20.0 + params["csf_mm"]
    shell = 4.0 / 3.0 * np.pi * ((inner + params["skull_mm"]) ** 3 - inner**3)
    assert float(head.skull.sum()) * 8.0 == pytest.approx(shell, rel=0.15)


def test_same_generator_state_gives_the_same_layers(ball):
    first = head_layers(ball, 2.0, np.random.default_rng(3))
    again = head_layers(ball, 2.0, np.random.default_rng(3))
    np.testing.assert_array_equal(first.skull, again.skull)
    assert first.params == again.params


def test_closed_distance_is_zero_inside_and_the_distance_to_the_surface_outside(ball):
    from cmb_kd.synth.head import closed_distance

    distance = closed_distance(ball >= 0.5, 2.0)
    assert distance.dtype == np.float32 and np.all(distance[ball == 1] == 0)
    grid = np.stack(np.meshgrid(*[np.arange(40)] * 3, indexing="ij"), axis=-1)
    radial = np.linalg.norm(grid - 19.5, axis=-1)
    far = radial > 13
    np.testing.assert_allclose(distance[far], 2.0 * (radial[far] - 10.0), atol=2.5)
