"""The noise-free complex HR signal of a subject, with and without its lesions, under the receive bias."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cmb_kd.synth.acquisition import bias_field
from cmb_kd.synth.anatomy import Anatomy
from cmb_kd.synth.config import SynthConfig
from cmb_kd.synth.dipole import dipole_field
from cmb_kd.synth.extra_mimics import ExtraMimics, mix_thin_veins
from cmb_kd.synth.head import HeadLayers
from cmb_kd.synth.lesions import Lesion, lesion_signal_patch
from cmb_kd.synth.signal import gre_signal
from cmb_kd.synth.tissue import Tissue
from cmb_kd.synth.tissue_maps import property_maps, tissue_fractions

__all__ = ["INTENSITY_SCALE", "NoiseFreeSignals", "noise_free_signals"]

#: Magnitude scale: a voxel of proton density 1 with no decay has this intensity.
INTENSITY_SCALE = 1000.0
#: Sub-voxels per axis for tiny CMBs (their sources are a fraction of a voxel); the patch limit may lower it.
_TINY_SUPERSAMPLE = 8


@dataclass
class NoiseFreeSignals:
    """Noise-free complex HR signals with and without lesions, the receive bias and intensity scale applied.

    Attributes:
        clean: complex64 signal with the lesions (X, Y, Z).
        background: complex64 signal without them (X, Y, Z).
        decay_only: magnitude without field effects, ``ρ·e^(−R2*·TE)``, before bias and scale (X, Y, Z).
        bias: the receive bias field (X, Y, Z).
        boxes: the HR box of each lesion, in placement order.
        deltas: the signal each lesion adds inside its box, before bias and scale (kept only with clusters on).
    """

    clean: np.ndarray
    background: np.ndarray
    decay_only: np.ndarray
    bias: np.ndarray
    boxes: list[tuple[slice, slice, slice]]
    deltas: list[np.ndarray]

    def take_out(self, drop: set[int]) -> None:
        """Takes lesions out of ``clean`` and of ``boxes`` and ``deltas``, in place.

        Args:
            drop: indices (in placement order) of the lesions to take out.

        Raises:
            ValueError: if the lesion differences were not kept (clusters off) or an index is out of range.
        """
        if len(self.deltas) != len(self.boxes):
            raise ValueError(
                f"deltas: {len(self.deltas)} lesion differences kept for {len(self.boxes)} lesions; they are kept "
                "only when clusters are switched on"
            )
        if any(not 0 <= i < len(self.boxes) for i in drop):
            raise ValueError(f"drop: expected lesion indices in [0, {len(self.boxes)}), got {sorted(drop)}")
        for i in sorted(drop):
            self.clean[self.boxes[i]] -= self.deltas[i] * self.bias[self.boxes[i]] * np.float32(INTENSITY_SCALE)
        self.boxes, self.deltas = (
            [item for i, item in enumerate(sequence) if i not in drop] for sequence in (self.boxes, self.deltas)
        )


def _tissue_signal(
    anatomy: Anatomy,
    layers: HeadLayers,
    vein: np.ndarray,
    extra: ExtraMimics,
    tissues: dict[str, Tissue],
    b0: float,
    te: float,
    spacing: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The lesion-free GRE signal, and the maps the lesions are simulated in.

    Returns:
        ``(background, decay_only, pd, r2s, field_ut)``: complex signal, magnitude without field effects,
        proton density, R2* and field (µT), all (X, Y, Z).
    """
    fractions, sinus = tissue_fractions(anatomy, layers, vein, extra)
    pd, r2s, chi = property_maps(anatomy, fractions, sinus, tissues, extra.air_scale)
    del fractions, sinus
    field_ut = dipole_field(chi, spacing, b0=b0, pad=24)
    del chi
    background = gre_signal(pd, r2s, field_ut, te)
    decay_only = pd * np.exp(-r2s * np.float32(te))
    if extra.thin_fraction is not None:
        mix_thin_veins(background, pd, r2s, extra, tissues["vein"], te)
    return background, decay_only, pd, r2s, field_ut


def noise_free_signals(
    rng: np.random.Generator,
    config: SynthConfig,
    anatomy: Anatomy,
    layers: HeadLayers,
    vein: np.ndarray,
    extra: ExtraMimics,
    placed: list[Lesion],
    tissues: dict[str, Tissue],
    b0: float,
    te: float,
) -> NoiseFreeSignals:
    """The signals with and without lesions, under a receive bias drawn from ``rng``, scaled to intensity units.

    The tissue signal is the GRE signal of the tissue maps in the field of their susceptibility; each lesion
    adds the difference of its patch simulated with and without it (tiny CMBs with at least
    ``_TINY_SUPERSAMPLE`` sub-voxels per axis).

    Args:
        rng: the subject's main random stream (draws the bias field only).
        config: cohort settings.
        anatomy: the subject's anatomy.
        layers: the layers around the brain.
        vein: vein volume fraction (X, Y, Z).
        extra: mimics of randomised physics.
        placed: the placed lesions.
        tissues: the subject's tissue table.
        b0: field strength in tesla.
        te: echo time in seconds.

    Returns:
        The signals; the lesion differences are kept when clusters are switched on.
    """
    spacing, keep_deltas = float(config.spacing), config.physics_randomised["cluster"]
    background, decay_only, pd, r2s, field_ut = _tissue_signal(anatomy, layers, vein, extra, tissues, b0, te, spacing)
    clean = background.copy()
    boxes, deltas = [], []
    for lesion in placed:
        t = tissues[lesion.kind]
        supersample = max(config.supersample, _TINY_SUPERSAMPLE) if lesion.extra.get("tiny") else config.supersample
        box, with_lesion, without = lesion_signal_patch(
            lesion, pd, r2s, field_ut, t.proton_density, t.r2star_30, b0, te, spacing, supersample
        )
        delta = with_lesion - without
        clean[box] += delta
        boxes.append(box)
        if keep_deltas:
            deltas.append(delta)
    del pd, r2s, field_ut
    bias = bias_field(tuple(int(n) for n in config.shape), rng, config.bias_amplitude)
    clean *= bias
    background *= bias
    clean *= np.float32(INTENSITY_SCALE)
    background *= np.float32(INTENSITY_SCALE)
    return NoiseFreeSignals(clean, background, decay_only, bias, boxes, deltas)
