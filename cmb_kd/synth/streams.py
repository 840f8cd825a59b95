"""Random streams of a subject seed: one main stream and one independent stream per feature of randomised physics."""

from __future__ import annotations

import numpy as np

__all__ = ["FEATURE_STREAMS", "feature_stream"]

#: Spawn key of the random stream of each feature of randomised physics: ``SeedSequence(seed, spawn_key=(k,))``;
#: the main stream (spawn key ``()``) draws everything else, in the same order whichever features are on.
FEATURE_STREAMS = {
    "contrast": 1,
    "tiny": 2,
    "location": 3,
    "cluster": 4,
    "thin_vein": 5,
    "flow_void": 6,
    "sulcal_cleft": 7,
    "air": 8,
}


def feature_stream(seed: int, name: str) -> np.random.Generator:
    """The random stream of one feature of randomised physics, independent of the main stream and of the others.

    Args:
        seed: subject seed.
        name: feature name, a key of :data:`FEATURE_STREAMS`.

    Returns:
        A generator seeded by ``SeedSequence(seed, spawn_key=(FEATURE_STREAMS[name],))``.

    Raises:
        ValueError: if ``name`` is not a feature of :data:`FEATURE_STREAMS`.
    """
    if name not in FEATURE_STREAMS:
        raise ValueError(f"name: expected one of {sorted(FEATURE_STREAMS)}, got {name!r}")
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(FEATURE_STREAMS[name],)))
