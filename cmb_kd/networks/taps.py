"""Capture a network's distillation features by tap name with removable forward hooks."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import TracebackType

import torch
import torch.nn as nn
from torch.utils.hooks import RemovableHandle

__all__ = ["FeatureTaps"]


class FeatureTaps:
    """Forward hooks that record named intermediate outputs of a network.

    Every network in :mod:`cmb_kd.networks` declares its distillation taps as data, a ``feature_taps``
    property mapping a tap name to a module path (for example ``E2UNet``: ``{"geometric": "encoder.1",
    "semantic": "encoder.4"}``). ``FeatureTaps`` resolves the paths with :meth:`torch.nn.Module.get_submodule`
    when it is built, so a wrong name fails at once, and records the output of each tapped module on every
    forward pass. A distillation handler only needs tap names, never a network's internals.

    Example::

        taps = FeatureTaps(student, ["geometric", "semantic"])
        with taps:
            logits = student(x)
            features = taps.collect()  # {"geometric": (B, C, H, W, D) tensor, ...}; the store is emptied

    Args:
        network: the network to tap. Its ``feature_taps`` property (tap name -> module path) is used to resolve
            tap names; a ``torch.nn.parallel.DistributedDataParallel`` / ``DataParallel`` wrapper is unwrapped.
        taps: which taps to record. ``None`` records every tap the network declares; a sequence of tap names
            records those; a mapping of tap name -> module path records arbitrary modules (for networks that
            declare no taps, e.g. MONAI baselines).
        detach: detach recorded tensors from the autograd graph (useful for a frozen teacher).

    Raises:
        TypeError: ``network`` is not an ``nn.Module``, or declares no taps while ``taps`` is not a mapping.
        ValueError: a tap name is not declared by the network, or a module path does not exist in it.
    """

    def __init__(
        self, network: nn.Module, taps: Mapping[str, str] | Sequence[str] | None = None, *, detach: bool = False
    ) -> None:
        if not isinstance(network, nn.Module):
            raise TypeError(f"network: expected a torch.nn.Module, got {type(network).__name__}")
        if isinstance(network, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
            network = network.module
        self.network = network
        self.detach = detach
        self.paths = self._resolve_paths(network, taps)
        self.modules: dict[str, nn.Module] = {}
        for name, path in self.paths.items():
            try:
                self.modules[name] = network.get_submodule(path)
            except AttributeError as e:
                raise ValueError(
                    f"tap {name!r}: module path {path!r} does not exist in {type(network).__name__} ({e})."
                ) from e
        self._handles: list[RemovableHandle] = []
        self._features: dict[str, torch.Tensor] = {}

    @staticmethod
    def _resolve_paths(network: nn.Module, taps: Mapping[str, str] | Sequence[str] | None) -> dict[str, str]:
        if isinstance(taps, Mapping):
            if len(taps) == 0:
                raise ValueError("taps must name at least one tap, got an empty mapping.")
            return {str(k): str(v) for k, v in taps.items()}
        declared = getattr(network, "feature_taps", None)
        if not isinstance(declared, Mapping):
            raise TypeError(
                f"{type(network).__name__} declares no feature_taps; pass taps as a mapping of tap name -> module path."
            )
        if taps is None:
            return dict(declared)
        if isinstance(taps, str):
            taps = [taps]
        names = list(taps)
        if len(names) == 0:
            raise ValueError("taps must name at least one tap, got an empty sequence.")
        unknown = [n for n in names if n not in declared]
        if unknown:
            raise ValueError(
                f"tap(s) {unknown} are not declared by {type(network).__name__}; valid taps: {sorted(declared)}."
            )
        return {n: declared[n] for n in names}

    @property
    def names(self) -> list[str]:
        """The recorded tap names, in declaration order."""
        return list(self.paths)

    @property
    def attached(self) -> bool:
        """Whether the hooks are registered."""
        return len(self._handles) > 0

    def _make_hook(self, name: str) -> Callable[[nn.Module, tuple, torch.Tensor], None]:
        def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
            if not isinstance(output, torch.Tensor):
                raise TypeError(
                    f"tap {name!r} ({self.paths[name]!r}) must output a tensor, got {type(output).__name__}."
                )
            self._features[name] = output.detach() if self.detach else output

        return hook

    def attach(self) -> FeatureTaps:
        """Register the forward hooks (idempotent) and return ``self``."""
        if not self.attached:
            self._handles = [m.register_forward_hook(self._make_hook(n)) for n, m in self.modules.items()]
        return self

    def remove(self) -> None:
        """Remove the hooks and drop the recorded features."""
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self.clear()

    def clear(self) -> None:
        """Drop the recorded features (call once per iteration so no graph is kept alive)."""
        self._features = {}

    @property
    def features(self) -> dict[str, torch.Tensor]:
        """The features recorded by the latest forward pass, tap name -> tensor (a shallow copy)."""
        return dict(self._features)

    def collect(self) -> dict[str, torch.Tensor]:
        """Return the features of the latest forward pass and empty the store.

        Raises:
            RuntimeError: a tap recorded nothing (the hooks are not attached or the forward pass skipped it).
        """
        missing = [n for n in self.paths if n not in self._features]
        if missing:
            state = "attached" if self.attached else "not attached"
            raise RuntimeError(f"taps {missing} recorded nothing since the last clear (hooks {state}).")
        out = {n: self._features[n] for n in self.paths}
        self.clear()
        return out

    def __getitem__(self, name: str) -> torch.Tensor:
        if name not in self._features:
            raise KeyError(f"tap {name!r} has no recorded feature; recorded: {sorted(self._features)}.")
        return self._features[name]

    def __enter__(self) -> FeatureTaps:
        return self.attach()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.remove()

    def __del__(self) -> None:
        for handle in getattr(self, "_handles", []):
            handle.remove()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({type(self.network).__name__}, taps={self.paths}, attached={self.attached})"
