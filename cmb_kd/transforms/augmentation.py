"""Patch augmentation chain built from MONAI transforms (flips, in-plane axis swap, Gaussian noise).

PLKD (``000_2429e8a773e1f797``) augments with flips and noise (probability 0.2). The in-plane axis swap is MONAI's
``RandRotate90d`` over the two in-plane axes, which composed with the flips covers every in-plane transpose; the
slice axis is never swapped with an in-plane axis, so thick slices stay last.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from monai.config import KeysCollection
from monai.transforms import Compose, RandFlipd, RandGaussianNoised, RandRotate90d
from monai.utils import ensure_tuple

__all__ = ["patch_augmentation"]


def patch_augmentation(
    keys: KeysCollection,
    noise_keys: KeysCollection | None = None,
    *,
    flip_prob: float = 0.5,
    flip_axes: Sequence[int] = (0, 1, 2),
    swap_prob: float = 0.5,
    noise_prob: float = 0.2,
    noise_std: float = 0.05,
) -> Compose:
    """Build the augmentation applied to every training patch ``(C, H, W, D)``.

    Each random transform draws once per patch and applies the same draw to every key in ``keys`` (HR image, LR
    image and label stay aligned); the noise sample is shared by the ``noise_keys``.

    Args:
        keys: keys to flip and swap (images and labels).
        noise_keys: keys that get Gaussian noise (default: the first key).
        flip_prob: probability of a flip along each of ``flip_axes``.
        flip_axes: spatial axes that may be flipped.
        swap_prob: probability of an in-plane 90 degree rotation (axis swap).
        noise_prob: probability of additive Gaussian noise (0.2 as in PLKD).
        noise_std: standard deviation of the noise, in the units of the standardised image.

    Returns:
        A MONAI ``Compose``; ``set_random_state`` on it seeds every member.

    Raises:
        ValueError: for probabilities outside [0, 1], a negative ``noise_std`` or a flip axis outside 0..2.
    """
    for name, p in (("flip_prob", flip_prob), ("swap_prob", swap_prob), ("noise_prob", noise_prob)):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{name}: expected a probability in [0, 1], got {p!r}")
    if noise_std < 0:
        raise ValueError(f"noise_std: expected a standard deviation >= 0, got {noise_std!r}")
    axes = tuple(ensure_tuple(flip_axes))
    if any(a not in (0, 1, 2) for a in axes):
        raise ValueError(f"flip_axes: expected spatial axes among 0, 1, 2, got {flip_axes!r}")
    all_keys: tuple[Hashable, ...] = tuple(ensure_tuple(keys))
    noisy = tuple(ensure_tuple(noise_keys)) if noise_keys is not None else all_keys[:1]
    chain: list = [RandFlipd(all_keys, prob=flip_prob, spatial_axis=a) for a in axes]
    chain.append(RandRotate90d(all_keys, prob=swap_prob, max_k=3, spatial_axes=(0, 1)))
    chain.append(RandGaussianNoised(noisy, prob=noise_prob, mean=0.0, std=noise_std))
    return Compose(chain)
