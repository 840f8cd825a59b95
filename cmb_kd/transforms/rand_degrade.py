"""Random LR generation: the degrade factor is drawn per sample from a set (PLKD, ``000_2429e8a773e1f797``)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
from monai.config import KeysCollection
from monai.config.type_definitions import NdarrayOrTensor
from monai.transforms import MapTransform, RandomizableTransform

from cmb_kd.checks import as_factor_triple, output_keys_for, require_keys
from cmb_kd.transforms.degrade import DegradeResolution

__all__ = ["RandDegradeResolution", "RandDegradeResolutiond"]


class RandDegradeResolution(RandomizableTransform):
    """:class:`DegradeResolution` with the factor drawn at random from a set.

    Drawing (:meth:`randomize`) is separate from applying (:meth:`__call__` with ``randomize=False``), so one draw
    can be replayed. The drawn factor is exposed as ``factor`` (``None`` before the first draw) and recorded in the
    output's metadata.

    Args:
        factors: the set to draw from; each item is an integer (slice axis) or three per-axis integers.
        weights: relative probability of each item (uniform if ``None``).
        prob: probability of degrading at all; otherwise the image is returned unchanged.

    Raises:
        ValueError: for an empty set, a bad factor, or weights that do not match the set or are not positive.
    """

    backend = DegradeResolution.backend

    def __init__(
        self,
        factors: Sequence[int | Sequence[int]] = (2, 4, 8),
        weights: Sequence[float] | None = None,
        prob: float = 1.0,
    ) -> None:
        RandomizableTransform.__init__(self, prob)
        self.degrader = DegradeResolution(1)
        self.set_factors(factors, weights)
        self.factor: tuple[int, int, int] | None = None

    def set_factors(self, factors: Sequence[int | Sequence[int]], weights: Sequence[float] | None = None) -> None:
        """Replace the set of factors (and weights) to draw from, e.g. at a curriculum stage change."""
        if isinstance(factors, (int, np.integer)) or len(factors) == 0:
            raise ValueError(f"factors: expected a non-empty sequence of factors, got {factors!r}")
        self.factors = [as_factor_triple(f, "factors") for f in factors]
        if weights is None:
            p = np.full(len(self.factors), 1.0 / len(self.factors))
        else:
            p = np.asarray(weights, dtype=float)
            if p.shape != (len(self.factors),) or np.any(p < 0) or p.sum() <= 0:
                raise ValueError(
                    f"weights: expected {len(self.factors)} non-negative values with a positive sum, got {weights!r}"
                )
            p = p / p.sum()
        self.weights = p

    def randomize(self, data: object = None) -> None:
        """Draw whether to degrade and which factor."""
        super().randomize(None)
        self.factor = self.factors[int(self.R.choice(len(self.factors), p=self.weights))]

    def __call__(self, img: NdarrayOrTensor, randomize: bool = True) -> NdarrayOrTensor:
        """Degrade ``img`` (``(C, H, W, D)`` or ``(B, C, H, W, D)``) with a drawn factor.

        Args:
            img: HR image.
            randomize: draw new parameters first; ``False`` replays the last draw.

        Returns:
            The degraded image (or ``img`` itself when the draw said not to degrade).
        """
        if randomize:
            self.randomize()
        if not self._do_transform:
            return img
        if self.factor is None:
            raise ValueError("randomize=False: expected a previous draw to replay, got none (call randomize() first)")
        return self.degrader._apply(img, self.factor, "img")


class RandDegradeResolutiond(RandomizableTransform, MapTransform):
    """Dictionary wrapper of :class:`RandDegradeResolution`: one draw per sample, applied to every key.

    Args:
        keys: keys of the HR images to degrade.
        factors: the set to draw from (see :class:`RandDegradeResolution`).
        weights: relative probability of each factor.
        prob: probability of degrading.
        output_keys: where to write the LR images (one per key); ``None`` overwrites the inputs.
        allow_missing_keys: skip missing keys instead of raising.
    """

    backend = RandDegradeResolution.backend

    def __init__(
        self,
        keys: KeysCollection,
        factors: Sequence[int | Sequence[int]] = (2, 4, 8),
        weights: Sequence[float] | None = None,
        prob: float = 1.0,
        output_keys: KeysCollection | None = None,
        allow_missing_keys: bool = False,
    ) -> None:
        MapTransform.__init__(self, keys, allow_missing_keys)
        RandomizableTransform.__init__(self, 1.0)
        self.rand_degrader = RandDegradeResolution(factors, weights, prob)
        self.output_keys = output_keys_for(self.keys, output_keys)

    def set_random_state(
        self, seed: int | None = None, state: np.random.RandomState | None = None
    ) -> RandDegradeResolutiond:
        super().set_random_state(seed, state)
        self.rand_degrader.set_random_state(seed, state)
        return self

    def set_factors(self, factors: Sequence[int | Sequence[int]], weights: Sequence[float] | None = None) -> None:
        """Replace the set of factors to draw from."""
        self.rand_degrader.set_factors(factors, weights)

    @property
    def factor(self) -> tuple[int, int, int] | None:
        """The last drawn factor."""
        return self.rand_degrader.factor

    def randomize(self, data: object = None) -> None:
        """Draw once for the whole sample."""
        self.rand_degrader.randomize()

    def __call__(
        self, data: Mapping[Hashable, NdarrayOrTensor], randomize: bool = True
    ) -> dict[Hashable, NdarrayOrTensor]:
        d = dict(data)
        require_keys(d, self.keys, self.allow_missing_keys)
        if randomize:
            self.randomize()
        if self.rand_degrader.factor is None:
            raise ValueError("randomize=False: expected a previous draw to replay, got none (call randomize() first)")
        for key, out_key in self.key_iterator(d, self.output_keys):
            if self.rand_degrader._do_transform:
                d[out_key] = self.rand_degrader.degrader._apply(d[key], self.rand_degrader.factor, f"key '{key}'")
            else:
                d[out_key] = d[key]
        return d
