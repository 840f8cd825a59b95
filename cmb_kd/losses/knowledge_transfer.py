"""Weighted sum of a supervised loss and named knowledge-transfer terms (PLKD eq. 2-3, KT-ViT eq. 7)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn as nn

from cmb_kd.losses.feature_pair import float32_region

__all__ = ["KnowledgeTransferLoss", "TransferTerm"]

TOTAL = "total"
SUPERVISED = "supervised"
TRANSFER = "transfer"
RESERVED = (TOTAL, SUPERVISED, TRANSFER)


@dataclass(frozen=True)
class TransferTerm:
    """One knowledge-transfer term: ``weight · loss(student[student_tap], teacher[teacher_tap])``.

    Args:
        name: the term's name (logged as ``loss_<name>``).
        student_tap: tap name of the student's feature.
        teacher_tap: tap name of the teacher's feature.
        weight: non-negative weight w_k.
    """

    name: str
    student_tap: str
    teacher_tap: str
    weight: float


class KnowledgeTransferLoss(nn.Module):
    """L_total = α · L_supervised + β · Σ_k w_k · L_k(f_S[tap_k], f_T[tap_k]).

    One class for both source papers:

    - PLKD (``000``, eq. 2-3): terms ``cosine`` at ``geometric`` and ``semantic`` with w = 0.5 each, α = 0.6,
      β = 0.4, soft Dice as the supervised loss;
    - KT-ViT (``001``, eq. 7): ``FeatureMSELoss`` at ``feature1..feature4`` with weights w_i and
      ``DecisionKLLoss`` at ``decision`` with weight w, α = β = 1, BCE as the supervised loss.

    The supervised loss is computed elsewhere (by the trainer's ``loss_function``) and passed in. ``forward``
    returns every named term, their weighted sum ``transfer`` and the ``total``; ``formula`` (also ``str()``)
    writes the formula out.

    Args:
        terms: a sequence of mappings (or :class:`TransferTerm`-like mappings) with keys ``name``, ``loss`` (an
            ``nn.Module`` called as ``loss(student, teacher)``), ``tap`` (student tap), optional ``teacher_tap``
            (default: ``tap``) and ``weight`` (default 1).
        supervised_weight: α >= 0.
        transfer_weight: β >= 0.

    Raises:
        ValueError: no term, a negative weight, a duplicate or reserved name, a missing key.
        TypeError: a term is not a mapping or its ``loss`` is not an ``nn.Module``.
    """

    def __init__(
        self, terms: Sequence[Mapping], *, supervised_weight: float = 1.0, transfer_weight: float = 1.0
    ) -> None:
        super().__init__()
        if isinstance(terms, Mapping) or not isinstance(terms, Sequence) or len(terms) == 0:
            raise ValueError(f"terms: expected a non-empty sequence of term mappings, got {terms!r}")
        for arg, value in (("supervised_weight", supervised_weight), ("transfer_weight", transfer_weight)):
            if not float(value) >= 0:
                raise ValueError(f"{arg}: expected a number >= 0, got {value}")
        self.supervised_weight = float(supervised_weight)
        self.transfer_weight = float(transfer_weight)
        specs: list[TransferTerm] = []
        losses = nn.ModuleDict()
        for i, term in enumerate(terms):
            if not isinstance(term, Mapping):
                raise TypeError(f"terms[{i}]: expected a mapping with keys name, loss, tap, weight, got {term!r}")
            missing = [k for k in ("name", "loss", "tap") if k not in term]
            if missing:
                raise ValueError(f"terms[{i}] lacks key(s) {missing}; got keys {sorted(term)}.")
            unknown = sorted(set(term) - {"name", "loss", "tap", "teacher_tap", "weight"})
            if unknown:
                raise ValueError(
                    f"terms[{i}] has unknown key(s) {unknown}; valid: name, loss, tap, teacher_tap, weight."
                )
            name = str(term["name"])
            if name in RESERVED or name in losses:
                raise ValueError(f"terms[{i}]: name {name!r} is reserved or used twice (reserved: {RESERVED}).")
            if not isinstance(term["loss"], nn.Module):
                raise TypeError(f"terms[{i}] ({name!r}): loss: expected a torch.nn.Module, got {type(term['loss'])}")
            weight = float(term.get("weight", 1.0))
            if not weight >= 0:
                raise ValueError(f"terms[{i}] ({name!r}): weight: expected a number >= 0, got {term.get('weight')}")
            tap = str(term["tap"])
            specs.append(TransferTerm(name, tap, str(term.get("teacher_tap", tap)), weight))
            losses[name] = term["loss"]
        self.terms: tuple[TransferTerm, ...] = tuple(specs)
        self.losses = losses

    @property
    def student_taps(self) -> list[str]:
        """Student tap names used by the terms (unique, in order)."""
        return list(dict.fromkeys(t.student_tap for t in self.terms))

    @property
    def teacher_taps(self) -> list[str]:
        """Teacher tap names used by the terms (unique, in order)."""
        return list(dict.fromkeys(t.teacher_tap for t in self.terms))

    @property
    def formula(self) -> str:
        """The loss written out, e.g. ``total = 0.6·supervised + 0.4·(0.5·geo[CosineFeatureLoss](geometric) ...)``."""
        parts = []
        for t in self.terms:
            taps = t.student_tap if t.student_tap == t.teacher_tap else f"{t.student_tap}->{t.teacher_tap}"
            parts.append(f"{t.weight:g}·{t.name}[{type(self.losses[t.name]).__name__}]({taps})")
        return f"{TOTAL} = {self.supervised_weight:g}·{SUPERVISED} + {self.transfer_weight:g}·({' + '.join(parts)})"

    def forward(
        self,
        supervised: torch.Tensor,
        student_features: Mapping[str, torch.Tensor],
        teacher_features: Mapping[str, torch.Tensor],
    ) -> dict[str, torch.Tensor]:
        """Compute every term and the weighted total.

        Args:
            supervised: the supervised loss, a scalar tensor (e.g. soft Dice or BCE of the student).
            student_features: tap name -> student tensor ``(B, C_s, *spatial)``.
            teacher_features: tap name -> teacher tensor ``(B, C_t, *spatial)``.

        Returns:
            ``{"supervised": ..., <term name>: ..., "transfer": Σ w_k L_k, "total": α·supervised + β·transfer}``,
            float32 scalars.

        Raises:
            KeyError: a tap is missing from the features (the available taps are listed).
        """
        out: dict[str, torch.Tensor] = {}
        with float32_region(supervised.device):
            sup = supervised.float().mean()
            out[SUPERVISED] = sup
            transfer = sup.new_zeros(())
            for t in self.terms:
                for side, feats, tap in (
                    ("student", student_features, t.student_tap),
                    ("teacher", teacher_features, t.teacher_tap),
                ):
                    if tap not in feats:
                        raise KeyError(f"term {t.name!r}: {side} tap {tap!r} missing; available: {sorted(feats)}.")
                value = self.losses[t.name](student_features[t.student_tap], teacher_features[t.teacher_tap])
                out[t.name] = value
                transfer = transfer + t.weight * value
            out[TRANSFER] = transfer
            out[TOTAL] = self.supervised_weight * sup + self.transfer_weight * transfer
        return out

    def __str__(self) -> str:
        return self.formula
