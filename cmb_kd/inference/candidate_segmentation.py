"""Stage 2: the segmentation network run on fixed-size patches around every stage-1 candidate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from monai.data import MetaTensor
from monai.inferers import Inferer, SlidingWindowInferer
from monai.utils import look_up_option

from cmb_kd.candidates import CandidateDetector
from cmb_kd.inference.scan_transforms import CANDIDATE_VOXELS

__all__ = ["INFERER_MODES", "PADDING_MODES", "CandidatePatchInferer"]

INFERER_MODES: tuple[str, ...] = ("candidates", "sliding_window")
"""How :class:`CandidatePatchInferer` covers a volume: crops around the stage-1 candidates, or a full sliding window."""

PADDING_MODES: tuple[str, ...] = ("replicate", "constant", "reflect")
"""How the volume is extended beyond its borders for patches that reach outside it (``torch.nn.functional.pad``)."""


def _as_patch_size(patch_size: Sequence[int]) -> tuple[int, int, int]:
    try:
        values = tuple(int(v) for v in patch_size)
        exact = all(float(v) == int(v) and not isinstance(v, bool) for v in patch_size)
    except (TypeError, ValueError) as err:
        raise ValueError(f"patch_size: expected three positive integers (H, W, D), got {patch_size!r}") from err
    if len(values) != 3 or not exact or min(values) < 1:
        raise ValueError(f"patch_size: expected three positive integers (H, W, D), got {patch_size!r}")
    return values


def _as_merge_distance(
    merge_distance: Sequence[int] | str | None, patch_size: tuple[int, int, int]
) -> tuple[int, int, int] | None:
    expected = (
        f"None, 'auto' or three non-negative integers (i, j, k), each smaller than half of patch_size {patch_size}"
    )
    if merge_distance is None:
        return None
    if isinstance(merge_distance, str):
        if merge_distance != "auto":
            raise ValueError(f"merge_distance: expected {expected}, got {merge_distance!r}")
        return tuple(p // 4 for p in patch_size)
    try:
        values = tuple(int(v) for v in merge_distance)
        exact = all(float(v) == int(v) and not isinstance(v, bool) for v in merge_distance)
    except (TypeError, ValueError) as err:
        raise ValueError(f"merge_distance: expected {expected}, got {merge_distance!r}") from err
    if len(values) != 3 or not exact or min(values) < 0 or any(2 * m >= p for m, p in zip(values, patch_size)):
        raise ValueError(f"merge_distance: expected {expected}, got {merge_distance!r}")
    return values


def _select_crop_centres(points: Sequence[Sequence[int]], merge_distance: Sequence[int]) -> list[int]:
    """Greedy crop selection: indices of the centres that get a crop of their own, in the order given.

    A centre is skipped when it lies within ``merge_distance`` (per axis, inclusive) of a centre chosen before it;
    the first centre is always chosen. Each round picks the first centre not yet covered and covers, in one vectorised
    test, every centre in its box, so the cost is ``O(N × crops)``.

    Args:
        points: ``N`` voxel indices ``(i, j, k)``.
        merge_distance: the half-size ``(mi, mj, mk)`` of the box around a chosen centre.

    Returns:
        The indices of the chosen centres, increasing.
    """
    coords = np.asarray(points, dtype=np.int64).reshape(-1, 3)
    reach = np.asarray(merge_distance, dtype=np.int64)
    uncovered = np.ones(len(coords), dtype=bool)
    chosen: list[int] = []
    while uncovered.any():
        first = int(np.argmax(uncovered))
        chosen.append(first)
        uncovered &= ~np.all(np.abs(coords - coords[first]) <= reach, axis=1)
    return chosen


def _like_inputs(output: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """``output`` with the meta data and recorded operations of ``inputs`` when that is a MetaTensor (as MONAI's
    inferers do), so that ``Invertd`` can take it back through the preprocessing."""
    if not isinstance(inputs, MetaTensor):
        return output
    out = MetaTensor(output.as_tensor() if isinstance(output, MetaTensor) else output)
    return out.copy_meta_from(inputs)


class CandidatePatchInferer(Inferer):
    """Segment a volume only around candidate centres: crop, run the network in batches, paste back by maximum.

    Stage 2 of the two-stage PLKD framework (``000_2429e8a773e1f797``): the segmentation network (E²U-Net student)
    sees a ``patch_size`` crop (48×48×24 by default, slice axis last) centred on each stage-1 candidate; crops that
    reach beyond the volume are padded (``padding_mode``). The network's output is turned into probabilities
    (sigmoid of the first channel, or the logits as they are with ``sigmoid=False``) and pasted into a volume of
    zeros at the crop's place; where crops overlap, the maximum wins. Everything runs on the device of ``inputs``
    under ``torch.no_grad()``, with autocast when ``amp`` is set and the device is CUDA.

    Candidates cluster (along veins, around a large bleed), so their crops overlap heavily. With ``merge_distance``,
    crops are chosen greedily in the order the centres are given (stage 1 gives them by score, highest first): a
    centre within ``merge_distance`` of an already chosen crop centre on every axis gets no crop of its own. Merging is
    safe because such a centre lies in the central region of that crop, which reaches at least
    ``(patch_size - 1) // 2 - merge_distance`` voxels beyond it on each side (11, 11, 5 with the defaults, 1 mm each
    on the bundle's working grid), so a microbleed of up to 10 mm around it still lies whole inside the crop, with
    context around it (in the worst case, through-plane, it reaches the crop's last slice). The number of crops run by
    the last call is kept in ``last_crop_count``.

    Called as MONAI calls an inferer, ``inferer(inputs, network)`` on a volume from the bundle's ``preprocessing``,
    it takes the candidates that preprocessing recorded in the volume's meta data (:data:`CANDIDATE_VOXELS`); on a
    volume without them it finds its own with ``candidate_detector`` (on the input shifted to positive values, the
    brain being every voxel above the input's minimum). With ``mode="sliding_window"`` it runs the network over the
    whole volume instead (MONAI's ``SlidingWindowInferer``, half-patch overlap, Gaussian blending).

    Args:
        patch_size: crop size ``(H, W, D)`` in voxels of the working grid; must suit the network (E²U-Net needs
            multiples of 16, 16, 8).
        batch_size: crops per forward pass (>= 1).
        amp: use automatic mixed precision (float16 autocast) on CUDA; ignored on CPU.
        sigmoid: apply a sigmoid to the network output.
        padding_mode: one of :data:`PADDING_MODES`.
        padding_value: the value used with ``padding_mode="constant"``.
        merge_distance: per-axis distance ``(i, j, k)`` in voxels within which a centre shares the crop of an earlier
            centre; each a non-negative integer smaller than half of ``patch_size`` on its axis. ``"auto"`` (the
            default) is a quarter of ``patch_size``, ``(12, 12, 6)`` for 48×48×24 crops; ``None`` or ``(0, 0, 0)``
            gives every distinct centre its own crop.
        mode: one of :data:`INFERER_MODES`.
        candidate_detector: finds the candidates of a volume given without them (default ``CandidateDetector()``).

    Attributes:
        last_crop_count: the number of crops the last call ran (0 before the first call).

    Raises:
        ValueError: for a bad patch size, batch size, padding mode or merge distance.

    Example:
        >>> inferer = CandidatePatchInferer(patch_size=(48, 48, 24), batch_size=8)
        >>> probability = inferer(image, network, centres=[(40, 52, 30), (70, 61, 18)])   # (1, 1, X, Y, Z)
        >>> inferer.last_crop_count
        2
    """

    def __init__(
        self,
        patch_size: Sequence[int] = (48, 48, 24),
        batch_size: int = 8,
        *,
        amp: bool = False,
        sigmoid: bool = True,
        padding_mode: str = "replicate",
        padding_value: float = 0.0,
        merge_distance: Sequence[int] | str | None = "auto",
        mode: str = "candidates",
        candidate_detector: CandidateDetector | None = None,
    ) -> None:
        super().__init__()
        self.patch_size = _as_patch_size(patch_size)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size: expected a positive integer, got {batch_size!r}")
        self.batch_size = batch_size
        self.amp = bool(amp)
        self.sigmoid = bool(sigmoid)
        self.padding_mode = look_up_option(padding_mode, PADDING_MODES)
        self.padding_value = float(padding_value)
        self.merge_distance = _as_merge_distance(merge_distance, self.patch_size)
        self.mode = look_up_option(mode, INFERER_MODES)
        self.candidate_detector = CandidateDetector() if candidate_detector is None else candidate_detector
        self.last_crop_count = 0

    def __call__(
        self,
        inputs: torch.Tensor,
        network: Any,
        centres: Sequence[Sequence[int]] | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> torch.Tensor:
        """Run ``network`` around ``centres``.

        Args:
            inputs: image ``(1, C, X, Y, Z)`` (one volume, slice axis last) on the device to run on.
            network: callable mapping ``(B, C, H, W, D)`` to ``(B, K, H, W, D)``; the first output channel is used.
            centres: voxel indices ``(i, j, k)`` of the candidates, inside the volume, most important first (the
                order decides which centres keep a crop of their own when crops are merged); None: those recorded
                in the meta data of ``inputs``, else found by ``candidate_detector``.
            args: further positional arguments of ``network``.
            kwargs: further keyword arguments of ``network``.

        Returns:
            ``(1, 1, X, Y, Z)`` float32 probabilities (zero away from every crop), on the device of ``inputs``; a
            MetaTensor with the meta data of ``inputs`` when that is one.

        Raises:
            ValueError: for an input that is not ``(1, C, X, Y, Z)``, a centre outside the volume, or a network
                output of another spatial size than the crop.
        """
        if not isinstance(inputs, torch.Tensor) or inputs.ndim != 5 or inputs.shape[0] != 1:
            shape = tuple(inputs.shape) if hasattr(inputs, "shape") else type(inputs).__name__
            raise ValueError(f"inputs: expected a tensor (1, C, X, Y, Z), got {shape}")
        spatial = tuple(int(n) for n in inputs.shape[2:])
        if self.mode == "sliding_window":
            return self._sliding_window(inputs, network, *args, **kwargs)
        points = self._centres(self._find_centres(inputs) if centres is None else centres, spatial)
        if points and self.merge_distance is not None:
            points = [points[n] for n in _select_crop_centres(points, self.merge_distance)]
        self.last_crop_count = len(points)
        output = torch.zeros((1, 1, *spatial), dtype=torch.float32, device=inputs.device)
        if not points:
            return _like_inputs(output, inputs)
        low = [p // 2 for p in self.patch_size]
        high = [p - p // 2 for p in self.patch_size]
        padding = [amount for axis in (2, 1, 0) for amount in (low[axis], high[axis])]
        image = inputs.as_tensor() if hasattr(inputs, "as_tensor") else inputs
        image = image.float()
        if self.padding_mode == "constant":
            padded = F.pad(image, padding, mode="constant", value=self.padding_value)
        else:
            padded = F.pad(image, padding, mode=self.padding_mode)
        result = torch.zeros((1, 1, *padded.shape[2:]), dtype=torch.float32, device=inputs.device)
        h, w, d = self.patch_size
        autocast = torch.autocast(device_type="cuda", enabled=self.amp and inputs.device.type == "cuda")
        with torch.no_grad(), autocast:
            for first in range(0, len(points), self.batch_size):
                group = points[first : first + self.batch_size]
                # with the padding above, the crop centred on voxel c starts at c in padded coordinates
                batch = torch.cat([padded[:, :, i : i + h, j : j + w, k : k + d] for i, j, k in group], dim=0)
                logits = network(batch, *args, **kwargs)
                if not isinstance(logits, torch.Tensor) or tuple(logits.shape[2:]) != self.patch_size:
                    got = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
                    raise ValueError(
                        f"network: expected an output (B, K, {h}, {w}, {d}) for crops of {self.patch_size}, got {got}"
                    )
                scores = logits[:, :1].float()
                if self.sigmoid:
                    scores = torch.sigmoid(scores)
                for (i, j, k), score in zip(group, scores):
                    region = result[0, :, i : i + h, j : j + w, k : k + d]
                    torch.maximum(region, score, out=region)
        output[0] = result[
            0, :, low[0] : low[0] + spatial[0], low[1] : low[1] + spatial[1], low[2] : low[2] + spatial[2]
        ]
        return _like_inputs(output, inputs)

    def _find_centres(self, inputs: torch.Tensor) -> Sequence[Sequence[int]]:
        """The candidates recorded in the meta data of ``inputs``, else those ``candidate_detector`` finds."""
        recorded = inputs.meta.get(CANDIDATE_VOXELS) if isinstance(inputs, MetaTensor) else None
        if recorded is not None:
            voxels = torch.as_tensor(recorded)
            return (voxels[0] if voxels.ndim == 3 else voxels).reshape(-1, 3).tolist()  # a batch of one or one volume
        volume = inputs[0, 0].detach().float().cpu()
        volume = (volume.as_tensor() if isinstance(volume, MetaTensor) else volume).numpy()
        positive = volume - volume.min() + np.float32(1e-3)
        affine = np.eye(4)
        if isinstance(inputs, MetaTensor):
            affine = np.asarray(inputs.affine[0] if inputs.affine.ndim == 3 else inputs.affine, dtype=np.float64)
        found = self.candidate_detector(positive, volume > volume.min(), affine)
        return [c.voxel for c in found]

    def _sliding_window(self, inputs: torch.Tensor, network: Any, *args: Any, **kwargs: Any) -> torch.Tensor:
        """The network over the whole volume, probabilities (or logits) of its first channel, ``(1, 1, X, Y, Z)``."""
        window = SlidingWindowInferer(self.patch_size, sw_batch_size=self.batch_size, overlap=0.5, mode="gaussian")
        image = (inputs.as_tensor() if isinstance(inputs, MetaTensor) else inputs).float()
        autocast = torch.autocast(device_type="cuda", enabled=self.amp and inputs.device.type == "cuda")
        with torch.no_grad(), autocast:
            logits = window(image, network, *args, **kwargs)
        scores = logits[:, :1].float()
        self.last_crop_count = 0
        return _like_inputs(torch.sigmoid(scores) if self.sigmoid else scores, inputs)

    @staticmethod
    def _centres(centres: Sequence[Sequence[int]], spatial: tuple[int, int, int]) -> list[tuple[int, int, int]]:
        points: dict[tuple[int, int, int], None] = {}
        for n, centre in enumerate(centres):
            try:
                point = tuple(int(round(float(v))) for v in centre)
            except (TypeError, ValueError) as err:
                raise ValueError(f"centres[{n}]: expected a voxel index (i, j, k), got {centre!r}") from err
            if len(point) != 3 or not all(0 <= v < s for v, s in zip(point, spatial)):
                raise ValueError(f"centres[{n}]: expected a voxel index inside the volume {spatial}, got {centre!r}")
            points[point] = None
        return list(points)
