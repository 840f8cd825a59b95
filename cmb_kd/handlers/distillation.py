"""Ignite handler adding knowledge transfer from a frozen teacher to a MONAI SupervisedTrainer's loss."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from ignite.engine import Events
from monai.engines import IterationEvents, SupervisedTrainer
from monai.utils import CommonKeys

from cmb_kd.handlers.loss_terms import LOSS_TERM_PREFIX
from cmb_kd.losses import KnowledgeTransferLoss
from cmb_kd.networks import FeatureTaps, load_network_weights

__all__ = ["DistillationHandler"]

logger = logging.getLogger(__name__)


class DistillationHandler:
    """Replaces a trainer's loss by α·L_supervised + β·Σ_k w_k·L_k(student, frozen teacher) before backward.

    The PLKD (``000``) and KT-ViT (``001``) objectives are two configurations of this handler: the terms, taps and
    weights live in a :class:`~cmb_kd.losses.KnowledgeTransferLoss`.

    How it hooks into MONAI's ``SupervisedTrainer._iteration`` (MONAI 1.x): the iteration computes
    ``output[PRED]``, fires ``FORWARD_COMPLETED``, computes ``output[LOSS] = loss_function(pred, label).mean()``,
    fires ``LOSS_COMPLETED`` and only then reads ``output[LOSS]`` for ``backward()`` (inside the AMP autocast
    region when ``amp=True``). On ``LOSS_COMPLETED`` this handler

    1. collects the student's features recorded by forward hooks (:class:`~cmb_kd.networks.FeatureTaps` on
       ``engine.network``, a DDP wrapper is unwrapped; hooks cleared at every ``ITERATION_STARTED``);
    2. runs the teacher on ``engine.state.batch[teacher_input_key]`` (the HR image, moved to the device) under
       ``torch.no_grad()``, recording its features;
    3. computes the transfer terms in float32 with autocast disabled and writes
       ``output[LOSS] = total``, the unweighted values under ``output["loss_<name>"]`` (``loss_supervised``,
       ``loss_transfer``, one per term) for ``StatsHandler`` / ``TensorBoardStatsHandler`` (see
       :func:`~cmb_kd.handlers.loss_terms`).

    The teacher lives outside ``engine.network`` and is frozen three ways: ``eval()``, ``requires_grad_(False)``
    and ``torch.no_grad()``. It is moved to the trainer's device when the run starts. Trainable adapters of the
    terms (when student and teacher channels differ) are added to ``optimizer`` as a new parameter group and their
    gradients are averaged across processes under DDP. The handler's state (``enabled`` and the adapters) is part
    of the checkpoint through ``state_dict`` / ``load_state_dict``; the teacher's weights are not, they come from
    ``teacher_checkpoint``.

    Args:
        teacher: the teacher network (e.g. an E²U-Net or KT-ViT H-net trained on HR patches).
        loss: the compound transfer loss (terms, taps, α, β).
        teacher_input_key: key of ``engine.state.batch`` holding the teacher's input, ``(B, C, H, W, D)``.
        teacher_checkpoint: optional path of the teacher's weights, loaded strictly; a plain state dict or a dict
            holding one under ``checkpoint_key``.
        checkpoint_key: key of the state dict inside a checkpoint dict (``"model"`` for MONAI bundles).
        optimizer: the student's optimizer; required when the loss has trainable adapters, which are added to it
            as a new parameter group here, before any checkpoint is loaded into it.
        enabled: whether the transfer terms are added (the curriculum switches it for no-KD stages; when off, the
            supervised loss is kept and logged).
        event: the event at which the loss is replaced; ``IterationEvents.LOSS_COMPLETED`` (or its name), the
            only event of ``SupervisedTrainer`` between the loss and ``backward()``.

    Raises:
        TypeError: ``teacher`` or ``loss`` of the wrong type.
        ValueError: a tap not declared by the teacher, adapters without ``optimizer``, or an event other than
            ``LOSS_COMPLETED``.
        FileNotFoundError: ``teacher_checkpoint`` does not exist.
        RuntimeError: the checkpoint's keys do not match the teacher.
    """

    def __init__(
        self,
        teacher: nn.Module,
        loss: KnowledgeTransferLoss,
        *,
        teacher_input_key: str = "image_hr",
        teacher_checkpoint: str | Path | None = None,
        checkpoint_key: str = "model",
        optimizer: torch.optim.Optimizer | None = None,
        enabled: bool = True,
        event: IterationEvents | str = IterationEvents.LOSS_COMPLETED,
    ) -> None:
        if not isinstance(teacher, nn.Module):
            raise TypeError(f"teacher: expected a torch.nn.Module, got {type(teacher).__name__}")
        if not isinstance(loss, KnowledgeTransferLoss):
            raise TypeError(f"loss: expected a cmb_kd.losses.KnowledgeTransferLoss, got {type(loss).__name__}")
        if isinstance(event, str):
            if event not in IterationEvents.__members__:
                raise ValueError(f"event: expected one of {list(IterationEvents.__members__)}, got {event!r}")
            event = IterationEvents[event]
        if event != IterationEvents.LOSS_COMPLETED:
            raise ValueError(
                "event: expected IterationEvents.LOSS_COMPLETED (SupervisedTrainer writes output[LOSS] after "
                f"FORWARD_COMPLETED and reads it for backward() after LOSS_COMPLETED), got {event}"
            )
        if teacher_checkpoint is not None:
            self._load_teacher(teacher, Path(teacher_checkpoint), checkpoint_key)
        self.teacher = teacher
        self.freeze_teacher()
        self.loss = loss
        self.teacher_input_key = teacher_input_key
        self.enabled = bool(enabled)
        self.event = event
        self.teacher_taps = FeatureTaps(teacher, loss.teacher_taps, detach=True)
        self.student_taps: FeatureTaps | None = None
        self._engines: list[Any] = []
        adapter_params = self._adapter_params()
        if adapter_params:
            if optimizer is None:
                raise ValueError(
                    "the loss has trainable adapters: pass the student's optimizer so that they are trained "
                    "and checkpointed with it."
                )
            present = {id(p) for group in optimizer.param_groups for p in group["params"]}
            new = [p for p in adapter_params if id(p) not in present]
            if new:
                optimizer.add_param_group({"params": new})

    @staticmethod
    def _load_teacher(teacher: nn.Module, path: Path, key: str) -> None:
        """The teacher's weights through :func:`cmb_kd.networks.load_network_weights`, with the handler's errors."""
        try:
            load_network_weights(teacher, path, keys=(key,))
        except FileNotFoundError as err:
            raise FileNotFoundError(
                f"teacher_checkpoint {str(path)!r} does not exist (train the teacher first)."
            ) from err
        except ValueError as err:
            raise RuntimeError(
                f"teacher_checkpoint {str(path)!r} does not match the teacher {type(teacher).__name__}: {err}"
            ) from err

    def freeze_teacher(self) -> None:
        """Put the teacher in eval mode and switch its gradients off."""
        self.teacher.eval()
        self.teacher.requires_grad_(False)

    def attach(self, engine: SupervisedTrainer) -> None:
        """Register the handler on ``engine`` (idempotent).

        MONAI workflows attach their handlers before they set ``engine.network``, so the student's taps are
        created, and the teacher moved to ``engine.state.device``, at ``Events.STARTED``.
        """
        if any(e is engine for e in self._engines):
            return
        engine.add_event_handler(Events.STARTED, self._started)
        engine.add_event_handler(Events.ITERATION_STARTED, self._clear)
        engine.add_event_handler(self.event, self)
        engine.add_event_handler(IterationEvents.BACKWARD_COMPLETED, self._reduce_adapter_grads)
        engine.add_event_handler(Events.COMPLETED, self._remove_hooks)
        engine.add_event_handler(Events.TERMINATE, self._remove_hooks)
        self._engines.append(engine)
        logger.info("knowledge transfer: %s", self.loss.formula)

    def _started(self, engine: SupervisedTrainer) -> None:
        network = getattr(engine, "network", None)
        if not isinstance(network, nn.Module):
            raise TypeError(f"DistillationHandler needs a MONAI SupervisedTrainer, got {type(engine).__name__}.")
        if self.student_taps is None or self.student_taps.network is not getattr(network, "module", network):
            if self.student_taps is not None:
                self.student_taps.remove()
            self.student_taps = FeatureTaps(network, self.loss.student_taps)
        device = getattr(engine.state, "device", None)
        if device is not None:
            self.teacher.to(device)
            self.loss.to(device)
        self._attach_hooks()

    def _adapter_params(self) -> list[nn.Parameter]:
        return [p for p in self.loss.parameters() if p.requires_grad]

    def _attach_hooks(self, engine: Any = None) -> None:
        self.freeze_teacher()
        self.teacher_taps.attach()
        if self.student_taps is not None:
            self.student_taps.attach()

    def _remove_hooks(self, engine: Any = None) -> None:
        self.teacher_taps.remove()
        if self.student_taps is not None:
            self.student_taps.remove()

    def _clear(self, engine: Any = None) -> None:
        self.teacher_taps.clear()
        if self.student_taps is not None:
            self.student_taps.clear()

    def teacher_features(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """Run the frozen teacher on ``image`` ``(B, C, H, W, D)`` and return its tapped features (no graph)."""
        if self.teacher.training:
            self.teacher.eval()
        attached = self.teacher_taps.attached
        self.teacher_taps.attach()
        try:
            with torch.no_grad():
                self.teacher(image)
            return self.teacher_taps.collect()
        finally:
            if not attached:
                self.teacher_taps.remove()

    def __call__(self, engine: SupervisedTrainer) -> None:
        """Replace ``engine.state.output[LOSS]`` by the distillation total (called on ``LOSS_COMPLETED``).

        Raises:
            KeyError: the batch lacks ``teacher_input_key`` (the available keys are listed).
        """
        output = engine.state.output
        supervised = output[CommonKeys.LOSS]
        if not self.enabled:
            output[f"{LOSS_TERM_PREFIX}supervised"] = supervised.detach()
            if self.student_taps is not None:
                self.student_taps.clear()
            return
        batch = engine.state.batch
        if not isinstance(batch, Mapping) or self.teacher_input_key not in batch:
            keys = sorted(batch) if isinstance(batch, Mapping) else type(batch).__name__
            raise KeyError(
                f"DistillationHandler: the batch has no teacher input {self.teacher_input_key!r}; got {keys}. "
                "Use PrepareLowResolutionBatch (which stores the HR image under hr_key) or set teacher_input_key."
            )
        student_features = self.student_taps.collect()
        image = batch[self.teacher_input_key].to(device=supervised.device, non_blocking=engine.non_blocking)
        teacher_features = self.teacher_features(image)
        terms = self.loss(supervised, student_features, teacher_features)
        output[CommonKeys.LOSS] = terms.pop("total")
        for name, value in terms.items():
            output[f"{LOSS_TERM_PREFIX}{name}"] = value.detach()

    def _reduce_adapter_grads(self, engine: Any = None) -> None:
        if not (self.enabled and torch.distributed.is_available() and torch.distributed.is_initialized()):
            return
        world = torch.distributed.get_world_size()
        for p in self._adapter_params():
            if p.grad is not None:
                torch.distributed.all_reduce(p.grad)
                p.grad /= world

    def state_dict(self) -> dict[str, Any]:
        """``{"enabled": bool, "loss": adapter weights}`` (the teacher comes from its own checkpoint)."""
        return {"enabled": self.enabled, "loss": self.loss.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore ``enabled`` and the adapter weights.

        Raises:
            KeyError: ``state`` lacks ``enabled`` or ``loss``.
        """
        missing = [k for k in ("enabled", "loss") if k not in state]
        if missing:
            raise KeyError(f"DistillationHandler state lacks {missing}; got keys {sorted(state)}.")
        self.enabled = bool(state["enabled"])
        self.loss.load_state_dict(state["loss"])
