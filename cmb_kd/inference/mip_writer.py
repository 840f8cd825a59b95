"""A MONAI dictionary transform that writes the MIP picture of a segmentation beside the saved mask."""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import torch
from monai.config import KeysCollection
from monai.data import MetaTensor
from monai.transforms import MapTransform

from cmb_kd.checks import require_keys
from cmb_kd.inference.mip_picture import write_mip_png
from cmb_kd.io import nifti_stem

__all__ = ["SaveMIPd"]


class SaveMIPd(MapTransform):
    """Writes ``OUTPUT_DIR/NAME_<postfix>.png``: the MIPs of the image with the thresholded prediction drawn over.

    For a bundle's ``postprocessing``, next to ``SaveImaged``: ``NAME`` is the input file's name without
    ``.nii.gz`` (from the image's ``filename_or_obj`` meta data, as ``SaveImaged`` names the mask), so the picture
    lands beside ``NAME_<mask postfix>.nii.gz``. It draws the image and the prediction on the grid they share at
    that point of the chain (before ``Invertd``: the working grid the network saw) with the image's affine, through
    :func:`~cmb_kd.inference.write_mip_png`. The data pass through unchanged.

    Args:
        keys: the prediction key(s), channel-first ``(1, X, Y, Z)``: probabilities or a binary mask.
        image_key: the key of the image ``(1, X, Y, Z)`` (a ``MetaTensor`` with its affine and file name).
        output_dir: the folder of the pictures (created if needed).
        output_postfix: appended to ``NAME`` with an underscore.
        threshold: a voxel is a vessel where the prediction is ``>= threshold``.
        alpha: opacity of the vessel colour.
        allow_missing_keys: skip missing prediction keys instead of raising.

    Raises:
        ValueError: a threshold outside (0, 1]; on call, a missing key, an image without its file name or affine,
            or a prediction of another shape than the image.
    """

    def __init__(
        self,
        keys: KeysCollection,
        image_key: str = "image",
        output_dir: str | os.PathLike = "./",
        output_postfix: str = "mip",
        threshold: float = 0.5,
        alpha: float = 0.7,
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        if not 0.0 < float(threshold) <= 1.0:
            raise ValueError(f"threshold: expected a probability in (0, 1], got {threshold!r}")
        self.image_key = image_key
        self.output_dir = Path(output_dir)
        self.output_postfix = str(output_postfix)
        self.threshold = float(threshold)
        self.alpha = float(alpha)

    def _name(self, image: Any) -> str:
        source = image.meta.get("filename_or_obj") if isinstance(image, MetaTensor) else None
        stem = nifti_stem(str(source)) if source else None
        if stem is None:
            raise ValueError(
                f"key '{self.image_key}': expected a MetaTensor loaded from a NIfTI file (its filename_or_obj names "
                f"the picture), got {type(image).__name__} with filename_or_obj {source!r}"
            )
        return stem

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        require_keys(d, [self.image_key], False)
        require_keys(d, self.keys, self.allow_missing_keys)
        image = d[self.image_key]
        name = self._name(image)
        volume = torch.as_tensor(image).detach().cpu()[0]
        for key in self.key_iterator(d):
            pred = torch.as_tensor(d[key]).detach().cpu()
            if pred.shape[1:] != volume.shape:
                raise ValueError(
                    f"key '{key}': expected a prediction (1, X, Y, Z) on the image's grid {tuple(volume.shape)}, "
                    f"got shape {tuple(pred.shape)}"
                )
            mask = (pred[0] >= self.threshold).numpy()
            path = self.output_dir / f"{name}_{self.output_postfix}.png"
            write_mip_png(path, volume.numpy(), mask, image.affine, alpha=self.alpha)
        return d
