"""Ignite handler driving the LR factor of the training data by curriculum stage (PLKD progressive learning)."""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
from ignite.engine import Engine, Events

from cmb_kd.checks import as_factor_triple, as_option
from cmb_kd.handlers.atomic_checkpoint_saver import save_atomic

__all__ = ["CurriculumStage", "ProgressiveResolutionHandler"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CurriculumStage:
    """One stage: train for ``length`` epochs (or iterations) at LR ``factor``, with or without distillation."""

    name: str
    factor: int | tuple[int, ...]
    length: int
    distill: bool = True


class ProgressiveResolutionHandler:
    """Sets the degradation factor per curriculum stage and saves the student at the end of each stage.

    PLKD (``000``, Sec. 2.2, Fig. 5) trains the student on HR/LR pairs at ×2 (primary student), then ×4 (middle),
    then ×8 (senior), each stage starting from the previous student, then fine-tunes it at the target resolution
    (final). The same handler expresses the ablations of the paper's Table 4 through ``mode``:

    ============  =====================================================================================
    ``"plkd"``     primary ×2 → middle ×4 → senior ×8 → final × ``target_factor`` (distillation on)
    ``"direct_kd"`` one stage, final × ``target_factor``, distillation on
    ``"no_kd"``    one stage, final × ``target_factor``, distillation off
    ============  =====================================================================================

    or explicitly through ``stages``. The stage of an iteration is computed from ``engine.state.iteration`` at every
    ``ITERATION_STARTED``, so the factor changes exactly at the configured boundaries and is right after a resume
    whatever order the handlers were attached in. ``degrade`` is any object with a settable ``factor``: the
    trainer's :class:`~cmb_kd.handlers.PrepareLowResolutionBatch` (degradation on the training device after
    batching, the recommended wiring) or a ``DegradeResolutiond`` in a transform chain run in the main process
    (``num_workers=0``; worker processes would keep their own copy).

    At the last iteration of each stage (``ITERATION_COMPLETED``) the student (``engine.network``, unwrapped from
    DDP) is written to ``save_dir/<prefix>_<stage>.pt`` as a plain state dict, by rank 0 only, through a
    temporary name; then, if asked, the optimiser and LR scheduler are reset to their initial state for the next
    stage. ``engine.state.curriculum_stage`` and ``engine.state.degrade_factor`` tell other handlers (e.g.
    ``StatsHandler(state_attributes=...)``) where the run is. The saved-stage list is part of the checkpoint.

    Args:
        degrade: object whose ``factor`` is set (``PrepareLowResolutionBatch``, ``DegradeResolution(d)``).
        stages: explicit stages, mappings with ``name``, ``factor``, ``length`` and optional ``distill``; when
            given, ``mode``, ``target_factor`` and ``lengths`` are not used.
        mode: ``"plkd"``, ``"direct_kd"`` or ``"no_kd"``.
        target_factor: the factor of the target LR domain (final stage).
        lengths: stage length, one for all stages or one per stage.
        unit: ``"epochs"`` or ``"iterations"``.
        save_dir: folder of the stage checkpoints (``None``: not saved).
        prefix: file name prefix of the stage checkpoints.
        distillation: optional handler with an ``enabled`` attribute (``DistillationHandler``), switched per stage.
        optimizer: the student's optimizer (needed for ``reset_optimizer``); its initial state is copied here.
        reset_optimizer: restore the optimiser's initial state (moments, learning rate) at each new stage.
        lr_scheduler: optional LR scheduler reset with the optimiser.
        iteration_started_event: event at which the factor is set.
        iteration_completed_event: event at which a finished stage is saved.

    Raises:
        ValueError: unknown mode or unit, no stage, a non-positive length, a factor that is not an integer >= 1 (or
            three of them), duplicate stage names, lengths of the wrong size, ``reset_optimizer`` without
            ``optimizer``; at run start, a run longer than the curriculum.
        TypeError: ``degrade`` has no ``factor``.
    """

    MODES = ("plkd", "direct_kd", "no_kd")
    UNITS = ("epochs", "iterations")
    PLKD_STAGES = (("primary", 2), ("middle", 4), ("senior", 8))

    def __init__(
        self,
        degrade: Any,
        stages: Sequence[Mapping[str, Any]] | None = None,
        *,
        mode: str = "plkd",
        target_factor: int | Sequence[int] = 4,
        lengths: int | Sequence[int] = 1,
        unit: str = "epochs",
        save_dir: str | Path | None = None,
        prefix: str = "student",
        distillation: Any = None,
        optimizer: torch.optim.Optimizer | None = None,
        reset_optimizer: bool = False,
        lr_scheduler: Any = None,
        iteration_started_event: Events = Events.ITERATION_STARTED,
        iteration_completed_event: Events = Events.ITERATION_COMPLETED,
    ) -> None:
        if not hasattr(degrade, "factor"):
            raise TypeError(f"degrade must have a settable factor (e.g. PrepareLowResolutionBatch), got {degrade!r}.")
        if distillation is not None and not hasattr(distillation, "enabled"):
            raise TypeError(f"distillation must have an 'enabled' attribute, got {type(distillation).__name__}.")
        self.degrade = degrade
        self.mode = as_option("mode", mode, self.MODES)
        self.unit = as_option("unit", unit, self.UNITS)
        self.stages = self._build_stages(stages, self.mode, target_factor, lengths)
        self.save_dir = None if save_dir is None else Path(save_dir)
        self.prefix = prefix
        self.distillation = distillation
        self.reset_optimizer = bool(reset_optimizer)
        self.lr_scheduler = lr_scheduler
        self.iteration_started_event = iteration_started_event
        self.iteration_completed_event = iteration_completed_event
        self.saved: list[str] = []
        self._ends: list[int] | None = None
        self.optimizer = optimizer
        self._initial_optimizer: dict | None = None
        self._initial_scheduler: dict | None = None
        if self.reset_optimizer:
            if optimizer is None:
                raise ValueError("reset_optimizer=True needs the optimizer (pass optimizer=...).")
            self._initial_optimizer = copy.deepcopy(optimizer.state_dict())
            if lr_scheduler is not None:
                self._initial_scheduler = copy.deepcopy(lr_scheduler.state_dict())
        self._engines: list[Engine] = []

    @classmethod
    def _build_stages(
        cls, stages: Sequence[Mapping[str, Any]] | None, mode: str, target: Any, lengths: Any
    ) -> tuple[CurriculumStage, ...]:
        if stages is None:
            table = [*cls.PLKD_STAGES, ("final", target)] if mode == "plkd" else [("final", target)]
            lens = [lengths] * len(table) if isinstance(lengths, int) else list(lengths)
            if len(lens) != len(table):
                raise ValueError(f"lengths: expected one int or {len(table)} ints for mode {mode!r}, got {lengths}")
            stages = [
                {"name": n, "factor": f, "length": n_len, "distill": mode != "no_kd"}
                for (n, f), n_len in zip(table, lens)
            ]
        if len(stages) == 0:
            raise ValueError("stages must hold at least one stage.")
        out = []
        for i, s in enumerate(stages):
            missing = [k for k in ("name", "factor", "length") if k not in s]
            if missing:
                raise ValueError(f"stages[{i}] lacks key(s) {missing}; got {dict(s)}.")
            length = int(s["length"])
            if length < 1:
                raise ValueError(f"stages[{i}] ({s['name']!r}): length: expected >= 1, got {s['length']}")
            factor = cls._stage_factor(s["factor"], f"stages[{i}] ({s['name']!r}): factor")
            out.append(CurriculumStage(str(s["name"]), factor, length, bool(s.get("distill", True))))
        names = [s.name for s in out]
        if len(set(names)) != len(names):
            raise ValueError(f"stages: expected unique stage names, got {names}")
        return tuple(out)

    @staticmethod
    def _stage_factor(factor: Any, name: str) -> int | tuple[int, int, int]:
        """An integer factor (slice axis) stays an int, per-axis factors become a triple; both must be ints >= 1."""
        triple = as_factor_triple(factor, name)
        return int(factor) if isinstance(factor, (int, np.integer)) else triple

    @property
    def total_length(self) -> int:
        """Sum of the stage lengths, in ``unit``."""
        return sum(s.length for s in self.stages)

    def stage_paths(self) -> dict[str, Path]:
        """Stage name -> checkpoint path (``save_dir`` must be set)."""
        if self.save_dir is None:
            raise ValueError("save_dir is None: stage checkpoints are not written.")
        return {s.name: self.save_dir / f"{self.prefix}_{s.name}.pt" for s in self.stages}

    def attach(self, engine: Engine) -> None:
        """Register on ``engine`` (idempotent)."""
        if any(e is engine for e in self._engines):
            return
        engine.add_event_handler(Events.STARTED, self._started)
        engine.add_event_handler(self.iteration_started_event, self._iteration_started)
        engine.add_event_handler(self.iteration_completed_event, self._iteration_completed)
        self._engines.append(engine)

    def _started(self, engine: Engine) -> None:
        epoch_length = engine.state.epoch_length
        if epoch_length is None:
            raise ValueError("ProgressiveResolutionHandler needs a known epoch_length (set it on the trainer).")
        scale = epoch_length if self.unit == "epochs" else 1
        ends, acc = [], 0
        for s in self.stages:
            acc += s.length * scale
            ends.append(acc)
        self._ends = ends
        planned = engine.state.max_epochs * epoch_length
        if planned > ends[-1]:
            raise ValueError(
                f"the trainer runs {engine.state.max_epochs} epochs x {epoch_length} iterations = {planned} "
                f"iterations but the curriculum {[(s.name, s.length) for s in self.stages]} ({self.unit}) covers "
                f"{ends[-1]}; set max_epochs to {ends[-1] // epoch_length} or lengthen the stages."
            )
        logger.info(
            "curriculum (%s, %s): %s",
            self.mode,
            self.unit,
            ", ".join(f"{s.name} x{s.factor} ({s.length})" for s in self.stages),
        )

    def stage_index(self, iteration: int) -> int:
        """Index of the stage that iteration ``iteration`` (1-based) belongs to."""
        if self._ends is None:
            raise RuntimeError("the handler has not seen Events.STARTED yet.")
        for i, end in enumerate(self._ends):
            if iteration <= end:
                return i
        return len(self.stages) - 1

    def _iteration_started(self, engine: Engine) -> None:
        stage = self.stages[self.stage_index(engine.state.iteration)]
        self.degrade.factor = stage.factor
        if getattr(engine.state, "curriculum_stage", None) != stage.name:
            if self.distillation is not None:
                self.distillation.enabled = stage.distill
            engine.state.curriculum_stage = stage.name
            engine.state.degrade_factor = stage.factor
            logger.info("stage %r from iteration %d: factor %s", stage.name, engine.state.iteration, stage.factor)

    def _iteration_completed(self, engine: Engine) -> None:
        if self._ends is None or engine.state.iteration not in self._ends:
            return
        index = self._ends.index(engine.state.iteration)
        stage = self.stages[index]
        if self.save_dir is not None and stage.name not in self.saved:
            self._save(engine, stage)
        if stage.name not in self.saved:
            self.saved.append(stage.name)
        if self.reset_optimizer and index + 1 < len(self.stages):
            self.optimizer.load_state_dict(copy.deepcopy(self._initial_optimizer))
            if self.lr_scheduler is not None:
                self.lr_scheduler.load_state_dict(copy.deepcopy(self._initial_scheduler))

    def _save(self, engine: Engine, stage: CurriculumStage) -> None:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            if torch.distributed.get_rank() != 0:
                return
        network = engine.network
        if isinstance(network, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
            network = network.module
        path = self.stage_paths()[stage.name]
        path.parent.mkdir(parents=True, exist_ok=True)
        save_atomic(network.state_dict(), path)
        logger.info("stage %r finished at iteration %d: saved %s", stage.name, engine.state.iteration, path)

    def state_dict(self) -> dict[str, Any]:
        """``{"saved": [stage names whose checkpoints are written]}``."""
        return {"saved": list(self.saved)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the saved-stage list.

        Raises:
            KeyError: ``state`` lacks ``saved``.
        """
        if "saved" not in state:
            raise KeyError(f"ProgressiveResolutionHandler state lacks 'saved'; got keys {sorted(state)}.")
        self.saved = [str(s) for s in state["saved"]]
