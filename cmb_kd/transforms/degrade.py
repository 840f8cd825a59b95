"""LR generation: slab-average the HR image, then cubic up-sample it back onto the HR grid.

From PLKD (``000_2429e8a773e1f797``, "Low Resolution MRI Generation"): the HR image is down-sampled by x2, x4 or x8
(thick slices) and up-sampled back to its original size with bicubic interpolation, giving the student's LR input on
the HR grid.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import torch
from monai.config import KeysCollection
from monai.config.type_definitions import NdarrayOrTensor
from monai.data import MetaTensor
from monai.transforms import MapTransform, Transform
from monai.utils import TransformBackends, convert_to_dst_type, convert_to_tensor

from cmb_kd.checks import as_factor_triple, check_finite, check_ndim, output_keys_for, require_keys
from cmb_kd.transforms.cubic import aligned_positions, cubic_resample_axis, slab_average

__all__ = ["DegradeResolution", "DegradeResolutiond", "degrade_resolution"]

DEGRADE_FACTOR_META_KEY = "degrade_factor"


def degrade_resolution(x: torch.Tensor, factor: tuple[int, int, int], name: str = "img") -> torch.Tensor:
    """Slab-average then cubic up-sample the last three axes of ``x`` (pure torch, device of ``x``).

    Along an axis with factor ``f``, slab ``k`` averages HR samples ``k*f .. k*f+f-1`` and sits at HR coordinate
    ``k*f + (f-1)/2``; the up-sampled value at HR index ``z`` reads the slabs at coordinate ``(z - (f-1)/2) / f``.

    Args:
        x: floating tensor ``(..., H, W, D)``.
        factor: integer factor per spatial axis; each must divide the matching extent.
        name: name used in error messages.

    Returns:
        Tensor with the shape and dtype of ``x``.

    Raises:
        ValueError: if a factor does not divide the extent of its axis.
    """
    spatial = x.shape[-3:]
    for axis, (f, n) in enumerate(zip(factor, spatial)):
        if n % f:
            raise ValueError(
                f"{name}: factor {f} does not divide the extent {n} of spatial axis {axis} (shape {tuple(x.shape)}); "
                f"expected an extent that is a multiple of {f} (crop or pad first)"
            )
    out = x
    for axis, (f, n) in enumerate(zip(factor, spatial)):
        if f == 1:
            continue
        dim = x.ndim - 3 + axis
        low = slab_average(out, dim, f)
        positions = aligned_positions(n, 1.0 / f, -(f - 1) / (2.0 * f), device=x.device, dtype=x.dtype)
        out = cubic_resample_axis(low, dim, positions)
    return out


class DegradeResolution(Transform):
    """Make the LR input from an HR image on the HR grid: slab averaging, then cubic up-sampling.

    Works on a channel-first volume ``(C, H, W, D)`` or a batch ``(B, C, H, W, D)`` (slice axis last), as a
    MetaTensor or a plain tensor, on CPU or CUDA without leaving the device. The output has the input's shape,
    dtype, device and affine; a MetaTensor output records the factor under ``meta["degrade_factor"]``.

    The factor is an attribute with a validating setter, so a training handler can change it between curriculum
    stages (x2 -> x4 -> x8).

    Args:
        factor: an integer (applied to the slice axis only, as thick slices) or one integer per spatial axis.
            1 leaves an axis untouched; factor 1 on every axis is the identity.

    Raises:
        ValueError: for a bad factor, wrong dimensionality, NaN/Inf values, or a factor that does not divide the
            extent of its axis.
    """

    backend = [TransformBackends.TORCH]

    def __init__(self, factor: int | Sequence[int] = 4) -> None:
        self._factor = as_factor_triple(factor)

    @property
    def factor(self) -> tuple[int, int, int]:
        """Per-axis integer factor ``(fx, fy, fz)``."""
        return self._factor

    @factor.setter
    def factor(self, value: int | Sequence[int]) -> None:
        self._factor = as_factor_triple(value)

    def __call__(self, img: NdarrayOrTensor, factor: int | Sequence[int] | None = None) -> NdarrayOrTensor:
        """Degrade ``img``.

        Args:
            img: ``(C, H, W, D)`` or ``(B, C, H, W, D)`` image (floating; integer images are rounded back).
            factor: overrides ``self.factor`` for this call.

        Returns:
            The degraded image, same type, shape, dtype and affine as ``img``.
        """
        return self._apply(img, self._factor if factor is None else as_factor_triple(factor), "img")

    def _apply(self, img: NdarrayOrTensor, factor: tuple[int, int, int], name: str) -> NdarrayOrTensor:
        check_ndim(img, (4, 5), name, "channel-first (C, H, W, D) or batched (B, C, H, W, D)")
        x = convert_to_tensor(img, track_meta=False)
        check_finite(x, name)
        work = x if x.is_floating_point() else x.float()
        out = degrade_resolution(work, factor, name)
        if not x.is_floating_point():
            out = out.round()
        out = out.to(x.dtype)
        result, *_ = convert_to_dst_type(out, dst=img)
        if isinstance(result, MetaTensor):
            result.meta[DEGRADE_FACTOR_META_KEY] = list(factor)
        return result


class DegradeResolutiond(MapTransform):
    """Dictionary wrapper of :class:`DegradeResolution`.

    Args:
        keys: keys of the HR images to degrade.
        factor: integer (slice axis) or per-axis integers; settable at run time through ``factor``.
        output_keys: where to write the LR images (one per key); ``None`` overwrites the inputs. Writing to new keys
            keeps the HR image for the teacher, e.g. ``keys="image", output_keys="image_lr"``.
        allow_missing_keys: skip missing keys instead of raising.

    Raises:
        ValueError: naming the key, for the bad inputs listed in :class:`DegradeResolution`, a missing key, or a
            number of ``output_keys`` that differs from the number of keys.
    """

    backend = DegradeResolution.backend

    def __init__(
        self,
        keys: KeysCollection,
        factor: int | Sequence[int] = 4,
        output_keys: KeysCollection | None = None,
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.degrader = DegradeResolution(factor)
        self.output_keys = output_keys_for(self.keys, output_keys)

    @property
    def factor(self) -> tuple[int, int, int]:
        """Per-axis integer factor ``(fx, fy, fz)``; the setter validates."""
        return self.degrader.factor

    @factor.setter
    def factor(self, value: int | Sequence[int]) -> None:
        self.degrader.factor = value

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict[Hashable, NdarrayOrTensor]:
        d = dict(data)
        require_keys(d, self.keys, self.allow_missing_keys)
        for key, out_key in self.key_iterator(d, self.output_keys):
            d[out_key] = self.degrader._apply(d[key], self.degrader.factor, f"key '{key}'")
        return d
