"""A MONAI ``prepare_batch`` that makes the student's LR input from the HR batch on the training device."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from monai.engines.utils import PrepareBatch
from monai.utils import MAX_SEED, CommonKeys

from cmb_kd.checks import as_factor_triple
from cmb_kd.transforms import DegradeResolution

__all__ = ["PrepareLowResolutionBatch"]


class PrepareLowResolutionBatch(PrepareBatch):
    """Moves a batch to the device and degrades its HR image into the LR network input.

    PLKD makes the student's input by thick-slice down-sampling of the HR patch followed by bicubic up-sampling
    (``000``, Sec. 2.2). Running this step here, inside the trainer's iteration, puts it on the training device
    after batching and makes the curriculum exact: a factor set by
    :class:`~cmb_kd.handlers.ProgressiveResolutionHandler` applies from the very next iteration, whatever the
    ``DataLoader`` workers or prefetch buffers hold, because the dataset only ever yields HR patches.

    For each batch: ``batchdata[image_key]`` (HR, ``(B, C, H, W, D)``) is moved to ``device`` and stored back
    under ``hr_key`` (where :class:`~cmb_kd.handlers.DistillationHandler` finds the teacher's input); the LR
    image ``degrade(hr)`` (same shape), optionally passed through ``lr_transform`` (e.g. Gaussian noise on the
    LR input only), is returned as the network input with ``batchdata[label_key]`` as the target.

    Native acquisitions: degrading a magnitude image is not how a scanner makes a thick slice (it averages the
    complex signal over the slab, so phase dispersion darkens and widens a CMB further). When the batch also holds
    native thick-slice scans of the same subjects on the HR grid (``native_keys``: factor to batch key, e.g.
    ``{4: "image_lr_x4"}``, patches cropped with the HR image, see ``configs/native_lr.json``), each sample of the
    batch takes the native scan of the current factor instead of the degraded one with probability
    ``native_prob``. A factor without a native key is always degraded.

    Random acquisitions: ``degrade`` may be a :class:`~cmb_kd.transforms.RandScannerDegrade`, which draws slice
    profile, thickness, gap, in-plane resolution and noise per sample. Its magnitude noise needs the standardised
    value of a raw zero of each sample: name the batch key that holds it (``zero_key``, recorded by
    ``BrainStandardisationd(zero_key=...)``) and it is passed on as ``degrade(hr, zero_level)``.

    Random draws: ``lr_transform`` (e.g. MONAI's ``RandGaussianNoise``) and a random ``degrade`` are seeded here,
    when the object is built, from PyTorch's global generator, as MONAI's ``DataLoader`` seeds the dataset's
    transforms; so after ``monai.utils.set_determinism(seed)`` two runs draw the same noise (``set_determinism``
    alone does not reach a transform's private generator). :meth:`set_random_state` seeds them explicitly. The
    native-scan choice draws from PyTorch's global generator.

    Args:
        degrade: the degradation; a :class:`~cmb_kd.transforms.DegradeResolution` or an int / per-axis factors
            to build one. Its ``factor`` property is what the curriculum sets.
        image_key: batch key of the HR image.
        label_key: batch key of the label (``None``: no target).
        hr_key: batch key under which the HR image on the device is stored for the teacher.
        lr_transform: optional callable applied to the LR batch tensor.
        native_keys: factor (an integer for the slice axis, or three per-axis integers; string keys of a JSON
            config are read as integers) to the batch key of the native scan at that factor.
        native_prob: probability that a sample takes its native scan when there is one for the current factor.
        zero_key: batch key of the per-sample standardised zero passed to ``degrade`` (``None``: not passed).

    Raises:
        TypeError: ``degrade`` has no settable ``factor``, or ``lr_transform`` is not callable.
        ValueError: a bad factor in ``native_keys`` or ``native_prob`` outside [0, 1].
    """

    def __init__(
        self,
        degrade: DegradeResolution | int | Sequence[int] = 4,
        *,
        image_key: str = CommonKeys.IMAGE,
        label_key: str | None = CommonKeys.LABEL,
        hr_key: str = "image_hr",
        lr_transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
        native_keys: Mapping[int | str | Sequence[int], str] | None = None,
        native_prob: float = 0.5,
        zero_key: str | None = None,
    ) -> None:
        if isinstance(degrade, (int, Sequence)):
            degrade = DegradeResolution(degrade)
        if not hasattr(degrade, "factor") or not callable(degrade):
            raise TypeError(f"degrade: expected a DegradeResolution (a callable with a factor), got {type(degrade)}")
        if lr_transform is not None and not callable(lr_transform):
            raise TypeError(f"lr_transform: expected a callable or None, got {type(lr_transform).__name__}")
        self.degrade = degrade
        self.image_key = str(image_key)
        self.label_key = None if label_key is None else str(label_key)
        self.hr_key = str(hr_key)
        self.lr_transform = lr_transform
        self.zero_key = None if zero_key is None else str(zero_key)
        if hasattr(lr_transform, "set_random_state") or hasattr(degrade, "set_random_state"):
            self.set_random_state(seed=int(torch.empty((), dtype=torch.int64).random_().item()) % MAX_SEED)
        if not 0.0 <= float(native_prob) <= 1.0:
            raise ValueError(f"native_prob: expected a probability in [0, 1], got {native_prob!r}.")
        self.native_prob = float(native_prob)
        self.native_keys = {
            as_factor_triple(int(f) if isinstance(f, str) and f.isdigit() else f, "native_keys"): str(key)
            for f, key in (native_keys or {}).items()
        }

    def set_random_state(
        self, seed: int | None = None, state: np.random.RandomState | None = None
    ) -> PrepareLowResolutionBatch:
        """Seed ``lr_transform`` and ``degrade`` (those with ``set_random_state``, as MONAI's random transforms have);
        a ``seed`` gives each its own stream. Returns self."""
        for offset, member in enumerate((self.lr_transform, self.degrade)):
            if hasattr(member, "set_random_state"):
                member.set_random_state(seed=None if seed is None else (seed + offset) % MAX_SEED, state=state)
        return self

    @property
    def factor(self) -> tuple[int, int, int]:
        """The degradation factor per axis; settable (validated by the degradation)."""
        return self.degrade.factor

    @factor.setter
    def factor(self, value: int | Sequence[int]) -> None:
        self.degrade.factor = value

    def __call__(
        self,
        batchdata: dict[str, torch.Tensor],
        device: str | torch.device | None = None,
        non_blocking: bool = False,
        **kwargs: Any,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return ``(lr_image, label)`` on ``device`` and store the HR image under ``hr_key``.

        Raises:
            KeyError: ``image_key`` (or ``label_key``) is not in the batch; the available keys are listed.
        """
        if not isinstance(batchdata, dict) or self.image_key not in batchdata:
            keys = sorted(batchdata) if isinstance(batchdata, dict) else type(batchdata).__name__
            raise KeyError(f"PrepareLowResolutionBatch: batch has no image key {self.image_key!r}; got {keys}.")
        hr = batchdata[self.image_key].to(device=device, non_blocking=non_blocking, **kwargs)
        batchdata[self.hr_key] = hr
        if self.zero_key is None:
            degraded = self.degrade(hr)
        elif self.zero_key not in batchdata:
            raise KeyError(
                f"PrepareLowResolutionBatch: batch has no zero-level key {self.zero_key!r}; got {sorted(batchdata)}."
            )
        else:
            degraded = self.degrade(hr, batchdata[self.zero_key])
        lr = self._with_native(degraded, batchdata, device, non_blocking, **kwargs)
        if self.lr_transform is not None:
            lr = self.lr_transform(lr)
        label = None
        if self.label_key is not None:
            if self.label_key not in batchdata:
                raise KeyError(
                    f"PrepareLowResolutionBatch: batch has no label key {self.label_key!r}; got {sorted(batchdata)}."
                )
            label = batchdata[self.label_key].to(device=device, non_blocking=non_blocking, **kwargs)
        return lr, label

    def _with_native(
        self, lr: torch.Tensor, batchdata: dict[str, torch.Tensor], device: Any, non_blocking: bool, **kwargs: Any
    ) -> torch.Tensor:
        """``lr`` with each sample replaced, with probability ``native_prob``, by the native scan of the factor."""
        key = self.native_keys.get(as_factor_triple(self.factor))
        if key is None or self.native_prob == 0.0:
            return lr
        if key not in batchdata:
            raise KeyError(
                f"PrepareLowResolutionBatch: batch has no native scan key {key!r} for factor {self.factor}; "
                f"got {sorted(batchdata)}."
            )
        native = batchdata[key].to(device=device, non_blocking=non_blocking, **kwargs)
        if native.shape != lr.shape:
            raise ValueError(
                f"PrepareLowResolutionBatch: native scan {key!r} has shape {tuple(native.shape)}; expected the HR "
                f"batch's {tuple(lr.shape)} (native scans resampled to the HR grid and cropped with it)."
            )
        take = torch.rand(lr.shape[0], device=lr.device) < self.native_prob
        return torch.where(take.view(-1, *([1] * (lr.ndim - 1))), native.to(lr.dtype), lr)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(factor={self.factor}, image_key={self.image_key!r}, hr_key={self.hr_key!r})"
