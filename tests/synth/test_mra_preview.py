from types import SimpleNamespace

import numpy as np

from cmb_kd.synth.mra_preview import plot_mra_subject


def _subject():
    rng = np.random.default_rng(0)
    shape = (40, 40, 24)
    label = np.zeros(shape, np.uint8)
    label[10:30, 20, 12] = 1
    return SimpleNamespace(
        affine=np.diag([0.5, 0.5, 0.8, 1.0]),
        image=(rng.random(shape) + 5.0 * label).astype(np.float32),
        label=label,
        brain_mask=np.ones(shape, np.uint8),
        record_data={
            "seed": 7,
            "physics": {"field_strength_t": 3.0, "repetition_time_s": 0.025, "flip_angle_degrees": 20.0, "snr": 20.0},
            "tree": {"n_segments": 1, "variants": {"anterior_communicating": "absent"}},
        },
    )


def test_writes_slices_projections_and_label_in_three_views(tmp_path):
    import matplotlib.image

    path = plot_mra_subject(_subject(), tmp_path / "nested" / "preview.png")
    assert path == tmp_path / "nested" / "preview.png" and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert matplotlib.image.imread(path).shape[:2] == (720, 840)  # 14 x 12 inches at 60 dpi
