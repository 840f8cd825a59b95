"""An all-zero mask under each key a sample lacks: "none of these voxels", on the grid of another key.

Training reads optional masks beside each scan (the mimics of ``cmb-kd synth``). A datalist that only pairs scans
with CMB labels, as MONAI Label's training task gives, has none: an empty mimic mask says that no voxel is a known
mimic, so :class:`~cmb_kd.transforms.RandCandidateCropd` draws no mimic-centred patch (its ratio is dropped as for
a subject without mimics) and every later transform sees the keys it expects.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import torch
from monai.config import KeysCollection
from monai.config.type_definitions import NdarrayOrTensor
from monai.data import MetaTensor
from monai.transforms import MapTransform
from monai.utils import convert_to_dst_type

from cmb_kd.checks import check_ndim, require_keys

__all__ = ["EmptyMaskd"]


class EmptyMaskd(MapTransform):
    """Adds an all-zero uint8 mask ``(1, H, W, D)`` on the grid of ``like_key`` under each of ``keys`` that is missing.

    Keys already in the data are left as they are (the same object), so a datalist that has the masks trains exactly
    as before. The new mask has the type and device of ``like_key`` and, for a MetaTensor, its affine and meta data,
    so that orientation and cropping transforms move it with the images.

    Args:
        keys: mask keys to add when missing.
        like_key: channel-first ``(C, H, W, D)`` image or label whose spatial grid the mask takes.

    Raises:
        ValueError: if ``like_key`` is missing or not channel-first 3D.

    Example:
        >>> d = EmptyMaskd("mimics", like_key="label")({"label": label})
        >>> d["mimics"].shape == (1, *label.shape[1:])
        True
    """

    def __init__(self, keys: KeysCollection, like_key: Hashable = "label") -> None:
        super().__init__(keys, allow_missing_keys=True)
        self.like_key = like_key

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict[Hashable, NdarrayOrTensor]:
        d = dict(data)
        missing = [key for key in self.keys if key not in d]
        if not missing:
            return d
        require_keys(d, [self.like_key])
        like = d[self.like_key]
        check_ndim(like, (4,), f"key '{self.like_key}'", "channel-first (C, H, W, D)")
        zeros = torch.zeros((1, *like.shape[1:]), dtype=torch.uint8)
        for key in missing:
            if isinstance(like, MetaTensor):
                meta = {k: v for k, v in like.meta.items() if k != "affine"}
                d[key] = MetaTensor(zeros.clone(), affine=like.affine.clone(), meta=meta).to(like.device)
            else:
                d[key] = convert_to_dst_type(zeros.clone(), dst=like, dtype=torch.uint8)[0]
        return d
