"""Picture of a synthetic subject: axial magnitude, phase and SWI at HR beside the native ×4 thick slices."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cmb_kd.synth.mimic_map import MIMIC_LABELS
from cmb_kd.synth.subject import SyntheticSubject

__all__ = ["plot_subject"]


def _choose_slice(subject: SyntheticSubject) -> int:
    if subject.lesions:
        z = np.array([lesion.centre[2] for lesion in subject.lesions])
        # the HR slice holding most CMB centres within ±3 mm
        counts = [(np.abs(z - zi) <= 3).sum() for zi in z]
        return int(round(z[int(np.argmax(counts))]))
    return int(np.argwhere(subject.brain_mask).mean(axis=0)[2])


def plot_subject(subject: SyntheticSubject, path: str | Path, factor: int | None = 4, z: int | None = None) -> Path:
    """Writes a PNG with magnitude, phase and SWI at HR (top) and native ×``factor`` LR (bottom).

    CMB centres are circled in red, calcifications in green, and vein outlines drawn in cyan.

    Args:
        subject: a simulated subject.
        path: output PNG path.
        factor: which thick-slice acquisition to show (must exist in ``subject.lr``); None: the thickest one.
        z: HR slice index (default: the slice through most CMBs).

    Returns:
        The written path.

    Raises:
        ValueError: if the subject has no acquisition at ``factor``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if factor is None:
        factor = max(lr.factor for lr in subject.lr.values())
    key = f"x{factor}"
    if key not in subject.lr:
        raise ValueError(f"plot_subject: the subject has no x{factor} acquisition; it has {sorted(subject.lr)}")
    lr = subject.lr[key]
    z = _choose_slice(subject) if z is None else int(z)
    zl = min(z // factor, lr.magnitude.shape[2] - 1)
    rows = [
        ("HR 1 mm", subject.magnitude[:, :, z], subject.phase[:, :, z], subject.swi[:, :, z], (z - 1.5, z + 1.5)),
        (
            f"native x{factor} ({factor} mm slices)",
            lr.magnitude[:, :, zl],
            lr.phase[:, :, zl],
            lr.swi[:, :, zl],
            (zl * factor - 0.5, (zl + 1) * factor - 0.5),
        ),
    ]
    fig, axes = plt.subplots(2, 3, figsize=(13, 9.5), facecolor="black")
    vmax = float(np.percentile(subject.magnitude[subject.brain_mask > 0], 99.5))
    veins = subject.mimic_label[:, :, z] == MIMIC_LABELS["vein"]
    for r, (title, mag, pha, sw, zrange) in enumerate(rows):
        for c, (name, img, kwargs) in enumerate(
            [
                ("magnitude", mag, {"cmap": "gray", "vmin": 0, "vmax": vmax}),
                ("phase (high-pass)", pha, {"cmap": "gray", "vmin": -1.0, "vmax": 1.0}),
                ("SWI", sw, {"cmap": "gray", "vmin": 0, "vmax": vmax}),
            ]
        ):
            ax = axes[r, c]
            ax.imshow(img.T, origin="lower", interpolation="nearest", **kwargs)
            ax.set_title(f"{title}: {name}", color="white", fontsize=10)
            ax.axis("off")
            if c == 0 and r == 0:
                ax.contour(veins.T, levels=[0.5], colors="cyan", linewidths=0.4)
            for lesion in subject.lesions:
                if zrange[0] <= lesion.centre[2] <= zrange[1]:
                    ax.add_patch(plt.Circle(lesion.centre[:2], 6, fill=False, color="red", linewidth=1.0))
            for mimic in subject.mimics:
                centre = mimic.get("centre_voxel")
                if mimic["type"] == "calcification" and centre and zrange[0] <= centre[2] <= zrange[1]:
                    ax.add_patch(plt.Circle(centre[:2], 6, fill=False, color="lime", linewidth=1.0))
    acq = subject.acquisition
    fig.suptitle(
        f"synthetic subject (seed {acq['seed']}): B0 {acq['field_strength_t']} T, "
        f"TE {acq['echo_time_s'] * 1e3:.1f} ms, "
        f"{len(subject.lesions)} CMBs (red), calcifications (green), veins (cyan, top left)",
        color="white",
    )
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80, facecolor="black")
    plt.close(fig)
    return path
