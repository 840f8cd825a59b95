"""Picture of a synthetic TOF MRA subject: central slices, maximum intensity projections and its vessel label."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cmb_kd.synth.mra_subject import MRASubject

__all__ = ["plot_mra_subject"]

#: Views: name, projected axis, the two axes shown (horizontal, vertical).
_VIEWS = (("axial", 2, (0, 1)), ("coronal", 1, (0, 2)), ("sagittal", 0, (1, 2)))


def plot_mra_subject(subject: MRASubject, path: str | Path, dpi: int = 60) -> Path:
    """Writes a PNG of the subject in axial, coronal and sagittal views: a central slice of the image (top), the
    maximum intensity projection (MIP) of the image inside the brain and the vessel label (middle; the scalp's
    fat, often brighter than distal vessels, left out), and the MIP of the vessel label (bottom), with voxels at
    their true aspect (0.5×0.5×0.8 mm by default).

    Args:
        subject: a simulated MRA subject.
        path: output PNG path.
        dpi: resolution of the figure.

    Returns:
        The written path.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spacing = np.abs(np.diag(subject.affine)[:3])
    extent = np.array(subject.image.shape) * spacing
    widths = [extent[h] for _, _, (h, _) in _VIEWS]
    fig, axes = plt.subplots(3, 3, figsize=(14, 12), facecolor="black", gridspec_kw={"width_ratios": widths})
    inside = subject.image * ((subject.brain_mask > 0) | (subject.label > 0))
    vmax = float(np.percentile(inside[inside > 0], 99.9)) if inside.any() else 1.0
    for column, (name, axis, (h, v)) in enumerate(_VIEWS):
        box = (0.0, extent[h], 0.0, extent[v])
        centre = np.take(subject.image, subject.image.shape[axis] // 2, axis=axis)
        rows = (
            (f"{name} slice", centre, {"cmap": "gray", "vmin": 0.0, "vmax": vmax}),
            (f"{name} MIP, brain", inside.max(axis=axis), {"cmap": "gray", "vmin": 0.0, "vmax": vmax}),
            (f"{name} MIP, vessel label", subject.label.max(axis=axis), {"cmap": "hot", "vmin": 0}),
        )
        for row, (title, picture, kwargs) in enumerate(rows):
            ax = axes[row, column]
            ax.imshow(picture.T, origin="lower", extent=box, interpolation="nearest", **kwargs)
            ax.set_title(title, color="white", fontsize=10)
            ax.axis("off")
    physics, tree = subject.record_data["physics"], subject.record_data["tree"]
    variants = ", ".join(f"{k} {v}" for k, v in tree["variants"].items()) or "no variant"
    fig.suptitle(
        f"synthetic TOF MRA (seed {subject.record_data['seed']}): B0 {physics['field_strength_t']} T, "
        f"TR {physics['repetition_time_s'] * 1e3:.0f} ms, flip {physics['flip_angle_degrees']:.0f}°, "
        f"SNR {physics['snr']:.0f}; {tree['n_segments']} vessel segments; {variants}",
        color="white",
        fontsize=10,
    )
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, facecolor="black")
    plt.close(fig)
    return path
