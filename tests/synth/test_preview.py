from types import SimpleNamespace

import numpy as np
import pytest

from cmb_kd.synth.preview import plot_subject


def _subject():
    rng = np.random.default_rng(0)
    shape = (24, 24, 16)
    images = {name: rng.random(shape).astype(np.float32) for name in ("magnitude", "phase", "swi")}
    lr = SimpleNamespace(factor=4, **{name: image.reshape(24, 24, 4, 4).mean(axis=3) for name, image in images.items()})
    mimic = np.zeros(shape, np.uint8)
    mimic[5:8, 5, :] = 1
    return SimpleNamespace(
        **images,
        brain_mask=np.ones(shape, np.uint8),
        mimic_label=mimic,
        lr={"x4": lr},
        lesions=[SimpleNamespace(centre=np.array([12.0, 12.0, 9.0]))],
        mimics=[{"type": "calcification", "centre_voxel": [4.0, 4.0, 9.0]}, {"type": "vein", "kind": "cortical"}],
        acquisition={"seed": 3, "field_strength_t": 3.0, "echo_time_s": 0.02},
    )


@pytest.mark.parametrize("factor, z", [(4, None), (None, 3)])
def test_writes_a_two_by_three_png(tmp_path, factor, z):
    import matplotlib.image

    path = plot_subject(_subject(), tmp_path / "nested" / "preview.png", factor=factor, z=z)
    assert path == tmp_path / "nested" / "preview.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width = matplotlib.image.imread(path).shape[:2]
    assert (height, width) == (760, 1040)  # 13 x 9.5 inches at 80 dpi


def test_missing_factor_names_the_acquisitions(tmp_path):
    with pytest.raises(ValueError, match=r"no x2 acquisition; it has \['x4'\]"):
        plot_subject(_subject(), tmp_path / "preview.png", factor=2)
    assert not (tmp_path / "preview.png").exists()
