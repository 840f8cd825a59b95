"""Ignite handlers and engine helpers for knowledge transfer: distillation, progressive resolution, batching."""

from cmb_kd.handlers.atomic_checkpoint_saver import AtomicCheckpointSaver, save_atomic
from cmb_kd.handlers.distillation import DistillationHandler
from cmb_kd.handlers.latest_checkpoint import is_complete_checkpoint, latest_checkpoint
from cmb_kd.handlers.loss_terms import LOSS_TERM_PREFIX, loss_terms
from cmb_kd.handlers.prepare_low_resolution_batch import PrepareLowResolutionBatch
from cmb_kd.handlers.progressive_resolution import CurriculumStage, ProgressiveResolutionHandler
from cmb_kd.handlers.random_states import RandomStates
from cmb_kd.handlers.rank_handlers import RANK_ZERO_ONLY, end_process_group, handlers_for_rank

__all__ = [
    "AtomicCheckpointSaver",
    "CurriculumStage",
    "DistillationHandler",
    "LOSS_TERM_PREFIX",
    "PrepareLowResolutionBatch",
    "ProgressiveResolutionHandler",
    "RANK_ZERO_ONLY",
    "RandomStates",
    "end_process_group",
    "handlers_for_rank",
    "is_complete_checkpoint",
    "latest_checkpoint",
    "loss_terms",
    "save_atomic",
]
