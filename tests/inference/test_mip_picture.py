"""The MIP picture: where a vessel lands in each panel, the overlay colour, square pixels, the PNG file."""

import numpy as np
import pytest
from matplotlib.image import imread

from cmb_kd.inference import MIP_OVERLAY_RGB, render_mip_picture, write_mip_png

SHAPE = (20, 30, 10)
AFFINE = np.diag([0.5, 0.5, 1.0, 1.0])  # RAS: x to the patient's right, y anterior, z superior
GAP = 4


def _column() -> tuple[np.ndarray, np.ndarray]:
    """A bright vessel along z at the patient's far right (x = 18) and front (y = 28), from z = 2 up."""
    image = np.zeros(SHAPE, dtype=np.float32)
    mask = np.zeros(SHAPE, dtype=bool)
    image[18, 28, 2:] = mask[18, 28, 2:] = 1
    image[5, 5, 5] = 0.5  # a dimmer voxel that is no vessel
    return image, mask


def _panels(picture: np.ndarray) -> list[np.ndarray]:
    """Axial (30 rows × 20), coronal (20 × 20: 10 slices of 1 mm at 0.5 mm pixels) and sagittal (20 × 30)."""
    widths = (20, 20, 30)
    starts = np.cumsum([0, *(w + GAP for w in widths[:-1])])
    heights = (30, 20, 20)
    tops = [(picture.shape[0] - h) // 2 for h in heights]
    return [picture[t : t + h, s : s + w] for t, h, s, w in zip(tops, heights, starts, widths)]


def _red(panel: np.ndarray) -> np.ndarray:
    return panel[..., 0].astype(int) - panel[..., 1] > 80  # grey pixels have equal channels


def test_the_picture_has_three_square_pixel_panels() -> None:
    picture = render_mip_picture(*_column(), AFFINE)
    assert picture.dtype == np.uint8 and picture.shape == (30, 20 + GAP + 20 + GAP + 30, 3)
    assert not picture[:, 20:24].any()  # the gap between the first two panels is black


def test_each_panel_shows_the_vessel_where_radiological_convention_puts_it() -> None:
    axial, coronal, sagittal = _panels(render_mip_picture(*_column(), AFFINE))
    # axial: anterior at the top (y = 28 is the 2nd row), the patient's right on the left (x = 18: 2nd column)
    assert np.argwhere(_red(axial)).tolist() == [[1, 1]]
    # coronal: superior at the top, the vessel from z = 2 to the top slice, in the 2nd column (right on the left)
    rows, columns = np.nonzero(_red(coronal))
    assert set(columns) == {1} and rows.min() == 0 and rows.max() == 2 * (SHAPE[2] - 2) - 1
    # sagittal: superior at the top, anterior on the left (y = 28 is the 2nd column)
    rows, columns = np.nonzero(_red(sagittal))
    assert set(columns) == {1} and rows.min() == 0 and rows.max() == 2 * (SHAPE[2] - 2) - 1


def test_the_orientation_follows_the_affine_not_the_storage() -> None:
    image, mask = _column()
    flipped = AFFINE.copy()
    flipped[0, 0], flipped[0, 3] = -0.5, 9.5  # LAS storage: x index grows to the patient's left
    stored = render_mip_picture(image[::-1], mask[::-1], flipped)
    assert np.array_equal(stored, render_mip_picture(image, mask, AFFINE))


def test_vessels_are_drawn_in_the_overlay_colour_over_grey() -> None:
    image, mask = _column()
    axial = _panels(render_mip_picture(image, mask, AFFINE, alpha=1.0))[0]
    assert axial[1, 1].tolist() == [round(255 * c) for c in MIP_OVERLAY_RGB]
    grey = axial[~_red(axial)]
    assert (grey[:, 0] == grey[:, 1]).all() and (grey[:, 1] == grey[:, 2]).all()
    empty = render_mip_picture(image, np.zeros(SHAPE, dtype=np.uint8), AFFINE)
    assert not _red(empty).any() and empty.max() == 255  # the bright vessel is white without its mask


def test_a_constant_image_gives_a_black_picture() -> None:
    assert not render_mip_picture(np.ones(SHAPE), np.zeros(SHAPE), AFFINE).any()


def test_write_mip_png_writes_the_rendered_picture(tmp_path) -> None:
    path = write_mip_png(tmp_path / "new" / "sub-001_TOF_vessel_mip.png", *_column(), AFFINE)
    assert path == tmp_path / "new" / "sub-001_TOF_vessel_mip.png"
    written = np.round(imread(path)[..., :3] * 255).astype(np.uint8)
    assert np.array_equal(written, render_mip_picture(*_column(), AFFINE))
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


@pytest.mark.parametrize(
    "image, mask, affine, kwargs, match",
    [
        (np.zeros(SHAPE), np.zeros((20, 30, 11)), AFFINE, {}, "mask: expected shape"),
        (np.zeros(SHAPE), np.full(SHAPE, 2), AFFINE, {}, "binary mask"),
        (np.zeros((20, 30)), np.zeros((20, 30)), AFFINE, {}, "image: expected a 3D array"),
        (np.zeros(SHAPE), np.zeros(SHAPE), np.eye(3), {}, "affine"),
        (np.zeros(SHAPE), np.zeros(SHAPE), AFFINE, {"alpha": 1.5}, "alpha"),
    ],
)
def test_bad_inputs_raise(image, mask, affine, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        render_mip_picture(image, mask, affine, **kwargs)
