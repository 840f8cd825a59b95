import numpy as np
import pytest

from cmb_kd.synth.anatomy import deform_template, load_template, template_to_grid


def _template_value(channel: int, points_mm) -> np.ndarray:
    maps, affine = load_template()
    voxels = np.round((np.asarray(points_mm, float) - affine[:3, 3]) @ np.linalg.inv(affine[:3, :3]).T).astype(int)
    return maps[channel][tuple(voxels.T)]


@pytest.mark.parametrize(
    "point, infratentorial, posterior_fossa",
    [
        ((0.0, -62.0, -8.0), 0, 1),  # superior vermis: under the tentorium, above the box
        ((30.0, -62.0, -22.0), 1, 1),  # cerebellar hemisphere
        ((4.0, -26.0, -6.0), 0, 1),  # midbrain
        ((0.0, -30.0, -35.0), 1, 1),  # pons
        ((56.0, -46.0, -22.0), 1, 0),  # inferior temporal gyrus: supratentorial, inside the box
        ((20.0, -80.0, 10.0), 0, 0),  # occipital lobe
    ],
)
def test_posterior_fossa_holds_cerebellum_and_brainstem_only(point, infratentorial, posterior_fossa):
    assert _template_value(5, [point])[0] == infratentorial
    assert _template_value(7, [point])[0] == posterior_fossa


def test_template_points_map_onto_the_deformed_anatomy():
    shape, spacing = (96, 112, 88), 2.0
    anatomy, params = deform_template(shape, spacing, np.random.default_rng(5))
    sinus = template_to_grid(np.array([[0.0, 12.0, -40.0], [0.0, 68.0, -8.0]]), params, shape, spacing)
    voxels = np.round(sinus).astype(int)
    assert np.all(anatomy.air[tuple(voxels.T)] > 0.5)  # sphenoid and frontal sinus centres land in their air
    fossa = np.round(template_to_grid(np.array([[30.0, -62.0, -22.0]]), params, shape, spacing)).astype(int)
    assert anatomy.posterior_fossa[tuple(fossa.T)] > 0.5
