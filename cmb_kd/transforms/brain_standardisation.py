"""Intensity standardisation of a scan by statistics taken inside the brain only."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
from monai.config import KeysCollection
from monai.config.type_definitions import NdarrayOrTensor
from monai.transforms import MapTransform
from monai.utils import convert_to_dst_type, convert_to_numpy, look_up_option

from cmb_kd.checks import require_keys

__all__ = ["STANDARDISATION_METHODS", "BrainStandardisation", "BrainStandardisationd"]

STANDARDISATION_METHODS: tuple[str, ...] = ("robust", "zscore")
"""``robust``: (x - median) / (1.4826 MAD); ``zscore``: (x - mean) / SD; both over brain voxels."""

_MAD_TO_SD = 1.4826


class BrainStandardisation:
    """Put a scan on a scanner-independent intensity scale using the brain's own statistics.

    The centre and scale are computed over the voxels of the brain mask and applied to the whole volume (voxels
    outside the brain are kept, on the same scale, so that crops reaching past the brain edge look as they did in
    training). With ``method="robust"`` (default) the centre is the median and the scale 1.4826 times the median
    absolute deviation, so CMBs, veins and bright CSF barely move them; ``"zscore"`` uses the mean and SD. A scale
    below ``eps`` (a flat brain) falls back to the SD and then to 1.

    Args:
        method: one of :data:`STANDARDISATION_METHODS`.
        eps: smallest usable scale.

    Raises:
        ValueError: for an unknown method or a non-positive ``eps``.
    """

    def __init__(self, method: str = "robust", *, eps: float = 1e-6) -> None:
        self.method = look_up_option(method, STANDARDISATION_METHODS)
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0:
            raise ValueError(f"eps: expected a positive number, got {eps!r}")
        self.eps = float(eps)

    def __call__(self, image: Any, brain_mask: Any) -> np.ndarray:
        """Standardise ``image``.

        Args:
            image: scan ``(X, Y, Z)``.
            brain_mask: brain mask ``(X, Y, Z)`` (non-zero inside).

        Returns:
            The standardised scan, float32 ``(X, Y, Z)``.

        Raises:
            ValueError: for arrays of different shapes or an empty brain mask.
        """
        volume = np.asarray(image, dtype=np.float32)
        centre, scale = self.statistics(volume, brain_mask)
        return ((volume - np.float32(centre)) / np.float32(scale)).astype(np.float32, copy=False)

    def statistics(self, image: Any, brain_mask: Any) -> tuple[float, float]:
        """The centre and scale of :meth:`__call__`: ``(x - centre) / scale`` is the standardised scan.

        Raises:
            ValueError: for arrays of different shapes or an empty brain mask.
        """
        volume = np.asarray(image, dtype=np.float32)
        inside = np.asarray(brain_mask) != 0
        if volume.shape != inside.shape:
            raise ValueError(f"brain_mask: expected the image's shape {volume.shape}, got {inside.shape}")
        values = volume[inside].astype(np.float64)
        if values.size == 0:
            raise ValueError("brain_mask: expected at least one brain voxel, got an empty mask")
        if self.method == "robust":
            centre = float(np.median(values))
            scale = _MAD_TO_SD * float(np.median(np.abs(values - centre)))
        else:
            centre = float(values.mean())
            scale = float(values.std())
        if scale < self.eps:
            scale = float(values.std())
        if scale < self.eps:
            scale = 1.0
        return centre, scale


class BrainStandardisationd(MapTransform):
    """Dictionary wrapper of :class:`BrainStandardisation`, so that training sees intensities as inference does.

    Each image key ``(C, X, Y, Z)`` is standardised channel by channel with the statistics of the voxels where
    ``brain_key`` (``(1, X, Y, Z)``) is non-zero; the type (array or MetaTensor, with its meta data) is kept.

    With ``zero_key``, the standardised value of a raw 0 of the first key's first channel, ``-centre / scale``,
    is stored as a float under that key: where the true zero of a magnitude image lies, which random acquisitions
    (:class:`~cmb_kd.transforms.RandScannerDegrade`) and presentations (:class:`~cmb_kd.transforms.RandAppearanced`)
    need after standardisation.

    Args:
        keys: image keys to standardise.
        brain_key: key of the brain mask.
        method: one of :data:`STANDARDISATION_METHODS`.
        allow_missing_keys: skip missing image keys instead of raising.
        zero_key: key under which to store the standardised zero (``None``: not stored).

    Raises:
        ValueError: for a missing key, or a mask whose spatial shape differs from the image's.

    Example:
        >>> standardise = BrainStandardisationd(["image", "image_hr"], brain_key="brainmask")
        >>> data = standardise({"image": image, "image_hr": image_hr, "brainmask": brain})
    """

    def __init__(
        self,
        keys: KeysCollection,
        brain_key: Hashable = "brainmask",
        method: str = "robust",
        allow_missing_keys: bool = False,
        zero_key: Hashable | None = None,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.brain_key = brain_key
        self.zero_key = zero_key
        self.standardise = BrainStandardisation(method)

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict[Hashable, NdarrayOrTensor]:
        d = dict(data)
        require_keys(d, [self.brain_key])
        require_keys(d, self.keys, self.allow_missing_keys)
        brain = np.asarray(convert_to_numpy(d[self.brain_key]))
        brain = brain[0] if brain.ndim == 4 else brain
        first = next(self.key_iterator(d), None)
        for key in self.key_iterator(d):
            image = d[key]
            array = np.asarray(convert_to_numpy(image), dtype=np.float32)
            if array.ndim != 4 or array.shape[1:] != brain.shape:
                raise ValueError(
                    f"key '{key}': expected a (C, X, Y, Z) image on the grid of '{self.brain_key}' {brain.shape}, "
                    f"got shape {array.shape}"
                )
            statistics = [self.standardise.statistics(channel, brain) for channel in array]
            out = np.stack([(c - np.float32(m)) / np.float32(s) for c, (m, s) in zip(array, statistics)])
            d[key] = convert_to_dst_type(out.astype(np.float32, copy=False), image, dtype=np.float32)[0]
            if self.zero_key is not None and key == first:
                centre, scale = statistics[0]
                d[self.zero_key] = -centre / scale
        return d
