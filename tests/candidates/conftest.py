"""Tiny synthetic scenes for the candidate tests: dark Gaussian balls and dark tubes in noise, in mm."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest

BACKGROUND = 100.0


def _coordinates(shape: Sequence[int], spacing: Sequence[float]) -> list[np.ndarray]:
    return np.meshgrid(*[np.arange(n) * s for n, s in zip(shape, spacing)], indexing="ij", sparse=True)


def make_scene(
    shape: Sequence[int],
    spacing: Sequence[float],
    *,
    balls: Sequence[tuple[Sequence[float], float]] = (),
    tubes: Sequence[tuple[Sequence[float], Sequence[float], float, float]] = (),
    depth: float = 0.8,
    noise: float = 1.0,
    seed: int = 0,
) -> np.ndarray:
    """Image ``(X, Y, Z)`` at ``spacing`` mm with dark balls and straight dark tubes.

    Args:
        balls: ``(centre_mm, radius_mm)``; a ball darkens by ``depth`` with a smooth edge at its radius.
        tubes: ``(start_mm, direction, length_mm, radius_mm)``.
    """
    coords = _coordinates(shape, spacing)
    darkness = np.zeros(tuple(shape), np.float64)
    for centre, radius in balls:
        r = np.sqrt(sum((c - p) ** 2 for c, p in zip(coords, centre)))
        darkness = np.maximum(darkness, 1.0 / (1.0 + np.exp((r - radius) / 0.4)))
    for start, direction, length, radius in tubes:
        unit = np.asarray(direction, float) / np.linalg.norm(direction)
        rel = [c - p for c, p in zip(coords, start)]
        along = np.clip(sum(r * u for r, u in zip(rel, unit)), 0.0, length)
        across = np.sqrt(sum((r - along * u) ** 2 for r, u in zip(rel, unit)))
        darkness = np.maximum(darkness, 1.0 / (1.0 + np.exp((across - radius) / 0.4)))
    rng = np.random.default_rng(seed)
    image = BACKGROUND * (1.0 - depth * darkness) + rng.normal(0.0, noise, size=tuple(shape))
    return image.astype(np.float32)


def centre_voxel(centre_mm: Sequence[float], spacing: Sequence[float]) -> tuple[int, int, int]:
    """Nearest voxel of a point in mm (grid origin at 0)."""
    return tuple(int(round(c / s)) for c, s in zip(centre_mm, spacing))  # type: ignore[return-value]


@pytest.fixture
def scene() -> Callable[..., np.ndarray]:
    """The :func:`make_scene` factory."""
    return make_scene


@pytest.fixture
def to_voxel() -> Callable[..., tuple[int, int, int]]:
    """The :func:`centre_voxel` helper."""
    return centre_voxel
