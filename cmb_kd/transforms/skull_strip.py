"""Brain extraction (skull stripping) of a T2*/SWI magnitude image with ITK.

Follows the ITK K-means skull removal of the two-stage FRST detector (``003_d1ee2ec489957e65``, section 3.1): the
head is clustered by intensity with K-means, the dark class (background, skull) is removed, and the brain is the
largest connected part of what remains. To be robust to a receive bias field and to thick slices the clustering is
done on a lightly smoothed image with the class means estimated on a shrunk copy, the brain is cut from the
bright scalp by an erosion in mm (an anisotropic ball on thick slices) before the largest connected component is
taken, grown back inside the candidate by the same radius, closed and hole-filled.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import itk
import numpy as np
import torch
from monai.config import KeysCollection
from monai.config.type_definitions import NdarrayOrTensor
from monai.data import MetaTensor
from monai.data.meta_obj import get_track_meta
from monai.transforms import MapTransform, Transform
from monai.utils import convert_to_dst_type, convert_to_numpy, look_up_option

from cmb_kd.checks import check_finite, check_ndim, check_not_all_zero, require_keys

__all__ = ["SkullStrip", "SkullStripd"]

_METHODS = ("kmeans", "otsu")


def _to_itk(array: np.ndarray, spacing: Sequence[float]) -> itk.Image:
    image = itk.image_from_array(np.ascontiguousarray(array.transpose(2, 1, 0)))
    image.SetSpacing([float(s) for s in spacing])
    return image


def _from_itk(image: itk.Image) -> np.ndarray:
    return np.asarray(itk.array_from_image(image)).transpose(2, 1, 0)


def _ball(radius_mm: float, spacing: Sequence[float]) -> itk.FlatStructuringElement:
    radius = [max(0, int(round(radius_mm / s))) for s in spacing]
    return itk.FlatStructuringElement[3].Ball(radius)


def _dilate(mask: itk.Image, radius_mm: float, spacing: Sequence[float]) -> itk.Image:
    if radius_mm <= 0:
        return mask
    kernel = _ball(radius_mm, spacing)
    return itk.binary_dilate_image_filter(mask, kernel=kernel, foreground_value=1, background_value=0)


def _invert(mask: itk.Image) -> itk.Image:
    return itk.binary_not_image_filter(mask, foreground_value=1, background_value=0)


def _erode(mask: itk.Image, radius_mm: float, spacing: Sequence[float]) -> itk.Image:
    # erosion as the complement of the dilated complement: ITK's binary dilation is the faster of the two
    if radius_mm <= 0:
        return mask
    return _invert(_dilate(_invert(mask), radius_mm, spacing))


def _block_mean(array: np.ndarray, bins: Sequence[int]) -> np.ndarray:
    """Mean over blocks of ``bins`` voxels (the remainder at the far edges is dropped), float32."""
    cut = array[tuple(slice(0, (n // b) * b) for n, b in zip(array.shape, bins))].astype(np.float32)
    shape = [v for n, b in zip(cut.shape, bins) for v in (n // b, b)]
    return cut.reshape(shape).mean(axis=(1, 3, 5))


def _upsample(array: np.ndarray, bins: Sequence[int], shape: Sequence[int]) -> np.ndarray:
    """Block-replicate a coarse array back to ``shape`` (edge-padded where ``bins`` do not divide it)."""
    for axis, b in enumerate(bins):
        array = np.repeat(array, b, axis=axis)
    return np.pad(array, [(0, n - m) for n, m in zip(shape, array.shape)], mode="edge")


def _above(image: itk.Image, level: float) -> itk.Image:
    return itk.binary_threshold_image_filter(
        image,
        lower_threshold=level,
        upper_threshold=float(np.finfo(np.float32).max),
        inside_value=1,
        outside_value=0,
        ttype=(type(image), itk.Image[itk.UC, 3]),
    )


def _largest_component(mask: itk.Image) -> itk.Image:
    labels = itk.connected_component_image_filter(mask)
    relabelled = itk.relabel_component_image_filter(labels, sort_by_object_size=True)
    largest = itk.binary_threshold_image_filter(
        relabelled, lower_threshold=1, upper_threshold=1, inside_value=1, outside_value=0
    )
    return itk.cast_image_filter(largest, ttype=(type(largest), itk.Image[itk.UC, 3]))


class SkullStrip(Transform):
    """Brain mask from a magnitude image ``(C, H, W, D)`` (channel 0 is used), slice axis last.

    Steps (ITK filters, radii in mm so that thick slices get an anisotropic structuring element):

    1. The image is bin-averaged to about ``coarse_mm`` (denoising, speed); intensity clustering into
       ``n_classes`` classes, K-means as in the source paper (class means estimated on a copy shrunk to about
       ``kmeans_grid_mm``) or Otsu multi-threshold; the darkest class (air, skull) is background.
    2. On the coarse grid: erosion by ``opening_mm`` to cut the brain from the scalp, largest connected component.
    3. On the full grid: that core, dilated back, intersected with the non-dark voxels (optionally smoothed by
       ``smoothing_mm`` and closed by ``closing_mm``) is the intracranial volume.
    4. Unless ``include_csf``: the subarachnoid CSF rim, voxels within ``rim_mm`` of the intracranial surface that
       are brighter than ``csf_ratio`` times the local brain level (a ``bias_sigma_mm`` Gaussian average of the
       deeper voxels, which cancels the bias field), is removed; an opening by ``smooth_mm`` and the largest
       connected component follow.
    5. 3D hole filling (dark nuclei, veins, microbleeds inside the brain).

    Args:
        method: ``"kmeans"`` or ``"otsu"``.
        n_classes: number of intensity classes (>= 2).
        smoothing_mm: Gaussian sigma in mm applied before the full-grid threshold (0 disables).
        opening_mm: erosion/dilation radius in mm separating brain from scalp.
        closing_mm: closing radius in mm of the intracranial volume (0 disables).
        kmeans_grid_mm: approximate voxel size of the shrunk copy used to estimate the K-means class means.
        coarse_mm: approximate voxel size of the coarse grid.
        include_csf: return the intracranial volume (brain + CSF rim) instead of the brain.
        rim_mm: depth of the surface band searched for CSF.
        csf_ratio: brightness, relative to the local brain level, above which a band voxel is CSF.
        bias_sigma_mm: Gaussian width of the local brain level.
        smooth_mm: radius of the final opening.
        grow_mm: radius in mm by which the final mask is dilated (0: the brain as found). The mask is tight at the
            cortex, where lobar CMBs sit; a detector that must not miss them grows it a little.

    Raises:
        ValueError: for bad options, wrong dimensionality, NaN/Inf values, an all-zero image, a volume too small for
            the coarse grid, or no foreground.
    """

    def __init__(
        self,
        method: str = "kmeans",
        n_classes: int = 3,
        smoothing_mm: float = 0.0,
        opening_mm: float = 3.0,
        closing_mm: float = 0.0,
        kmeans_grid_mm: float = 4.0,
        coarse_mm: float = 2.0,
        include_csf: bool = False,
        rim_mm: float = 3.0,
        csf_ratio: float = 1.4,
        bias_sigma_mm: float = 8.0,
        smooth_mm: float = 2.0,
        grow_mm: float = 0.0,
    ) -> None:
        self.method = look_up_option(method, _METHODS)
        if int(n_classes) != n_classes or n_classes < 2:
            raise ValueError(f"n_classes: expected an integer >= 2, got {n_classes!r}")
        for name, value in (
            ("smoothing_mm", smoothing_mm),
            ("opening_mm", opening_mm),
            ("closing_mm", closing_mm),
            ("kmeans_grid_mm", kmeans_grid_mm),
            ("coarse_mm", coarse_mm),
            ("rim_mm", rim_mm),
            ("csf_ratio", csf_ratio),
            ("bias_sigma_mm", bias_sigma_mm),
            ("smooth_mm", smooth_mm),
            ("grow_mm", grow_mm),
        ):
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{name}: expected a finite radius >= 0 in mm, got {value!r}")
        self.n_classes = int(n_classes)
        self.smoothing_mm = float(smoothing_mm)
        self.opening_mm = float(opening_mm)
        self.closing_mm = float(closing_mm)
        self.kmeans_grid_mm = max(float(kmeans_grid_mm), 1e-3)
        self.coarse_mm = float(coarse_mm)
        self.include_csf = bool(include_csf)
        self.rim_mm, self.csf_ratio = float(rim_mm), float(csf_ratio)
        self.bias_sigma_mm, self.smooth_mm = max(float(bias_sigma_mm), 1e-3), float(smooth_mm)
        self.grow_mm = float(grow_mm)

    def __call__(self, img: NdarrayOrTensor, affine: NdarrayOrTensor | None = None) -> NdarrayOrTensor:
        """Compute the brain mask.

        Args:
            img: magnitude image ``(C, H, W, D)``; a MetaTensor carries its affine (voxel sizes), a plain array may
                pass ``affine`` (1 mm isotropic if omitted).
            affine: overrides the affine of ``img``.

        Returns:
            uint8 mask ``(1, H, W, D)``, same type, device and affine as ``img``.
        """
        return self._apply(img, affine, "img")

    def threshold(self, smoothed: itk.Image, spacing: Sequence[float]) -> float:
        """Intensity separating the darkest class from the rest."""
        if self.method == "otsu":
            otsu = itk.OtsuMultipleThresholdsImageFilter.New(smoothed, NumberOfThresholds=self.n_classes - 1)
            otsu.Update()
            return float(otsu.GetThresholds()[0])
        shrink = [max(1, int(round(self.kmeans_grid_mm / s))) for s in spacing]
        small = itk.shrink_image_filter(smoothed, shrink_factors=shrink)
        values = itk.array_view_from_image(small)
        top = float(np.percentile(values, 99.5))
        kmeans = itk.ScalarImageKmeansImageFilter.New(small)
        for k in range(self.n_classes):
            kmeans.AddClassWithInitialMean(top * k / (self.n_classes - 1))
        kmeans.Update()
        means = sorted(float(m) for m in kmeans.GetFinalMeans())
        return 0.5 * (means[0] + means[1])

    def _apply(self, img: NdarrayOrTensor, affine: NdarrayOrTensor | None, name: str) -> NdarrayOrTensor:
        check_ndim(img, (4,), name, "channel-first magnitude (C, H, W, D)")
        x = torch.as_tensor(img) if not isinstance(img, torch.Tensor) else img
        check_finite(x, name)
        check_not_all_zero(x[0], name)
        if affine is None and isinstance(img, MetaTensor):
            affine = img.affine
        a = np.eye(4) if affine is None else convert_to_numpy(affine, dtype=np.float64)
        spacing = [float(v) for v in np.linalg.norm(a[:3, :3], axis=0)]
        bins = [max(1, int(round(self.coarse_mm / s))) for s in spacing]
        if any(n < 4 * b for n, b in zip(x.shape[1:], bins)):
            raise ValueError(
                f"{name}: expected at least {[4 * b for b in bins]} voxels per spatial axis for voxel sizes "
                f"{[round(s, 3) for s in spacing]} mm, got shape {tuple(x.shape)}"
            )
        array = convert_to_numpy(x[0], dtype=np.float32)
        mask = self.strip(array, spacing, name)
        out = torch.from_numpy(mask[None]).to(x.device)
        if isinstance(img, MetaTensor) and get_track_meta():
            return MetaTensor(out, affine=img.affine.clone(), meta={k: v for k, v in img.meta.items() if k != "affine"})
        result, *_ = convert_to_dst_type(out, dst=img, dtype=torch.uint8)
        return result

    def strip(self, array: np.ndarray, spacing: Sequence[float], name: str = "img") -> np.ndarray:
        """Brain mask of a 3D magnitude array ``(H, W, D)`` with voxel sizes ``spacing`` (mm); uint8 ``(H, W, D)``."""
        image = _to_itk(array, spacing)
        # coarse grid (about coarse_mm per voxel, bin averaging also denoises) to find the brain core cheaply
        bins = [max(1, int(round(self.coarse_mm / s))) for s in spacing]
        coarse = itk.bin_shrink_image_filter(image, shrink_factors=bins) if max(bins) > 1 else image
        coarse_spacing = [s * b for s, b in zip(spacing, bins)]
        if self.smoothing_mm > 0:
            image = itk.smoothing_recursive_gaussian_image_filter(image, sigma=self.smoothing_mm)
        level = self.threshold(coarse, coarse_spacing)
        core = _erode(_above(coarse, level), self.opening_mm, coarse_spacing)
        if not np.any(itk.array_view_from_image(core)):
            raise ValueError(
                f"{name}: expected a head with a brain thicker than {2 * self.opening_mm} mm above the skull "
                f"intensity {level:.4g}, got no foreground after erosion (voxel sizes {spacing})"
            )
        core_array = _upsample(_from_itk(_largest_component(core)), bins, array.shape)
        core_full = _to_itk(core_array.astype(np.uint8), spacing)
        reach = self.opening_mm + max(coarse_spacing)
        intracranial = itk.and_image_filter(_dilate(core_full, reach, spacing), _above(image, level))
        if self.closing_mm > 0:
            intracranial = _erode(_dilate(intracranial, self.closing_mm, spacing), self.closing_mm, spacing)
        if self.include_csf:
            brain = _largest_component(intracranial)
        else:
            brain = self._remove_csf_rim(array, intracranial, spacing, bins)
        brain = itk.binary_fillhole_image_filter(brain, foreground_value=1)
        brain = _dilate(brain, self.grow_mm, spacing)
        return _from_itk(brain).astype(np.uint8)

    def _remove_csf_rim(
        self, array: np.ndarray, intracranial: itk.Image, spacing: Sequence[float], bins: Sequence[int]
    ) -> itk.Image:
        """Drop the bright subarachnoid CSF within ``rim_mm`` of the intracranial surface.

        Brightness is judged against a local brain level (Gaussian average of the deeper intracranial voxels,
        ``bias_sigma_mm``), so the test is insensitive to the receive bias field.
        """
        inside = _from_itk(intracranial) > 0
        coarse_spacing = [s * b for s, b in zip(spacing, bins)]
        deep_small = _erode(
            _to_itk(_block_mean(inside, bins).astype(np.uint8), coarse_spacing), self.rim_mm, coarse_spacing
        )
        deep_small = _from_itk(deep_small).astype(np.float32)
        sums = []
        for values in (_block_mean(array, bins) * deep_small, deep_small):
            smoothed = itk.smoothing_recursive_gaussian_image_filter(
                _to_itk(values, coarse_spacing), sigma=self.bias_sigma_mm
            )
            sums.append(_from_itk(smoothed))
        level = _upsample(sums[0] / np.maximum(sums[1], 1e-3), bins, array.shape)
        deep = _upsample(deep_small, bins, array.shape) > 0
        band = inside & ~deep
        brain = inside & ~(band & (array > self.csf_ratio * level))
        brain_image = _to_itk(brain.astype(np.uint8), spacing)
        brain_image = _dilate(_erode(brain_image, self.smooth_mm, spacing), self.smooth_mm, spacing)
        return _largest_component(brain_image)


class SkullStripd(MapTransform):
    """Dictionary wrapper of :class:`SkullStrip`.

    The mask of the first key is written under ``mask_key``. If ``mask_key`` is already in the data (a supplied
    brain mask), nothing is computed. With ``apply_mask`` every key is multiplied by the mask (supplied or computed).

    Args:
        keys: image keys; the first one is stripped, all are masked when ``apply_mask``.
        mask_key: key of the brain mask.
        apply_mask: set voxels outside the brain to 0 in every key.
        allow_missing_keys: skip missing keys instead of raising.
        kwargs: options of :class:`SkullStrip` (``method``, ``n_classes``, ``smoothing_mm``, ...).
    """

    def __init__(
        self,
        keys: KeysCollection,
        mask_key: Hashable = "brain_mask",
        apply_mask: bool = False,
        allow_missing_keys: bool = False,
        **kwargs: float | str,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.mask_key = mask_key
        self.apply_mask = apply_mask
        self.stripper = SkullStrip(**kwargs)

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict[Hashable, NdarrayOrTensor]:
        d = dict(data)
        require_keys(d, self.keys, self.allow_missing_keys)
        if self.mask_key not in d:
            first = next(iter(self.key_iterator(d)), None)
            if first is None:
                raise ValueError(f"keys {list(self.keys)}: expected at least one image to strip, got {list(d)}")
            strip = getattr(self.stripper, "_apply", None)  # a SkullStrip names the key in its errors
            d[self.mask_key] = strip(d[first], None, f"key '{first}'") if strip else self.stripper(d[first])
        if self.apply_mask:
            mask = d[self.mask_key]
            for key in self.key_iterator(d):
                image = d[key]
                if tuple(image.shape[1:]) != tuple(mask.shape[1:]):
                    raise ValueError(
                        f"key {self.mask_key!r}: expected a mask of spatial shape {tuple(image.shape[1:])} to match "
                        f"key {key!r}, got {tuple(mask.shape[1:])}"
                    )
                m, *_ = convert_to_dst_type(mask, dst=image)
                d[key] = image * (m > 0)
        return d
