"""Bring a native scan of any orientation and spacing onto the bundle's working grid (the "SR" step).

The scan is first re-oriented to the nearest RAS axes with MONAI's ``Orientation`` (a permutation and flips:
exact, no interpolation), then every axis is resampled on its own to the working spacing with the separable cubic
kernel of :mod:`cmb_kd.transforms.cubic` (the kernel of :class:`DegradeResolution`). Any residual rotation of the
scan stays in the affine. Along each axis the working grid covers the field of view of the input, centred on it,
so a native thick-slice scan of factor ``f`` (slab ``k`` centred at HR coordinate ``k*f + (f-1)/2``) lands exactly
on its HR grid, aligned with :class:`DegradeResolution`.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from monai.config import KeysCollection
from monai.config.type_definitions import NdarrayOrTensor
from monai.data import MetaTensor
from monai.data.meta_obj import get_track_meta
from monai.transforms import InvertibleTransform, MapTransform, Orientation, Transform
from monai.utils import TraceKeys, TransformBackends, convert_to_tensor, ensure_tuple_rep, look_up_option

from cmb_kd.checks import as_triple, check_finite, check_ndim, require_keys
from cmb_kd.transforms.cubic import aligned_positions, cubic_resample_axis

__all__ = [
    "ResampleToWorkingGrid",
    "ResampleToWorkingGridd",
    "INPUT_GRID_AFFINE_KEY",
    "INPUT_GRID_SHAPE_KEY",
    "pop_own_step",
]

INPUT_GRID_AFFINE_KEY = "input_grid_affine"
"""Metadata key under which the working-grid image records the affine of the input grid."""
INPUT_GRID_SHAPE_KEY = "input_grid_shape"
"""Metadata key under which the working-grid image records the spatial shape of the input grid."""

_MODES = ("cubic", "nearest")


def _as_affine(affine: NdarrayOrTensor | None, name: str) -> torch.Tensor:
    if affine is None:
        return torch.eye(4, dtype=torch.float64)
    a = torch.as_tensor(np.asarray(affine, dtype=np.float64) if not isinstance(affine, torch.Tensor) else affine)
    a = a.detach().to("cpu", torch.float64)
    if a.shape != (4, 4) or not bool(torch.isfinite(a).all()) or abs(float(torch.linalg.det(a[:3, :3]))) < 1e-12:
        raise ValueError(f"{name}: expected a finite invertible 4x4 affine, got {a.tolist()}")
    return a


def pop_own_step(transform: InvertibleTransform, image: Any) -> dict:
    """The last operation recorded on ``image``, popped for ``transform``'s inverse; it must be one of
    ``transform``'s class. The instance is not checked: the recorded information is enough to undo the step, so
    another instance with the same settings (e.g. the bundle's config parsed again) may undo it too.

    Raises:
        ValueError: when the last recorded operation is of another class.
    """
    step = transform.pop_transform(image, check=False)
    if step.get(TraceKeys.CLASS_NAME) != type(transform).__name__:
        raise ValueError(
            f"expected the last recorded operation to be {type(transform).__name__}, "
            f"got {step.get(TraceKeys.CLASS_NAME)}"
        )
    return step


class ResampleToWorkingGrid(Transform):
    """Resample a channel-first scan ``(C, H, W, D)`` to RAS at the working spacing.

    Args:
        spacing: working voxel size in mm, one value or one per axis (default 1 mm isotropic).
        mode: ``"cubic"`` (images) or ``"nearest"`` (label maps).

    The output is a MetaTensor (a plain tensor when MONAI meta tracking is off) on the working grid, whose
    metadata records the input grid under ``input_grid_affine`` and ``input_grid_shape`` so that
    :class:`ResampleToInputGrid` can map a mask back onto it.

    Raises:
        ValueError: for a bad spacing or mode, wrong dimensionality, NaN/Inf values, or a singular affine.
    """

    backend = [TransformBackends.TORCH]

    def __init__(self, spacing: float | Sequence[float] = 1.0, mode: str = "cubic") -> None:
        values = as_triple(spacing, "spacing", "positive sizes in mm")
        if len(values) != 3 or not all(np.isfinite(v) and v > 0 for v in values):
            raise ValueError(f"spacing: expected one or three positive sizes in mm, got {spacing!r}")
        self.spacing = tuple(float(v) for v in values)
        self.mode = look_up_option(mode, _MODES)

    def __call__(
        self, img: NdarrayOrTensor, affine: NdarrayOrTensor | None = None, mode: str | None = None
    ) -> torch.Tensor:
        """Resample ``img``.

        Args:
            img: ``(C, H, W, D)`` scan; a MetaTensor carries its affine, a plain array needs ``affine`` (identity if
                omitted).
            affine: overrides the affine of ``img``.
            mode: overrides ``self.mode``.

        Returns:
            The scan on the working grid, ``(C, H', W', D')``.
        """
        return self._apply(img, affine, look_up_option(mode or self.mode, _MODES), "img")

    def _apply(
        self,
        img: NdarrayOrTensor,
        affine: NdarrayOrTensor | None,
        mode: str,
        name: str,
        spacing: Sequence[float] | None = None,
    ) -> torch.Tensor:
        spacing = self.spacing if spacing is None else spacing
        check_ndim(img, (4,), name, "channel-first (C, H, W, D)")
        x = convert_to_tensor(img, track_meta=False)
        check_finite(x, name)
        if affine is None and isinstance(img, MetaTensor):
            affine = img.affine
        in_affine = _as_affine(affine, f"{name} affine")
        oriented = Orientation(axcodes="RAS", labels=None)(MetaTensor(x, affine=in_affine.clone()))
        data = oriented.as_tensor()
        o_affine = oriented.affine.to(torch.float64)
        step = torch.eye(4, dtype=torch.float64)
        for axis in range(3):
            n_in = data.shape[axis + 1]
            s_in = float(torch.linalg.norm(o_affine[:3, axis]))
            n_out = max(1, int(round(n_in * s_in / spacing[axis])))
            ratio = spacing[axis] / s_in
            offset = (n_in - 1) / 2.0 - ratio * (n_out - 1) / 2.0
            step[axis, axis], step[axis, 3] = ratio, offset
            if n_out == n_in and abs(ratio - 1.0) < 1e-9:
                continue
            if mode == "nearest":
                index = torch.round(aligned_positions(n_out, ratio, offset, dtype=torch.float64))
                data = data.index_select(axis + 1, index.long().clamp_(0, n_in - 1).to(data.device))
            else:
                work = data if data.is_floating_point() else data.float()
                positions = aligned_positions(n_out, ratio, offset, device=data.device, dtype=torch.float64)
                data = cubic_resample_axis(work, axis + 1, positions).to(
                    x.dtype if x.is_floating_point() else work.dtype
                )
        out_affine = o_affine @ step
        if not get_track_meta():
            return data
        meta = dict(img.meta) if isinstance(img, MetaTensor) else {}
        meta[INPUT_GRID_AFFINE_KEY] = in_affine.clone()
        meta[INPUT_GRID_SHAPE_KEY] = list(x.shape[1:])
        meta.pop("affine", None)
        return MetaTensor(data, affine=out_affine, meta=meta)


class ResampleToWorkingGridd(MapTransform, InvertibleTransform):
    """Dictionary wrapper of :class:`ResampleToWorkingGrid`, invertible.

    Each resampled MetaTensor records the step in its ``applied_operations`` (input grid affine and shape), so that
    MONAI's ``Invertd`` (or :meth:`inverse`) maps a working-grid output back onto the exact input grid with
    :class:`ResampleToInputGrid`, by the maximum over the working voxels inside each input voxel (a probability map
    or a mask: thick slices keep a lesion one working voxel wide).

    Args:
        keys: keys of the scans (and label maps) to resample; all share one grid.
        spacing: working voxel size in mm.
        mode: ``"cubic"`` or ``"nearest"``, one for all keys or one per key (use ``"nearest"`` for labels).
        grid_key: optional key of a scan whose grid is the working grid (e.g. the HR scan, when native thick-slice
            scans of the same subject are brought onto it for training): its RAS voxel spacing replaces
            ``spacing``, and every resampled key must land on its grid (same shape and affine), else a
            ``ValueError`` names both. The ``grid_key`` scan itself is not changed.
        allow_missing_keys: skip missing keys instead of raising.
    """

    backend = ResampleToWorkingGrid.backend

    def __init__(
        self,
        keys: KeysCollection,
        spacing: float | Sequence[float] = 1.0,
        mode: str | Sequence[str] = "cubic",
        grid_key: Hashable | None = None,
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.resampler = ResampleToWorkingGrid(spacing)
        self.mode = [look_up_option(m, _MODES) for m in ensure_tuple_rep(mode, len(self.keys))]
        self.grid_key = grid_key

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict[Hashable, NdarrayOrTensor]:
        d = dict(data)
        require_keys(d, [*self.keys, *([] if self.grid_key is None else [self.grid_key])], self.allow_missing_keys)
        grid = None if self.grid_key is None else self._grid(d[self.grid_key])
        for key, mode in self.key_iterator(d, self.mode):
            spacing = None if grid is None else [float(v) for v in torch.linalg.norm(grid.affine[:3, :3], dim=0)]
            out = self.resampler._apply(d[key], None, mode, f"key '{key}'", spacing)
            if grid is not None and (
                tuple(out.shape[1:]) != tuple(grid.shape[1:])
                or (isinstance(out, MetaTensor) and not torch.allclose(out.affine.double(), grid.affine, atol=1e-3))
            ):
                raise ValueError(
                    f"key '{key}' ({_source(d[key])}): resampled at the spacing of key '{self.grid_key}' "
                    f"({_source(d[self.grid_key])}), it does not land on its grid: shape {tuple(out.shape[1:])}, "
                    f"expected {tuple(grid.shape[1:])} with the same affine; expected scans of one field of view"
                )
            d[key] = self._traced(out, d[key])
        return d

    def _traced(self, out: NdarrayOrTensor, source: NdarrayOrTensor) -> NdarrayOrTensor:
        """``out`` with the operations of ``source`` and this step appended (meta tracking on)."""
        if not isinstance(out, MetaTensor):
            return out
        if isinstance(source, MetaTensor):
            out.applied_operations = list(source.applied_operations)
        info = {"input_affine": out.meta[INPUT_GRID_AFFINE_KEY].clone(), "working_affine": out.affine.clone()}
        self.push_transform(out, orig_size=tuple(out.meta[INPUT_GRID_SHAPE_KEY]), extra_info=info)
        return out

    def inverse(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict[Hashable, NdarrayOrTensor]:
        """Map each key back onto the input grid it was resampled from (:class:`ResampleToInputGrid` ``"max"``)."""
        from cmb_kd.transforms.input_grid import ResampleToInputGrid

        d = dict(data)
        for key in self.key_iterator(d):
            step = pop_own_step(self, d[key])
            input_affine = step[TraceKeys.EXTRA_INFO]["input_affine"]
            out = ResampleToInputGrid("max")._apply(
                d[key], input_affine, step[TraceKeys.ORIG_SIZE], None, f"key '{key}'"
            )
            if isinstance(out, MetaTensor) and isinstance(d[key], MetaTensor):
                out.applied_operations = list(d[key].applied_operations)  # the operations before this one
            d[key] = out
        return d

    def _grid(self, reference: NdarrayOrTensor) -> MetaTensor:
        """An empty image on the RAS-oriented grid of ``reference`` (float64 affine)."""
        check_ndim(reference, (4,), f"key '{self.grid_key}'", "channel-first (C, H, W, D)")
        affine = _as_affine(reference.affine if isinstance(reference, MetaTensor) else None, "grid affine")
        blank = MetaTensor(torch.zeros((1, *reference.shape[1:]), dtype=torch.uint8), affine=affine)
        grid = Orientation(axcodes="RAS", labels=None)(blank)
        grid.affine = grid.affine.to(torch.float64)
        return grid


def _source(img: NdarrayOrTensor) -> str:
    """The file an image was loaded from, for error messages."""
    meta = img.meta if isinstance(img, MetaTensor) else {}
    return str(meta.get("filename_or_obj", "array"))
