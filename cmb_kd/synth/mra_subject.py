"""One synthetic TOF MRA subject: pose, arterial tree, background, inflow signal, acquisition and vessel label.

:func:`simulate_mra_subject` draws from four independent streams of the subject seed, so that each part of a
subject depends only on its own settings: the acquisition physics, the head pose, the vessel tree and the noise
(bias field and complex noise). The tree is drawn in template (MNI) mm and posed with the head; the label is made
on the image's own grid (0.5×0.5×0.8 mm by default, like TubeTK).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cmb_kd.synth.mra_anatomy import brain_distance, draw_pose, pose_template
from cmb_kd.synth.mra_config import MRAConfig
from cmb_kd.synth.mra_signal import acquire_tof, background_signal, draw_tof_physics, inflow_signals, tissue_signals
from cmb_kd.synth.mra_vessels import draw_vessel_tree, rasterise_tree, vessel_label
from cmb_kd.synth.vessel_tree import VesselTree

__all__ = ["MRASubject", "MRA_STREAMS", "simulate_mra_subject"]

#: The independent random streams of a subject seed, in spawn order: ``SeedSequence(seed).spawn(4)``.
MRA_STREAMS = ("physics", "pose", "tree", "noise")


@dataclass
class MRASubject:
    """A simulated TOF MRA subject on its grid.

    Attributes:
        affine: RAS voxel-to-mm matrix.
        image: stored TOF magnitude (float32, X×Y×Z; values of the drawn value type).
        label: uint8 vessel label.
        brain_mask: uint8 brain mask (template brain fraction >= 0.5).
        fraction: float32 vessel volume fraction.
        tree: the arterial tree in the grid's mm (world coordinates of ``affine``).
        inflow_time: seconds since the blood entered, at every point of every segment.
        inflow: blood signal relative to fresh blood at every point of every segment.
        record_data: drawn physics, pose and tree parameters.
        clean: the noise-free signal (relative to fresh blood, before bias and scale).
    """

    affine: np.ndarray
    image: np.ndarray
    label: np.ndarray
    brain_mask: np.ndarray
    fraction: np.ndarray = field(repr=False)
    tree: VesselTree = field(repr=False)
    inflow_time: list[np.ndarray] = field(repr=False)
    inflow: list[np.ndarray] = field(repr=False)
    record_data: dict = field(repr=False)
    clean: np.ndarray = field(repr=False)

    def record(self, step_mm: float = 1.0) -> dict:
        """JSON-serialisable description: the drawn physics and pose, the tree's parameters and its segments
        (points and radii about every ``step_mm``, with the blood's travel time and signal at both ends)."""
        segments = self.tree.record(step_mm)
        for segment, time, signal in zip(segments, self.inflow_time, self.inflow, strict=True):
            segment["inflow_time_s"] = [round(float(time[0]), 4), round(float(time[-1]), 4)]
            segment["inflow_signal"] = [round(float(signal[0]), 4), round(float(signal[-1]), 4)]
        return {**self.record_data, "tree": {**self.record_data["tree"], "segments": segments}}


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in values.items()}


def simulate_mra_subject(config: MRAConfig | None = None, seed: int = 0) -> MRASubject:
    """Simulates one TOF MRA subject; the same ``(config, seed)`` reproduces it bit for bit.

    Args:
        config: cohort settings (default :class:`~cmb_kd.synth.mra_config.MRAConfig()`, the TubeTK grid).
        seed: subject seed.

    Returns:
        The simulated subject.
    """
    config = config or MRAConfig()
    streams = dict(zip(MRA_STREAMS, (np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(4))))
    physics = draw_tof_physics(streams["physics"], config)
    pose = draw_pose(streams["pose"], config.rotation_degrees, config.scale_range, config.translation_mm)
    template_tree, tree_record = draw_vessel_tree(streams["tree"], config, brain_distance())
    tree = template_tree.transformed(pose.linear, pose.offset, pose.radius_scale)
    shape = tuple(int(n) for n in config.shape)
    anatomy = pose_template(shape, config.spacing, config.centre_mm, pose)
    times, signals = inflow_signals(tree, physics)
    fraction, blood = rasterise_tree(tree, signals, anatomy.affine, shape, config.samples)
    label = vessel_label(fraction, tree, anatomy.affine, config.label_fraction, config.label_centrelines)
    background = background_signal(anatomy, physics, float(min(config.spacing)))
    clean = background * (1.0 - fraction) + blood
    image, scan = acquire_tof(clean, anatomy, physics, streams["noise"])
    record = {
        "seed": int(seed),
        "grid": {"shape": list(shape), "spacing_mm": list(config.spacing), "centre_mm": list(config.centre_mm)},
        "physics": {**physics.record(), **scan, "tissue_signal": _rounded(tissue_signals(physics))},
        "pose": pose.record(),
        "tree": tree_record,
        "label": {"fraction": config.label_fraction, "centrelines": config.label_centrelines,
                  "vessel_voxels": int(label.sum())},
    }  # fmt: skip
    return MRASubject(
        affine=anatomy.affine,
        image=image,
        label=label,
        brain_mask=(anatomy.brain >= 0.5).astype(np.uint8),
        fraction=fraction,
        tree=tree,
        inflow_time=times,
        inflow=signals,
        record_data=record,
        clean=clean,
    )
