"""The random states of a training run as one checkpointable object, so that a resumed run draws what it would have."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from monai.transforms import Randomizable

__all__ = ["RandomStates"]

_SKIPPED = (str, bytes, int, float, bool, np.ndarray, torch.Tensor, torch.nn.Module)


def _randomizables(obj: Any, seen: set[int]) -> Iterator[Randomizable]:
    """Every ``Randomizable`` reachable from ``obj`` through attributes, lists, tuples and dicts, in a fixed order.

    A MONAI dictionary transform holds its array transform (each with its own ``R``) and a ``Compose`` its members,
    so the walk goes inside every object it meets; tensors, arrays and modules are not entered.
    """
    if obj is None or isinstance(obj, _SKIPPED) or id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, Randomizable):
        yield obj
    if isinstance(obj, Mapping):
        children: Sequence[Any] = list(obj.values())
    elif isinstance(obj, (list, tuple)):
        children = obj
    elif hasattr(obj, "__dict__"):
        children = [value for key, value in vars(obj).items() if not key.startswith("__")]
    else:
        return
    for child in children:
        yield from _randomizables(child, seen)


class _GlobalNumpy:
    """NumPy's global generator seen through ``get_state`` / ``set_state`` like a ``RandomState``."""

    get_state = staticmethod(np.random.get_state)
    set_state = staticmethod(np.random.set_state)


_GLOBAL = _GlobalNumpy()


def _numpy_state(generator: np.random.RandomState | _GlobalNumpy) -> dict[str, Any]:
    kind, keys, pos, has_gauss, cached = generator.get_state()
    return {
        "kind": kind,
        "keys": torch.from_numpy(keys.astype(np.int64)),
        "pos": int(pos),
        "has_gauss": int(has_gauss),
        "cached_gaussian": float(cached),
    }


def _set_numpy_state(generator: np.random.RandomState | _GlobalNumpy, state: Mapping[str, Any]) -> None:
    keys = state["keys"].numpy().astype(np.uint32)
    generator.set_state((state["kind"], keys, state["pos"], state["has_gauss"], state["cached_gaussian"]))


class RandomStates:
    """Captures and restores every random state a training run draws from, as a checkpoint object.

    A run resumed from a checkpoint must see the patches, flips, noise and shuffling the uninterrupted run would
    have seen from that epoch on. They come from Python's ``random``, NumPy's global generator, PyTorch's CPU
    generator (``DataLoader`` shuffling), the CUDA generators when CUDA is initialised, and the private generator
    ``R`` of every MONAI ``Randomizable`` (crops, augmentation, the LR input noise), which ``set_determinism`` does
    not touch. Put this object in the trainer's ``checkpoint_objects``: the saver stores :meth:`state_dict` with the
    weights at the end of an epoch, and ``CheckpointLoader`` restores it at ``Events.STARTED``, before the first
    batch is drawn. The state holds only tensors and plain values, so it loads with ``torch.load(weights_only=True)``.

    Args:
        sources: the objects whose ``Randomizable`` members are captured, e.g. the training transform chain and the
            trainer's ``prepare_batch``; they are found by walking attributes, lists and dicts, in a fixed order.

    Raises:
        ValueError: in :meth:`load_state_dict`, a state captured from another set of transforms.
    """

    def __init__(self, sources: Sequence[Any] | Any = ()) -> None:
        self.sources = list(sources) if isinstance(sources, (list, tuple)) else [sources]

    def generators(self) -> list[tuple[str, np.random.RandomState]]:
        """``(transform type, generator)`` of the sources' random transforms, in walk order.

        Found anew at each call: MONAI's ``DataLoader`` gives the dataset's transforms new generators when it is
        built, which may be after this object. A generator shared by several transforms
        (``set_random_state(state=...)``, or MONAI's class-level default of a never seeded transform) appears
        once and is restored in place, so that it stays shared.
        """
        seen: set[int] = set()
        found: dict[int, tuple[str, np.random.RandomState]] = {}
        for source in self.sources:
            for transform in _randomizables(source, seen):
                found.setdefault(id(transform.R), (type(transform).__name__, transform.R))
        return list(found.values())

    def state_dict(self) -> dict[str, Any]:
        """The current states: ``python``, ``numpy``, ``torch``, ``cuda`` (one per device) and ``transforms``."""
        version, internal, gauss = random.getstate()
        cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else []
        return {
            "python": {"version": version, "state": list(internal), "gauss": gauss},
            "numpy": _numpy_state(_GLOBAL),
            "torch": torch.get_rng_state(),
            "cuda": list(cuda),
            "transforms": [{"type": name, "state": _numpy_state(r)} for name, r in self.generators()],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the states captured by :meth:`state_dict`.

        Raises:
            KeyError: a part of the state is missing.
            ValueError: the state's transforms are not these (another number or other types).
        """
        missing = [key for key in ("python", "numpy", "torch", "cuda", "transforms") if key not in state]
        if missing:
            raise KeyError(f"RandomStates: state lacks {missing}; got keys {sorted(state)}.")
        kinds = [entry["type"] for entry in state["transforms"]]
        generators = self.generators()
        ours = [name for name, _ in generators]
        if kinds != ours:
            raise ValueError(
                f"RandomStates: the checkpoint holds {len(kinds)} transform random states {kinds}; expected the "
                f"{len(ours)} of this run's transforms {ours} (was the checkpoint written by another config?)."
            )
        python = state["python"]
        random.setstate((python["version"], tuple(python["state"]), python["gauss"]))
        _set_numpy_state(_GLOBAL, state["numpy"])
        torch.set_rng_state(state["torch"].cpu())
        if state["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
        for (_, generator), entry in zip(generators, state["transforms"]):
            _set_numpy_state(generator, entry["state"])
