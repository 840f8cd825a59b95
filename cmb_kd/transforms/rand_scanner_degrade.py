"""Random scanner LR generation: a thick-slice acquisition drawn per sample, as scanners make it, on the device.

:class:`DegradeResolution` makes every LR input the same way: slabs of exactly ``f`` HR slices averaged with a box,
no gap, the in-plane resolution of the HR grid and no noise of its own. A student trained on that learns one
acquisition. :class:`RandScannerDegrade` keeps the curriculum's factor as the nominal slice thickness and draws
around it, per sample, what varies between scanners (the ranges of ``ScannerConfig`` in :mod:`cmb_kd.synth`):

- slices: thickness ``factor × U(thickness_range)`` HR voxels with a box, Gaussian or RF (windowed-sinc) profile
  (:func:`cmb_kd.synth.slice_weights`), a gap of ``U(gap_range)`` thicknesses with probability ``gap_prob``, and a
  random position of the slice stack;
- in-plane resolution, with probability ``kspace_prob``: the centred ``U(kspace_fraction_range)`` of k-space kept
  and zero-filled back, sharp (ringing), Hamming- or Fermi-windowed (:func:`cmb_kd.synth.kspace_filter`);
- noise, with probability ``noise_prob``: complex Gaussian noise on each acquired slice before the reconstruction
  filter, its magnitude taken after it (Rician), at a brain SNR of ``U(snr_range)``.

The slices are then cubic-interpolated back onto the HR grid, as :class:`DegradeResolution` and inference do.

Magnitude and noise need the true zero of the signal: inputs are standardised by the brain's median and scale
(:class:`BrainStandardisation`), so a raw 0 sits at a negative value that differs per scan. Pass it per sample as
``zero_level`` (recorded by ``BrainStandardisationd(zero_key=...)`` and passed on by
:class:`~cmb_kd.handlers.PrepareLowResolutionBatch`); the brain median then lies ``-zero_level`` above the zero and
the SNR is taken relative to it. Without it, the noise is added as Gaussian noise of standard deviation
``1 / SNR`` brain scales.

All draws come from the transform's own generator ``R`` (seeded with :meth:`set_random_state`, checkpointed by
:class:`~cmb_kd.handlers.RandomStates`); the noise tensors come from a device generator seeded from it, so a
seeded run is reproducible on the CPU and on the GPU.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from monai.transforms import Randomizable

from cmb_kd.checks import as_factor_triple, as_probability, as_range
from cmb_kd.synth.kspace import KSPACE_WINDOWS, kspace_filter
from cmb_kd.synth.scanner_config import check_choices
from cmb_kd.synth.slice_profile import SLICE_PROFILES, slice_centres, slice_weights
from cmb_kd.transforms.cubic import cubic_resample_axis

__all__ = ["RandScannerDegrade"]

_PAD = 8
"""In-plane reflection padding (voxels) around a patch before its k-space is truncated, so that the patch does not
ring against its own opposite edge."""


class RandScannerDegrade(Randomizable):
    """Drop-in for :class:`DegradeResolution` in :class:`~cmb_kd.handlers.PrepareLowResolutionBatch`: a random
    thick-slice acquisition per sample of a batch ``(B, C, H, W, D)``; see the module docstring.

    Args:
        factor: nominal slice thickness in HR voxels per spatial axis (an integer: the slice axis, the last);
            settable, as the curriculum sets it. An axis of factor 1 keeps its resolution.
        thickness_range: slice thickness as a multiple of the factor.
        gap_prob: probability of a gap between slices.
        gap_range: the gap as a fraction of the slice thickness.
        profiles: slice profiles to draw from (:data:`cmb_kd.synth.SLICE_PROFILES`).
        kspace_prob: probability of a lower in-plane resolution.
        kspace_fraction_range: fraction of the in-plane k-space kept (1: the HR resolution).
        windows: reconstruction windows to draw from (:data:`cmb_kd.synth.KSPACE_WINDOWS`).
        noise_prob: probability of added noise.
        snr_range: brain signal-to-noise ratio of the added noise, per acquired slice.

    Raises:
        ValueError: for a bad factor, range, probability or choice.
    """

    def __init__(
        self,
        factor: int | Sequence[int] = 4,
        *,
        thickness_range: Sequence[float] = (0.8, 1.25),
        gap_prob: float = 0.3,
        gap_range: Sequence[float] = (0.0, 0.25),
        profiles: Sequence[str] = SLICE_PROFILES,
        kspace_prob: float = 0.5,
        kspace_fraction_range: Sequence[float] = (0.65, 1.0),
        windows: Sequence[str] = KSPACE_WINDOWS,
        noise_prob: float = 0.8,
        snr_range: Sequence[float] = (10.0, 60.0),
    ) -> None:
        self.factor = factor
        self.thickness_range = as_range("thickness_range", thickness_range, 0.25, 4.0)
        self.gap_prob = as_probability("gap_prob", gap_prob)
        self.gap_range = as_range("gap_range", gap_range, 0.0, 1.0)
        self.profiles = tuple(profiles)
        check_choices(type(self).__name__, "profiles", self.profiles, SLICE_PROFILES)
        self.kspace_prob = as_probability("kspace_prob", kspace_prob)
        self.kspace_fraction_range = as_range("kspace_fraction_range", kspace_fraction_range, 0.1, 1.0)
        self.windows = tuple(windows)
        check_choices(type(self).__name__, "windows", self.windows, KSPACE_WINDOWS)
        self.noise_prob = as_probability("noise_prob", noise_prob)
        self.snr_range = as_range("snr_range", snr_range, 1e-3, 1e6)

    @property
    def factor(self) -> tuple[int, int, int]:
        """Nominal slice thickness in HR voxels per spatial axis."""
        return self._factor

    @factor.setter
    def factor(self, value: int | Sequence[int]) -> None:
        self._factor = as_factor_triple(value, "factor")

    def randomize(self, data: None = None) -> dict:
        """Draw one acquisition for a sample; returns its parameters."""
        axes = {}
        for axis, f in enumerate(self.factor):
            if f == 1:
                continue
            thickness = f * self.R.uniform(*self.thickness_range)
            gap = thickness * self.R.uniform(*self.gap_range) if self.R.rand() < self.gap_prob else 0.0
            profile = str(self.R.choice(self.profiles))
            axes[axis] = {"thickness": thickness, "gap": gap, "profile": profile, "offset": self.R.uniform()}
        kspace = None
        if self.R.rand() < self.kspace_prob:
            fraction = self.R.uniform(*self.kspace_fraction_range)
            kspace = {"fraction": fraction, "window": str(self.R.choice(self.windows))}
        snr = self.R.uniform(*self.snr_range) if self.R.rand() < self.noise_prob else None
        return {"axes": axes, "kspace": kspace, "snr": snr, "seed": int(self.R.randint(0, 2**31 - 1))}

    def __call__(self, img: torch.Tensor, zero_level: torch.Tensor | Sequence[float] | None = None) -> torch.Tensor:
        """Degrade each sample of ``img`` ``(B, C, H, W, D)``.

        Args:
            img: standardised HR batch (floating point).
            zero_level: per sample, the standardised value of a raw 0 (negative), or ``None``.

        Returns:
            The LR batch on the HR grid, shape and dtype of ``img``.

        Raises:
            ValueError: an input that is not a floating ``(B, C, H, W, D)`` tensor, or zero levels that are not one
                negative number per sample.
        """
        if not isinstance(img, torch.Tensor) or img.ndim != 5 or not img.is_floating_point():
            raise ValueError(f"img: expected a floating (B, C, H, W, D) tensor, got {getattr(img, 'shape', img)!r}")
        zeros = None
        if zero_level is not None:
            zeros = torch.as_tensor(zero_level, dtype=torch.float64).flatten()
            if zeros.numel() != img.shape[0] or not bool((zeros < 0).all()):
                raise ValueError(
                    f"zero_level: expected one negative standardised zero per sample ({img.shape[0]}), got "
                    f"{zeros.tolist()}"
                )
        out = [
            self._degrade_one(img[b], self.randomize(), None if zeros is None else float(zeros[b]))
            for b in range(img.shape[0])
        ]
        return torch.stack(out).to(img.dtype)

    def _degrade_one(self, x: torch.Tensor, draw: dict, zero: float | None) -> torch.Tensor:
        """One sample ``(C, H, W, D)``: slices, in-plane filter with noise, magnitude, back onto the HR grid."""
        work = x.to(torch.float32)
        raw = work - zero if zero is not None else work  # zero-referenced magnitude when the zero is known
        axes = draw["axes"]
        samples = {}
        for axis, acq in axes.items():
            n = work.shape[1 + axis]
            thickness = min(acq["thickness"], float(n))  # a patch thinner than one slice is one slice
            centres = slice_centres(n, 1.0, thickness, acq["gap"], acq["offset"])
            weights = slice_weights(acq["profile"], centres, n, 1.0, thickness)
            weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)  # a patch edge is not the field edge
            w = torch.as_tensor(weights, device=work.device)
            raw = torch.movedim(torch.tensordot(raw, w, dims=([1 + axis], [1])), -1, 1 + axis)
            step = thickness + acq["gap"]
            samples[axis] = (torch.arange(n, dtype=torch.float64) - float(centres[0])) / step
        if draw["snr"] is not None or draw["kspace"] is not None:
            raw = self._acquire_in_plane(raw, draw, zero)
        for axis, positions in samples.items():
            raw = cubic_resample_axis(raw, 1 + axis, positions.to(raw.device))
        return raw + zero if zero is not None else raw

    def _acquire_in_plane(self, raw: torch.Tensor, draw: dict, zero: float | None) -> torch.Tensor:
        """Noise on the acquired slices, the in-plane reconstruction filter, then the magnitude.

        With a known zero the noise is complex and the magnitude is taken (Rician); without, it is real Gaussian noise
        of ``1 / SNR`` brain scales and the real part is kept.
        """
        h, w = raw.shape[1], raw.shape[2]
        pad_h, pad_w = min(_PAD, h - 1), min(_PAD, w - 1)
        padded = F.pad(raw.permute(0, 3, 1, 2), (pad_w, pad_w, pad_h, pad_h), mode="reflect").permute(0, 2, 3, 1)
        signal = padded.to(torch.complex64)
        if draw["snr"] is not None:
            generator = torch.Generator(device=raw.device).manual_seed(draw["seed"])
            sigma = (1.0 if zero is None else -zero) / draw["snr"]  # the brain median lies -zero above the true zero
            noise = torch.randn((2, *signal.shape), generator=generator, device=raw.device) * sigma
            signal = signal + torch.complex(noise[0], noise[1] if zero is not None else torch.zeros_like(noise[1]))
        if draw["kspace"] is not None:
            matrix = signal.shape[1:3]
            kept = tuple(max(2, int(round(m * draw["kspace"]["fraction"]))) for m in matrix)
            small = kspace_filter(kept, draw["kspace"]["window"])
            full = np.zeros(matrix, np.float32)
            lo = tuple(m // 2 - k // 2 for m, k in zip(matrix, kept))  # k = 0 on k = 0 (fftshift order)
            full[lo[0] : lo[0] + kept[0], lo[1] : lo[1] + kept[1]] = small
            k_filter = torch.as_tensor(np.fft.ifftshift(full), device=raw.device)
            spectrum = torch.fft.fft2(signal, dim=(1, 2)) * k_filter[:, :, None]
            signal = torch.fft.ifft2(spectrum, dim=(1, 2))
        magnitude = signal.abs() if zero is not None else signal.real
        return magnitude[:, pad_h : pad_h + h, pad_w : pad_w + w].contiguous()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(factor={self.factor})"
