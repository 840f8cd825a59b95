"""Numeric head phantom: concentric ellipsoids (brain, CSF rim, dark skull, bright scalp), bias field, Rician noise."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass
class Phantom:
    """A phantom head on a grid: magnitude ``(X, Y, Z)``, true intracranial mask, affine."""

    magnitude: np.ndarray
    brain_mask: np.ndarray
    affine: np.ndarray
    factor: int = 1


def head_phantom(shape: tuple[int, int, int] = (96, 112, 88), seed: int = 0, lr_factor: int = 4) -> dict:
    """Return ``{"hr": Phantom, "lr": Phantom}``; the LR one is the native thick-slice acquisition at ``lr_factor``.

    The grid is 1 mm isotropic RAS. The brain (grey/white texture, a dark deep nucleus and a few dark dots) is
    wrapped by a 2-3 mm CSF rim, a 4-7 mm dark skull and a 4-6 mm bright scalp. The intracranial mask (brain + CSF)
    is the truth. A smooth multiplicative bias field (amplitude 0.25) and Rician noise are applied; the LR
    acquisition is the complex mean of ``lr_factor`` HR slices, noise added after averaging.
    """
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.arange(n, dtype=np.float32) for n in shape], indexing="ij"))
    centre = np.array(shape, dtype=np.float32) / 2 + rng.uniform(-2, 2, 3).astype(np.float32)
    radii = np.array(shape, dtype=np.float32) * np.array([0.33, 0.34, 0.33]) * rng.uniform(0.92, 1.02)
    rel = (grid - centre[:, None, None, None]) / radii[:, None, None, None]
    rho = np.sqrt((rel**2).sum(0))  # 1 at the brain surface
    mean_r = float(radii.mean())
    depth = (rho - 1.0) * mean_r  # mm outside the brain surface (approximately)
    csf, skull, scalp = rng.uniform(2, 3), rng.uniform(4, 7), rng.uniform(4, 6)
    signal = np.zeros(shape, np.float32)
    texture = ndimage.gaussian_filter(rng.normal(size=shape).astype(np.float32), 3)
    brain = depth <= 0
    signal[brain] = 0.62 + 0.15 * np.tanh(texture[brain] * 8)
    deep = (((grid - centre[:, None, None, None] - np.array([6, 0, 4])[:, None, None, None]) / 7.0) ** 2).sum(0) < 1
    signal[deep & brain] = 0.35
    for _ in range(8):
        p = centre + rng.uniform(-0.5, 0.5, 3) * radii
        signal[(((grid - p[:, None, None, None]) / 1.5) ** 2).sum(0) < 1] = 0.1
    signal[(depth > 0) & (depth <= csf)] = 1.0
    signal[(depth > csf) & (depth <= csf + skull)] = 0.05
    signal[(depth > csf + skull) & (depth <= csf + skull + scalp)] = 0.9
    intracranial = depth <= csf
    bias = ndimage.zoom(rng.normal(size=(3, 3, 3)), np.array(shape) / 3.0, order=3, mode="nearest", grid_mode=True)
    bias = 1.0 + 0.25 * bias / max(np.abs(bias).max(), 1e-6)
    clean = signal * bias.astype(np.float32)
    sigma = 0.03
    affine = np.eye(4)
    affine[:3, 3] = -np.array(shape) / 2

    def rician(x: np.ndarray) -> np.ndarray:
        return np.abs(x + sigma * (rng.normal(size=x.shape) + 1j * rng.normal(size=x.shape))).astype(np.float32)

    hr = Phantom(rician(clean), intracranial.astype(np.uint8), affine)
    f = lr_factor
    lr_clean = clean.reshape(shape[0], shape[1], shape[2] // f, f).mean(-1)
    lr_mask = intracranial.reshape(shape[0], shape[1], shape[2] // f, f).mean(-1) >= 0.5
    lr_affine = affine @ np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, f, (f - 1) / 2], [0, 0, 0, 1]], dtype=float)
    lr = Phantom(rician(lr_clean), lr_mask.astype(np.uint8), lr_affine, f)
    return {"hr": hr, "lr": lr, "clean": clean, "noise_sigma": sigma}
