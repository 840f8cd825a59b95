"""Stage 1's learned source: the screening FCN's CMB probability over a whole standardised volume.

PLKD (``000_2429e8a773e1f797``) screens the volume with a small fully convolutional network before its
segmentation network looks at candidates; its score map joins FRST and the dark spots in
:class:`~cmb_kd.candidates.CandidateDetector` as the source ``"fcn"``.
"""

from __future__ import annotations

import numpy as np
import torch
from monai.data import MetaTensor
from monai.inferers import Inferer, SlidingWindowInferer

__all__ = ["ScreeningScoreMap"]


class ScreeningScoreMap:
    """The screening FCN run over a volume by its own inferer, returning the CMB probability per voxel.

    Args:
        network: screening FCN ``(B, 1, ...) -> (B, 1, ...)`` logits (or two channels, the second the CMB's) of any
            size; moved to ``device`` and put in ``eval()`` mode.
        inferer: whole-volume inferer (default ``SlidingWindowInferer((64, 64, 32), sw_batch_size=2,
            overlap=0.25)``, the bundle's).
        amp: run under float16 autocast on CUDA (ignored on the CPU); the probability is computed in float32.
        device: where the network runs.

    Raises:
        ValueError: when ``network`` is not a ``torch.nn.Module``.

    Example:
        >>> from cmb_kd.networks import ScreeningFCN
        >>> score = ScreeningScoreMap(ScreeningFCN(3, 1, 1), SlidingWindowInferer((16, 16, 8)))
        >>> score(torch.zeros(1, 1, 20, 20, 10)).shape
        (20, 20, 10)
    """

    def __init__(
        self,
        network: torch.nn.Module,
        inferer: Inferer | None = None,
        amp: bool = False,
        device: str | torch.device = "cpu",
    ) -> None:
        if not isinstance(network, torch.nn.Module):
            raise ValueError(f"network: expected a torch.nn.Module (the screening FCN), got {type(network).__name__}")
        self.device = torch.device(device)
        self.network = network.to(self.device).eval()
        self.inferer = (
            SlidingWindowInferer(roi_size=(64, 64, 32), sw_batch_size=2, overlap=0.25) if inferer is None else inferer
        )
        self.amp = bool(amp)

    def __call__(self, image: torch.Tensor) -> np.ndarray:
        """The CMB probability over a standardised volume ``(1, 1, X, Y, Z)``, float32 ``(X, Y, Z)`` on the host."""
        image = image.to(self.device)
        autocast = torch.autocast(device_type="cuda", enabled=self.amp and self.device.type == "cuda")
        with torch.no_grad(), autocast:
            logits = self.inferer(image, self.network)
        logits = (logits.as_tensor() if isinstance(logits, MetaTensor) else logits).float()
        score = torch.sigmoid(logits[0, 0]) if logits.shape[1] == 1 else torch.softmax(logits[0], dim=0)[1]
        return score.cpu().numpy()
