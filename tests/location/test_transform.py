import itk
import numpy as np
import pytest

from cmb_kd.location.orientation import image_to_itk, ras_to_lps
from cmb_kd.location.transform import TemplateTransform, transform_from_itk


def test_affine_only():
    affine = np.eye(4)
    affine[:3, 3] = (1.0, 2.0, 3.0)
    out = TemplateTransform(affine=affine).apply([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    np.testing.assert_allclose(out, [[1, 2, 3], [2, 3, 4]])


def test_displacement_is_applied_before_the_affine_and_is_zero_off_the_grid():
    field = np.zeros((3, 4, 4, 4), dtype=np.float32)
    field[0] = 2.0
    affine = np.diag([2.0, 1.0, 1.0, 1.0])
    transform = TemplateTransform(affine=affine, displacement=field, grid_affine=np.eye(4))
    np.testing.assert_allclose(transform.apply([[1.0, 1.0, 1.0], [50.0, 0.0, 0.0]]), [[6.0, 1, 1], [100.0, 0, 0]])


def _vector_field(vectors: np.ndarray, reference: itk.Image) -> itk.Image:
    field = itk.Image[itk.Vector[itk.D, 3], 3].New()
    field.CopyInformation(reference)
    field.SetRegions(reference.GetLargestPossibleRegion())
    field.Allocate()
    itk.array_view_from_image(field)[...] = vectors
    return field


def test_matches_the_itk_composite_transform_in_lps():
    rng = np.random.default_rng(0)
    grid = np.diag([-4.0, 4.0, 4.0, 1.0])  # a flipped x axis on purpose
    grid[:3, 3] = (40.0, -40.0, -30.0)
    reference = image_to_itk(np.zeros((20, 20, 16), dtype=np.float32), grid)
    vectors = rng.normal(0.0, 2.0, (16, 20, 20, 3))  # ITK order (Z, Y, X, component), LPS mm
    field = _vector_field(vectors, reference)
    affine = itk.AffineTransform[itk.D, 3].New()
    matrix = np.eye(3) + rng.normal(0.0, 0.05, (3, 3))
    affine.SetMatrix(itk.matrix_from_array(matrix))
    affine.SetTranslation(rng.normal(0.0, 5.0, 3).tolist())
    affine.SetCenter([3.0, -7.0, 2.0])
    dense = itk.DisplacementFieldTransform[itk.D, 3].New()
    dense.SetDisplacementField(field)
    composite = itk.CompositeTransform[itk.D, 3].New()
    composite.AddTransform(affine)
    composite.AddTransform(dense)  # applied first
    ours = transform_from_itk(affine, field, grid)
    points = rng.uniform((-30, -30, -20), (30, 30, 25), (25, 3))
    expected = np.array([composite.TransformPoint(p.tolist()) for p in ras_to_lps(points)])
    np.testing.assert_allclose(ras_to_lps(ours.apply(points)), expected, atol=1e-3)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"affine": np.eye(3)}, "affine: expected"),
     ({"affine": np.eye(4), "displacement": np.zeros((3, 2, 2, 2))}, "expected both or neither"),
     ({"affine": np.eye(4), "displacement": np.zeros((2, 2, 2)), "grid_affine": np.eye(4)}, "displacement: expected")],
)  # fmt: skip
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TemplateTransform(**kwargs)
    with pytest.raises(ValueError, match="points_mm: expected"):
        TemplateTransform(affine=np.eye(4)).apply([[np.nan, 0.0, 0.0]])
