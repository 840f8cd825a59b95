"""Random appearance of a training patch: contrast warp, bias field and presentation (whole head or skull-stripped).

A model trained on one look of the brain learns that look. Three things vary between the scans users give and are
drawn here per patch, on the standardised image, in the zero-referenced magnitude ``r = x - zero`` (``zero``: the
standardised value of a raw 0, from ``BrainStandardisationd(zero_key=...)``; the brain median lies at ``m = -zero``):

- a monotonic intensity warp ``r -> m (r / m)^gamma`` (with probability ``warp_prob``, ``gamma`` log-uniform in
  ``gamma_range``): a CMB stays darker than its surround, by another ratio;
- a smooth multiplicative bias field (with probability ``bias_prob``): ``exp`` of a random linear-plus-quadratic
  field across the patch whose largest magnitude is ``U(0, max_bias)``;
- a skull-stripped presentation (with probability ``strip_prob``): every voxel outside the brain mask, eroded or
  dilated by ``k`` voxels (``k`` uniform in ``strip_margin_range``: masks a little too tight or too loose), is set
  to the raw zero, as a stripped scan (or a NaN background, which inference reads as 0) shows it; a lesion voxel
  that the presentation removes is removed from the label too.

The result is put back on the scale inference gives it: standardising the warped scan by its own brain median and
scale gives ``(b · warp(r) - m) / gamma``, since the warp keeps the median and stretches the scale by ``gamma``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from monai.config import KeysCollection
from monai.transforms import MapTransform, RandomizableTransform

from cmb_kd.checks import as_probability, as_range, require_keys

__all__ = ["RandAppearanced"]


def _grow(mask: torch.Tensor, voxels: int) -> torch.Tensor:
    """``mask`` ``(1, H, W, D)`` dilated (``voxels > 0``) or eroded (``< 0``) by a cube of half-width ``|voxels|``."""
    if voxels == 0:
        return mask
    size = 2 * abs(voxels) + 1
    source = mask if voxels > 0 else ~mask
    grown = F.max_pool3d(source[None].float(), size, stride=1, padding=abs(voxels))[0] > 0
    return grown if voxels > 0 else ~grown


class RandAppearanced(RandomizableTransform, MapTransform):
    """Draw a contrast warp, a bias field and a presentation per patch; see the module docstring.

    Args:
        keys: image keys ``(C, H, W, D)``, standardised (they share the draw and the first key's zero).
        brain_key: key of the patch's brain mask ``(1, H, W, D)``.
        zero_key: key of the standardised raw zero (a negative number).
        label_key: key of the label, cleared where the presentation removes the brain (``None``: no label).
        warp_prob: probability of the intensity warp.
        gamma_range: range of the warp exponent (drawn log-uniform).
        bias_prob: probability of the bias field.
        max_bias: largest log-amplitude of the bias field (0.4: about ±50 %).
        strip_prob: probability of the skull-stripped presentation.
        strip_margin_range: smallest and largest erosion (negative) or dilation (positive) of the brain mask, voxels.
        prob: probability of drawing anything at all.
        allow_missing_keys: skip missing image keys instead of raising.

    Raises:
        ValueError: for a bad range or probability; at call time, a missing key, a zero level that is not negative,
            or a brain mask of another shape.
    """

    def __init__(
        self,
        keys: KeysCollection,
        brain_key: Hashable = "brainmask",
        zero_key: Hashable = "zero_level",
        label_key: Hashable | None = "label",
        *,
        warp_prob: float = 0.5,
        gamma_range: Sequence[float] = (0.5, 2.0),
        bias_prob: float = 0.5,
        max_bias: float = 0.4,
        strip_prob: float = 0.5,
        strip_margin_range: Sequence[int] = (-2, 3),
        prob: float = 1.0,
        allow_missing_keys: bool = False,
    ) -> None:
        MapTransform.__init__(self, keys, allow_missing_keys)
        RandomizableTransform.__init__(self, prob)
        self.brain_key, self.zero_key, self.label_key = brain_key, zero_key, label_key
        self.warp_prob = as_probability("warp_prob", warp_prob)
        self.gamma_range = as_range("gamma_range", gamma_range, 1e-3, 1e3)
        self.bias_prob = as_probability("bias_prob", bias_prob)
        if isinstance(max_bias, bool) or not 0.0 <= float(max_bias) <= 3.0:
            raise ValueError(f"max_bias: expected a log-amplitude in [0, 3], got {max_bias!r}")
        self.max_bias = float(max_bias)
        self.strip_prob = as_probability("strip_prob", strip_prob)
        margins = as_range("strip_margin_range", strip_margin_range, -16, 16)
        self.strip_margin_range = (int(margins[0]), int(margins[1]))
        self.draw: dict = {}

    def randomize(self, data: None = None) -> None:
        super().randomize(None)
        draw: dict = {"gamma": 1.0, "bias": None, "margin": None}
        if self._do_transform and self.R.rand() < self.warp_prob:
            draw["gamma"] = float(np.exp(self.R.uniform(*np.log(self.gamma_range))))
        if self._do_transform and self.R.rand() < self.bias_prob:
            draw["bias"] = (self.R.uniform(0.0, self.max_bias), self.R.normal(size=3), self.R.normal(size=3))
        if self._do_transform and self.R.rand() < self.strip_prob:
            draw["margin"] = int(self.R.randint(self.strip_margin_range[0], self.strip_margin_range[1] + 1))
        self.draw = draw

    def __call__(self, data: Mapping[Hashable, torch.Tensor]) -> dict[Hashable, torch.Tensor]:
        d = dict(data)
        require_keys(d, [self.brain_key, self.zero_key])
        require_keys(d, self.keys, self.allow_missing_keys)
        self.randomize()
        draw = self.draw
        if draw["gamma"] == 1.0 and draw["bias"] is None and draw["margin"] is None:
            return d
        zero = float(torch.as_tensor(d[self.zero_key]).reshape(-1)[0])
        if not zero < 0:
            raise ValueError(f"key '{self.zero_key}': expected the negative standardised zero of the scan, got {zero}")
        median = -zero
        brain = torch.as_tensor(d[self.brain_key]) != 0
        keep = None if draw["margin"] is None else _grow(brain, draw["margin"])
        for key in self.key_iterator(d):
            image = torch.as_tensor(d[key])
            if image.shape[1:] != brain.shape[1:]:
                raise ValueError(
                    f"key '{key}': expected the spatial shape of '{self.brain_key}' {tuple(brain.shape[1:])}, "
                    f"got {tuple(image.shape[1:])}"
                )
            raw = (image.float() - zero).clamp_min(0.0)
            raw = median * (raw / median) ** draw["gamma"]
            if draw["bias"] is not None:
                raw = raw * self._bias(image.shape[1:], image.device)
            if keep is not None:
                raw = raw * keep
            d[key] = ((raw - median) / draw["gamma"]).to(image.dtype)
        if keep is not None and self.label_key is not None and self.label_key in d:
            label = torch.as_tensor(d[self.label_key])
            d[self.label_key] = label * keep.to(label.dtype)
        return d

    def _bias(self, shape: Sequence[int], device: torch.device) -> torch.Tensor:
        """The drawn bias field ``(1, H, W, D)``: exp of a linear-plus-quadratic field of the drawn peak magnitude."""
        amplitude, linear, quadratic = self.draw["bias"]
        grids = torch.meshgrid(*[torch.linspace(-1.0, 1.0, n, device=device) for n in shape], indexing="ij")
        field = sum(float(a) * g + float(q) * (g * g - 1.0 / 3.0) for a, q, g in zip(linear, quadratic, grids))
        peak = field.abs().max()
        if peak > 0:
            field = field * (amplitude / peak)
        return torch.exp(field)[None]
