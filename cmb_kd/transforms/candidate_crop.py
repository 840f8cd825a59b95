"""Candidate-centred patch sampling for the screening and segmentation networks.

PLKD (``000_2429e8a773e1f797``) trains its segmentation network on 48x48x24 volumes around candidates and its
screening FCN on 20x20x16 patches; the three-step detector (``002_f3b9a2940dcc4c6a``) trains its discriminator on
candidates that include mimics and screening false positives. Patches are centred on CMBs (with jitter), on mimics,
on screening false positives, or on random brain voxels, in configurable ratios, and padded at the border.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from monai.config import KeysCollection
from monai.config.type_definitions import NdarrayOrTensor
from monai.data import MetaTensor
from monai.data.meta_obj import get_track_meta
from monai.transforms import MapTransform, Randomizable, Transform
from monai.transforms.traits import MultiSampleTrait
from monai.utils import convert_to_numpy, convert_to_tensor
from scipy import ndimage

from cmb_kd.checks import as_triple, check_ndim, require_keys

__all__ = [
    "CandidateCentresd",
    "RandCandidateCrop",
    "RandCandidateCropd",
    "KINDS",
    "candidate_pools",
    "component_centres",
]

KINDS = ("positive", "mimic", "false_positive", "negative")
"""Patch kinds, in the order of the ratio arguments; recorded in each patch's ``meta["patch_kind"]``."""


def component_centres(mask: NdarrayOrTensor) -> np.ndarray:
    """One centre per connected component (26-connectivity) of ``mask > 0``, ``(N, 3)`` int.

    The centre is the component voxel nearest to the component's centroid, so it lies on the component even for a
    curved vessel. ``mask`` is ``(H, W, D)`` or ``(1, H, W, D)``; it is read on the host.
    """
    m = convert_to_numpy(mask)
    if m.ndim == 4:
        m = m[0]
    labels, n = ndimage.label(m > 0, structure=np.ones((3, 3, 3), bool))
    centres = np.zeros((n, 3), np.int64)
    for i, box in enumerate(ndimage.find_objects(labels)):
        coords = np.argwhere(labels[box] == i + 1)
        mean = coords.mean(0)
        centres[i] = coords[np.argmin(((coords - mean) ** 2).sum(1))] + [s.start for s in box]
    return centres


def candidate_pools(
    label: NdarrayOrTensor | None,
    mimic: NdarrayOrTensor | None,
    fp_centers: NdarrayOrTensor | Sequence[Sequence[int]] | None,
    shape: Sequence[int],
) -> dict[str, np.ndarray]:
    """The centres each patch kind but ``negative`` is drawn from, ``{kind: (N, 3) int}``: the components of the
    CMB ``label`` and the ``mimic`` mask ``(1, H, W, D)``, and the hard negatives ``fp_centers`` (a mask
    ``(1, H, W, D)`` or ``(N, 3)`` voxel indices), empty where not given."""
    empty = np.zeros((0, 3), np.int64)
    return {
        "positive": component_centres(label) if label is not None else empty,
        "mimic": component_centres(mimic) if mimic is not None else empty,
        "false_positive": _fp_array(fp_centers, tuple(int(s) for s in shape)),
    }


def _fp_array(fp_centers: NdarrayOrTensor | Sequence[Sequence[int]] | None, shape: tuple[int, ...]) -> np.ndarray:
    if fp_centers is None:
        return np.zeros((0, 3), np.int64)
    a = np.asarray(convert_to_numpy(fp_centers) if isinstance(fp_centers, torch.Tensor) else fp_centers)
    if a.ndim == 4:
        if tuple(a.shape[1:]) != shape:
            raise ValueError(f"fp_centers: expected a mask of spatial shape {shape}, got {tuple(a.shape[1:])}")
        return component_centres(a)
    if a.size == 0:
        return np.zeros((0, 3), np.int64)
    if a.ndim != 2 or a.shape[1] != 3 or not np.all(np.isfinite(a)):
        raise ValueError(
            f"fp_centers: expected finite voxel indices of shape (N, 3) or a mask (1, H, W, D), got shape {a.shape}"
        )
    return np.round(a).astype(np.int64)


class RandCandidateCrop(Randomizable, MultiSampleTrait, Transform):
    """Draw ``num_samples`` patch centres by kind, then crop ``(C, H, W, D)`` images around them.

    Drawing (:meth:`randomize`) is separate from cropping (:meth:`crop` / ``__call__(..., randomize=False)``), so
    one draw crops every image of a sample identically. The kind of each patch is drawn with probabilities
    proportional to the ratios of the kinds that have candidates in this subject (a subject without CMBs gives
    only negatives); random negatives are always available. Positive, mimic and false-positive centres get a
    uniform integer jitter of up to ``jitter`` voxels per axis. Patches reaching past the border are padded with
    ``pad_value``. A MetaTensor patch gets the affine of its position and ``meta["patch_kind"]``,
    ``meta["patch_center"]``.

    Args:
        spatial_size: patch size ``(H, W, D)``, slice axis last (48x48x24 for segmentation, 20x20x16 screening).
        num_samples: patches per call.
        positive: ratio of CMB-centred patches.
        mimic: ratio of patches centred on mimics (veins, calcifications, ...).
        false_positive: ratio of patches centred on screening false positives.
        negative: ratio of patches centred on random brain voxels.
        jitter: maximum jitter in voxels, one value or one per axis.
        pad_value: value of padded voxels.

    Raises:
        ValueError: for bad sizes, ratios or jitter; for wrong dimensionality or inconsistent shapes of the inputs.
    """

    def __init__(
        self,
        spatial_size: Sequence[int] | int = (48, 48, 24),
        num_samples: int = 4,
        positive: float = 1.0,
        mimic: float = 1.0,
        false_positive: float = 1.0,
        negative: float = 1.0,
        jitter: Sequence[int] | int = (4, 4, 2),
        pad_value: float = 0.0,
    ) -> None:
        size = as_triple(spatial_size, "spatial_size", "positive integers")
        if len(size) != 3 or not all(int(s) == s and s >= 1 for s in size):
            raise ValueError(f"spatial_size: expected one or three positive integers, got {spatial_size!r}")
        if int(num_samples) != num_samples or num_samples < 1:
            raise ValueError(f"num_samples: expected an integer >= 1, got {num_samples!r}")
        ratios = np.array([positive, mimic, false_positive, negative], dtype=float)
        if not np.all(np.isfinite(ratios)) or np.any(ratios < 0) or ratios.sum() <= 0:
            raise ValueError(
                f"ratios (positive, mimic, false_positive, negative): expected non-negative values with a positive "
                f"sum, got {ratios.tolist()}"
            )
        jit = as_triple(jitter, "jitter", "integers >= 0")
        if len(jit) != 3 or not all(int(j) == j and j >= 0 for j in jit):
            raise ValueError(f"jitter: expected one or three integers >= 0, got {jitter!r}")
        self.spatial_size = tuple(int(s) for s in size)
        self.num_samples = int(num_samples)
        self.ratios = ratios
        self.jitter = np.array([int(j) for j in jit])
        self.pad_value = float(pad_value)
        self.centers: list[tuple[str, tuple[int, int, int]]] = []

    def randomize(
        self,
        label: NdarrayOrTensor | None = None,
        mimic: NdarrayOrTensor | None = None,
        fp_centers: NdarrayOrTensor | Sequence[Sequence[int]] | None = None,
        brain: NdarrayOrTensor | None = None,
        spatial_shape: Sequence[int] | None = None,
        pools: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        """Draw the kinds and centres of ``num_samples`` patches.

        Args:
            label: CMB label ``(1, H, W, D)``; connected components give the positive centres.
            mimic: mimic mask ``(1, H, W, D)``; connected components give the mimic centres.
            fp_centers: false positives of an earlier stage (hard negatives), ``(N, 3)`` voxel indices, or a mask
                ``(1, H, W, D)`` whose connected components give the centres (a mask follows the image through
                orientation and cropping transforms, a list of indices does not).
            brain: brain mask ``(1, H, W, D)`` for the random negatives (whole volume if ``None``).
            spatial_shape: ``(H, W, D)``; taken from the first array given if ``None``.
            pools: the centres of :func:`candidate_pools`, computed once per subject (:class:`CandidateCentresd`);
                ``label``, ``mimic`` and ``fp_centers`` are then not read. The draws are the same either way.
        """
        arrays = {"label": label, "mimic": mimic, "brain": brain}
        shape = None if spatial_shape is None else tuple(int(s) for s in spatial_shape)
        for name, a in arrays.items():
            if a is None:
                continue
            check_ndim(a, (4,), name, "channel-first (C, H, W, D)")
            if shape is None:
                shape = tuple(a.shape[1:])
            elif tuple(a.shape[1:]) != shape:
                raise ValueError(f"{name}: expected spatial shape {shape}, got {tuple(a.shape[1:])}")
        if shape is None:
            raise ValueError("spatial_shape: expected a shape or at least one of label/mimic/brain, got none")
        if pools is None:
            pools = candidate_pools(label, mimic, fp_centers, shape)
        elif set(pools) != set(KINDS[:3]) or any(np.ndim(pools[k]) != 2 or np.shape(pools[k])[1] != 3 for k in pools):
            raise ValueError(f"pools: expected (N, 3) centres of each of {KINDS[:3]}, got {sorted(pools)}")
        by_kind = [np.asarray(pools[kind], np.int64) for kind in KINDS[:3]]
        brain_index = None
        if brain is not None:
            brain_index = np.flatnonzero(convert_to_numpy(brain)[0] > 0)
            if brain_index.size == 0:
                brain_index = None
        available = np.array([len(p) > 0 for p in by_kind] + [True])
        p = self.ratios * available
        if p.sum() <= 0:
            p = np.array([0.0, 0.0, 0.0, 1.0])
        p = p / p.sum()
        self.centers = []
        for _ in range(self.num_samples):
            kind = int(self.R.choice(4, p=p))
            if kind == 3:
                if brain_index is None:
                    centre = np.array([self.R.randint(0, n) for n in shape])
                else:
                    centre = np.array(np.unravel_index(brain_index[self.R.randint(0, brain_index.size)], shape))
            else:
                pool = by_kind[kind]
                centre = pool[self.R.randint(0, len(pool))] + self.R.randint(-self.jitter, self.jitter + 1)
            centre = np.clip(centre, 0, np.array(shape) - 1)
            self.centers.append((KINDS[kind], tuple(int(c) for c in centre)))

    def crop(self, img: NdarrayOrTensor, center: Sequence[int], kind: str = "", name: str = "img") -> NdarrayOrTensor:
        """Crop one patch of ``spatial_size`` centred on ``center`` (index ``size // 2`` of the patch), padded.

        Args:
            img: ``(C, H, W, D)`` image.
            center: voxel index ``(h, w, d)``.
            kind: patch kind recorded in the metadata.
            name: name used in error messages.

        Returns:
            ``(C, *spatial_size)`` patch, same type and device as ``img``.
        """
        check_ndim(img, (4,), name, "channel-first (C, H, W, D)")
        x = convert_to_tensor(img, track_meta=False)
        start = [int(c) - s // 2 for c, s in zip(center, self.spatial_size)]
        src = tuple(slice(max(b, 0), min(b + s, n)) for b, s, n in zip(start, self.spatial_size, x.shape[1:]))
        patch = x[(slice(None), *src)]
        pad = []
        for b, s, n in reversed(list(zip(start, self.spatial_size, x.shape[1:]))):
            pad += [max(0, -b), max(0, b + s - n)]
        if any(pad):
            patch = F.pad(patch, pad, value=self.pad_value)
        if not (isinstance(img, MetaTensor) and get_track_meta()):
            return patch if isinstance(img, torch.Tensor) else convert_to_numpy(patch)
        shift = torch.eye(4, dtype=torch.float64)
        shift[:3, 3] = torch.tensor(start, dtype=torch.float64)
        meta = {k: v for k, v in img.meta.items() if k != "affine"}
        meta["patch_kind"] = kind
        meta["patch_center"] = list(center)
        return MetaTensor(patch, affine=img.affine.to(torch.float64) @ shift, meta=meta)

    def __call__(
        self,
        img: NdarrayOrTensor,
        label: NdarrayOrTensor | None = None,
        mimic: NdarrayOrTensor | None = None,
        fp_centers: NdarrayOrTensor | Sequence[Sequence[int]] | None = None,
        brain: NdarrayOrTensor | None = None,
        randomize: bool = True,
    ) -> list[NdarrayOrTensor]:
        """Draw (unless ``randomize=False``) and crop ``img`` ``(C, H, W, D)``; returns ``num_samples`` patches."""
        check_ndim(img, (4,), "img", "channel-first (C, H, W, D)")
        if randomize:
            self.randomize(label, mimic, fp_centers, brain, spatial_shape=img.shape[1:])
        return [self.crop(img, c, k) for k, c in self.centers]


class RandCandidateCropd(Randomizable, MultiSampleTrait, MapTransform):
    """Dictionary wrapper of :class:`RandCandidateCrop`: one draw per sample, every key cropped identically.

    Returns a list of ``num_samples`` dictionaries like MONAI's ``RandCropByPosNegLabeld``; keys that are not
    cropped are shared by reference.

    Args:
        keys: keys to crop (images and label maps on one grid).
        label_key: CMB label key (positive centres).
        mimic_key: optional mimic mask key.
        fp_centers_key: optional key holding false-positive centres of an earlier stage (hard negatives), ``(N, 3)``
            voxel indices or a mask ``(1, H, W, D)`` on the images' grid (see ``scripts/mine_hard_negatives.py``).
        brain_key: optional brain mask key for random negatives.
        spatial_size, num_samples, positive, mimic, false_positive, negative, jitter, pad_value: see
            :class:`RandCandidateCrop`.
        allow_missing_keys: skip missing keys instead of raising.
        centres_key: optional key written by :class:`CandidateCentresd`; where a sample holds it, its centres are
            used instead of labelling the CMB, mimic and hard-negative masks again (the same draws, faster).
    """

    def __init__(
        self,
        keys: KeysCollection,
        label_key: Hashable = "label",
        mimic_key: Hashable | None = None,
        fp_centers_key: Hashable | None = None,
        brain_key: Hashable | None = None,
        spatial_size: Sequence[int] | int = (48, 48, 24),
        num_samples: int = 4,
        positive: float = 1.0,
        mimic: float = 1.0,
        false_positive: float = 1.0,
        negative: float = 1.0,
        jitter: Sequence[int] | int = (4, 4, 2),
        pad_value: float = 0.0,
        allow_missing_keys: bool = False,
        centres_key: Hashable | None = None,
    ) -> None:
        MapTransform.__init__(self, keys, allow_missing_keys)
        self.centres_key = centres_key
        self.label_key, self.mimic_key, self.fp_centers_key, self.brain_key = (
            label_key,
            mimic_key,
            fp_centers_key,
            brain_key,
        )
        self.cropper = RandCandidateCrop(
            spatial_size, num_samples, positive, mimic, false_positive, negative, jitter, pad_value
        )

    def set_random_state(
        self, seed: int | None = None, state: np.random.RandomState | None = None
    ) -> RandCandidateCropd:
        super().set_random_state(seed, state)
        self.cropper.set_random_state(seed, state)
        return self

    def randomize(self, data: Mapping[Hashable, NdarrayOrTensor]) -> None:
        """Draw the patch centres of one sample."""
        first = next(iter(self.key_iterator(data)))
        pools = data.get(self.centres_key) if self.centres_key is not None else None
        self.cropper.randomize(
            label=data[self.label_key] if pools is None else None,
            mimic=data[self.mimic_key] if self.mimic_key is not None and pools is None else None,
            fp_centers=data[self.fp_centers_key] if self.fp_centers_key is not None and pools is None else None,
            brain=data[self.brain_key] if self.brain_key is not None else None,
            spatial_shape=data[first].shape[1:],
            pools=pools,
        )

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> list[dict[Hashable, NdarrayOrTensor]]:
        d = dict(data)
        optional = [k for k in (self.mimic_key, self.fp_centers_key, self.brain_key) if k is not None]
        require_keys(d, [*self.keys, self.label_key, *optional], self.allow_missing_keys)
        keys = list(self.key_iterator(d))
        if not keys:
            raise ValueError(f"keys {list(self.keys)}: expected at least one key to crop, got {list(d)}")
        shape = tuple(d[keys[0]].shape[1:])
        for key in keys:
            check_ndim(d[key], (4,), f"key '{key}'", "channel-first (C, H, W, D)")
            if tuple(d[key].shape[1:]) != shape:
                raise ValueError(
                    f"key '{key}': expected spatial shape {shape} like key '{keys[0]}', got {d[key].shape}"
                )
        self.randomize(d)
        out = []
        for kind, centre in self.cropper.centers:
            sample = dict(d)
            for key in keys:
                sample[key] = self.cropper.crop(d[key], centre, kind, f"key '{key}'")
            out.append(sample)
        return out


class CandidateCentresd(MapTransform):
    """The centres :class:`RandCandidateCropd` draws its CMB, mimic and hard-negative patches from, computed once.

    Labelling the connected components of a subject's masks costs more than drawing and cropping its patches; it
    gives the same centres on every draw. Put this deterministic transform after the last transform that moves
    voxels, before the random ones, so that a ``CacheDataset`` keeps its result, and give ``RandCandidateCropd`` the
    same ``centres_key`` (delete the key before collating: the pools differ in length between subjects).

    Args:
        label_key: CMB label key ``(1, H, W, D)``.
        mimic_key: optional mimic mask key.
        fp_centers_key: optional hard-negative key (mask or ``(N, 3)`` voxel indices).
        centres_key: key written: ``{kind: (N, 3) int}`` of :func:`candidate_pools`.
        allow_missing_keys: skip a missing optional key instead of raising.
    """

    def __init__(
        self,
        label_key: Hashable = "label",
        mimic_key: Hashable | None = None,
        fp_centers_key: Hashable | None = None,
        centres_key: Hashable = "candidate_centres",
        allow_missing_keys: bool = False,
    ) -> None:
        MapTransform.__init__(self, [label_key], allow_missing_keys)
        self.label_key, self.mimic_key, self.fp_centers_key = label_key, mimic_key, fp_centers_key
        self.centres_key = centres_key

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict[Hashable, object]:
        d = dict(data)
        optional = [k for k in (self.mimic_key, self.fp_centers_key) if k is not None]
        require_keys(d, [self.label_key, *optional], self.allow_missing_keys)
        label = d[self.label_key]
        check_ndim(label, (4,), f"key '{self.label_key}'", "channel-first (C, H, W, D)")
        d[self.centres_key] = candidate_pools(
            label,
            d.get(self.mimic_key) if self.mimic_key is not None else None,
            d.get(self.fp_centers_key) if self.fp_centers_key is not None else None,
            label.shape[1:],
        )
        return d
