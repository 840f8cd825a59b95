"""Map a mask from the working grid back onto the exact grid of the input scan (inverse of the working grid)."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import torch
from monai.config import KeysCollection
from monai.config.type_definitions import NdarrayOrTensor
from monai.data import MetaTensor
from monai.data.meta_obj import get_track_meta
from monai.transforms import MapTransform, Transform
from monai.utils import TransformBackends, convert_to_tensor, ensure_tuple_rep, look_up_option

from cmb_kd.checks import check_ndim, require_keys
from cmb_kd.transforms.working_grid import INPUT_GRID_AFFINE_KEY, INPUT_GRID_SHAPE_KEY, _as_affine

__all__ = ["ResampleToInputGrid", "ResampleToInputGridd"]

_MODES = ("max", "nearest")


def _axis_map(input_to_working: torch.Tensor, name: str) -> list[tuple[int, float, float]]:
    """For each input axis: (working axis, scale, offset) with ``j = offset + scale * u``."""
    result = []
    used = set()
    for a in range(3):
        column = input_to_working[:3, a]
        p = int(torch.argmax(column.abs()))
        others = torch.cat([column[:p], column[p + 1 :]])
        if p in used or float(others.abs().max()) > 1e-4 * max(1.0, float(column.abs().max())):
            raise ValueError(
                f"{name}: expected a working grid made from this input grid (axes related by a permutation, flips "
                f"and scaling), got input-to-working matrix {input_to_working[:3].tolist()}"
            )
        used.add(p)
        result.append((p, float(column[p]), float(input_to_working[p, 3])))
    return result


def _gather_axis(x: torch.Tensor, axis: int, n_out: int, scale: float, offset: float, mode: str) -> torch.Tensor:
    n_in = x.shape[axis]
    u = torch.arange(n_out, dtype=torch.float64)
    centre = offset + scale * u
    nearest = torch.round(centre).long().clamp(0, n_in - 1)
    if mode == "nearest":
        return x.index_select(axis, nearest.to(x.device))
    lo = offset + scale * (u - 0.5)
    hi = offset + scale * (u + 0.5)
    lo, hi = torch.minimum(lo, hi), torch.maximum(lo, hi)
    first = torch.ceil(lo - 1e-9).long()
    width = int(math.ceil(abs(scale))) + 1
    candidates = first.unsqueeze(1) + torch.arange(width).unsqueeze(0)
    inside = (candidates.double() < hi.unsqueeze(1) - 1e-9) & (candidates >= 0) & (candidates < n_in)
    index = torch.where(inside, candidates, nearest.unsqueeze(1))
    index = torch.cat([nearest.unsqueeze(1), index], dim=1)
    gathered = x.index_select(axis, index.reshape(-1).to(x.device)).unflatten(axis, (n_out, width + 1))
    return gathered.amax(dim=axis + 1)


class ResampleToInputGrid(Transform):
    """Map a working-grid mask ``(C, H', W', D')`` back onto the input grid ``(C, H, W, D)`` of the scan.

    Every input voxel centre is mapped through the affines onto the working grid. With ``mode="nearest"`` it takes
    the nearest working voxel. With ``mode="max"`` (default) it takes the maximum over the nearest working voxel and
    every working voxel whose centre lies inside the input voxel, so that along a coarse input axis (thick slices)
    a lesion one working voxel wide is never dropped; along finer axes this is plain nearest neighbour. Labels stay
    integer, the dtype is kept; the output shape and affine equal the input grid's exactly.

    Args:
        mode: ``"max"`` or ``"nearest"``.

    Raises:
        ValueError: for a bad mode, wrong dimensionality, a missing input grid, or a working grid that was not made
            from the input grid.
    """

    backend = [TransformBackends.TORCH]

    def __init__(self, mode: str = "max") -> None:
        self.mode = look_up_option(mode, _MODES)

    def __call__(
        self,
        img: NdarrayOrTensor,
        input_affine: NdarrayOrTensor | None = None,
        input_shape: Sequence[int] | None = None,
        affine: NdarrayOrTensor | None = None,
    ) -> torch.Tensor:
        """Map ``img`` back.

        Args:
            img: working-grid mask; a MetaTensor from :class:`ResampleToWorkingGrid` carries everything needed.
            input_affine: affine of the input grid (default: ``img.meta["input_grid_affine"]``).
            input_shape: spatial shape of the input grid (default: ``img.meta["input_grid_shape"]``).
            affine: affine of the working grid (default: ``img.affine``).

        Returns:
            The mask on the input grid.
        """
        return self._apply(img, input_affine, input_shape, affine, "img")

    def _apply(
        self,
        img: NdarrayOrTensor,
        input_affine: NdarrayOrTensor | None,
        input_shape: Sequence[int] | None,
        affine: NdarrayOrTensor | None,
        name: str,
    ) -> torch.Tensor:
        check_ndim(img, (4,), name, "channel-first (C, H, W, D)")
        meta = img.meta if isinstance(img, MetaTensor) else {}
        if input_affine is None:
            input_affine = meta.get(INPUT_GRID_AFFINE_KEY)
        if input_shape is None:
            input_shape = meta.get(INPUT_GRID_SHAPE_KEY)
        if affine is None and isinstance(img, MetaTensor):
            affine = img.affine
        if input_affine is None or input_shape is None or affine is None:
            raise ValueError(
                f"{name}: expected the working-grid affine and the input grid (affine and shape) from the metadata "
                f"written by ResampleToWorkingGrid or as arguments, got affine={affine is not None}, "
                f"input_affine={input_affine is not None}, input_shape={input_shape}"
            )
        shape = [int(n) for n in np.asarray(input_shape).reshape(-1)]
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(f"{name}: expected an input grid shape of three positive sizes, got {input_shape}")
        in_affine = _as_affine(input_affine, f"{name} input_affine")
        work_affine = _as_affine(affine, f"{name} affine")
        mapping = _axis_map(torch.linalg.inv(work_affine) @ in_affine, name)
        data = convert_to_tensor(img, track_meta=False)
        data = data.permute(0, *[p + 1 for p, _, _ in mapping])
        for a, (_, scale, offset) in enumerate(mapping):
            data = _gather_axis(data, a + 1, shape[a], scale, offset, self.mode)
        if not get_track_meta():
            return data
        out_meta = {k: v for k, v in meta.items() if k not in (INPUT_GRID_AFFINE_KEY, INPUT_GRID_SHAPE_KEY, "affine")}
        return MetaTensor(data, affine=in_affine.clone(), meta=out_meta)


class ResampleToInputGridd(MapTransform):
    """Dictionary wrapper of :class:`ResampleToInputGrid`.

    Args:
        keys: keys of the working-grid masks to map back.
        ref_key: optional key whose entry defines the target grid: either a working-grid image from
            :class:`ResampleToWorkingGridd` (its recorded input grid is used) or the native scan itself (its own
            affine and shape are used). Without it each mask's own metadata is used.
        mode: ``"max"`` or ``"nearest"``, one for all keys or one per key.
        allow_missing_keys: skip missing keys instead of raising.
    """

    backend = ResampleToInputGrid.backend

    def __init__(
        self,
        keys: KeysCollection,
        ref_key: Hashable | None = None,
        mode: str | Sequence[str] = "max",
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.ref_key = ref_key
        self.mappers = [ResampleToInputGrid(m) for m in ensure_tuple_rep(mode, len(self.keys))]

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict[Hashable, NdarrayOrTensor]:
        d = dict(data)
        require_keys(d, self.keys, self.allow_missing_keys)
        input_affine = input_shape = None
        if self.ref_key is not None:
            require_keys(d, [self.ref_key])
            ref = d[self.ref_key]
            if not isinstance(ref, MetaTensor):
                raise ValueError(f"key {self.ref_key!r}: expected a MetaTensor defining the grid, got {type(ref)}")
            if INPUT_GRID_AFFINE_KEY in ref.meta:
                input_affine, input_shape = ref.meta[INPUT_GRID_AFFINE_KEY], ref.meta[INPUT_GRID_SHAPE_KEY]
            else:
                input_affine, input_shape = ref.affine, list(ref.shape[1:])
        for key, mapper in self.key_iterator(d, self.mappers):
            d[key] = mapper._apply(d[key], input_affine, input_shape, None, f"key '{key}'")
        return d
