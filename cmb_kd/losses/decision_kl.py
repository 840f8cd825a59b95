"""Kullback-Leibler decision transfer (KT-ViT eq. 5) for sigmoid or softmax outputs."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from cmb_kd.checks import as_option
from cmb_kd.losses.transfer_loss import TransferLoss

__all__ = ["DecisionKLLoss"]


class DecisionKLLoss(TransferLoss):
    """KL divergence between the student's and the teacher's voxel-wise decision distributions.

    From Hua et al., KT-ViT (``001``), eq. 5: KL(P_L ‖ P_H) = Σ_i P_L(i) · log(P_L(i) / P_H(i)), with P_L the
    low-resolution student's and P_H the high-resolution teacher's probabilities (``direction="student_teacher"``,
    the default); ``direction="teacher_student"`` gives the reverse, KL(P_H ‖ P_L), the form of Hinton's
    distillation.

    - ``activation="sigmoid"``: each channel of each voxel is a Bernoulli distribution (p, 1 − p), the form for
      one-channel CMB or vessel logits;
    - ``activation="softmax"``: the channels of each voxel are one categorical distribution.

    The divergence is summed over the outcomes of a voxel, averaged over voxels (and over channels for sigmoid)
    so that it is normalised per voxel, then reduced over the batch. With temperature T the logits are divided
    by T and the result multiplied by T², which keeps gradient magnitudes comparable across temperatures.

    Numerical safety: log-probabilities come from ``logsigmoid`` / ``log_softmax`` and are clamped below at
    ``log(eps)``; with ``inputs="probabilities"`` the probabilities are clamped to [eps, 1 − eps]. Probabilities of
    exactly 0 or 1 therefore give finite values and gradients. The maths runs in float32 with autocast disabled.

    Args:
        activation: ``"sigmoid"`` (Bernoulli) or ``"softmax"`` (categorical over channels).
        direction: ``"student_teacher"`` for KL(P_S ‖ P_T) (KT-ViT eq. 5) or ``"teacher_student"``.
        temperature: T > 0.
        inputs: ``"logits"`` (default) or ``"probabilities"``.
        eps: probability floor, in (0, 0.5).
        reduction: ``"mean"``/``"sum"`` over the batch or ``"none"`` (shape ``(B,)``).

    Raises:
        ValueError: an unknown option, ``temperature <= 0``, ``eps`` outside (0, 0.5), or a softmax input with
            fewer than 2 channels.
    """

    ACTIVATIONS = ("sigmoid", "softmax")
    DIRECTIONS = ("student_teacher", "teacher_student")
    INPUTS = ("logits", "probabilities")

    def __init__(
        self,
        *,
        activation: str = "sigmoid",
        direction: str = "student_teacher",
        temperature: float = 1.0,
        inputs: str = "logits",
        eps: float = 1e-7,
        reduction: str = "mean",
    ) -> None:
        super().__init__(reduction=reduction)
        self.activation = as_option("activation", activation, self.ACTIVATIONS)
        self.direction = as_option("direction", direction, self.DIRECTIONS)
        self.inputs = as_option("inputs", inputs, self.INPUTS)
        if not temperature > 0:
            raise ValueError(f"temperature: expected a number > 0, got {temperature}")
        if not 0 < eps < 0.5:
            raise ValueError(f"eps: expected a number in (0, 0.5), got {eps}")
        self.temperature = float(temperature)
        self.eps = float(eps)

    def _log_probs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Log-probabilities of the outcomes of each voxel: [log p, log(1 − p)] or [log_softmax over C]."""
        floor = math.log(self.eps)
        if self.inputs == "probabilities":
            p = x.clamp(self.eps, 1.0 - self.eps)
            if self.activation == "sigmoid":
                return [p.log(), (1.0 - p).log()]
            return [(p / p.sum(dim=1, keepdim=True)).log().clamp_min(floor)]
        z = x / self.temperature
        if self.activation == "sigmoid":
            return [F.logsigmoid(z).clamp_min(floor), F.logsigmoid(-z).clamp_min(floor)]
        return [F.log_softmax(z, dim=1).clamp_min(floor)]

    def per_sample(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        """KL divergence per sample ``(B,)``, normalised per voxel and multiplied by T²."""
        if self.activation == "softmax" and student.shape[1] < 2:
            raise ValueError(
                f"DecisionKLLoss: softmax needs at least 2 channels, got shape {tuple(student.shape)}; "
                "use activation='sigmoid' for one-channel logits."
            )
        log_s, log_t = self._log_probs(student), self._log_probs(teacher)
        if self.direction == "teacher_student":
            log_s, log_t = log_t, log_s
        # KL(P || Q) with P = exp(log_s), summed over the outcomes of each voxel
        kl = sum(lp.exp() * (lp - lq) for lp, lq in zip(log_s, log_t))
        if self.activation == "softmax":
            kl = kl.sum(dim=1)
        scale = self.temperature**2 if self.inputs == "logits" else 1.0
        return kl.flatten(1).mean(dim=1) * scale

    def extra_repr(self) -> str:
        return (
            f"activation={self.activation!r}, direction={self.direction!r}, temperature={self.temperature}, "
            f"inputs={self.inputs!r}, reduction={self.reduction!r}"
        )
