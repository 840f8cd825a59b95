"""The trained runs of ``cmb-kd train`` in a runs folder: their names, families, seeds and final weights."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

__all__ = ["RUN_NAME", "WEIGHTS", "family_of", "find_runs", "seed_runs", "weights_path"]

RUN_NAME = re.compile(
    r"^(?:(?P<family>plkd|nokd|direct|dynunet)-s(?P<seed>\d+)|ablation-(?P<mode>2d|3d|hybrid)(?:-s(?P<aseed>\d+))?"
    r"|teacher)$"
)
"""Names of the evaluable runs: ``teacher``, ``plkd-sN``, ``nokd-sN``, ``direct-sN``, ``dynunet-sN``,
``ablation-2d|3d|hybrid[-sN]``."""
WEIGHTS = {"teacher": "teacher/model.pt", "dynunet": "dynunet.pt"}
"""Final weights file of a run family under ``RUNS/<name>/models/``; ``model.pt`` for the others."""


def family_of(name: str) -> str | None:
    """The family of run ``name``.

    Args:
        name: a run folder's name.

    Returns:
        ``teacher``, ``plkd``, ``nokd``, ``direct``, ``dynunet`` or ``ablation``, or None for a name of no run.
    """
    match = RUN_NAME.match(name)
    if match is None:
        return None
    if match["family"]:
        return match["family"]
    return "ablation" if match["mode"] else "teacher"


def weights_path(runs: Path, name: str) -> Path:
    """Where the final weights of run ``name`` are.

    Args:
        runs: the folder of the runs.
        name: the run's name.

    Returns:
        ``runs/<name>/models/`` and the family's file of :data:`WEIGHTS` (``model.pt`` for the others).
    """
    return runs / name / "models" / WEIGHTS.get(family_of(name) or "", "model.pt")


def find_runs(runs: Path, names: Sequence[str] | None = None) -> dict[str, Path]:
    """The evaluable runs under ``runs`` (name to weights), sorted by name.

    Args:
        runs: the folder of the runs.
        names: the runs to take (each must exist); default every folder with a known name and final weights.

    Returns:
        Run name to the path of its final weights.

    Raises:
        ValueError: naming a run of ``names`` that is unknown or has no final weights.
    """
    if names is None:
        found = (p.name for p in runs.iterdir() if p.is_dir() and family_of(p.name) is not None)
        return {name: weights_path(runs, name) for name in sorted(found) if weights_path(runs, name).is_file()}
    result = {}
    for name in names:
        if family_of(name) is None:
            raise ValueError(
                f"--models: unknown run {name!r}; expected teacher, plkd-sN, nokd-sN, direct-sN, dynunet-sN or "
                "ablation-2d|3d|hybrid[-sN]"
            )
        path = weights_path(runs, name)
        if not path.is_file():
            raise ValueError(f"--models: {path}: final weights of run {name!r} not found")
        result[name] = path
    return dict(sorted(result.items()))


def seed_runs(family: str, names: Sequence[str]) -> list[str]:
    """The runs of ``family`` among ``names``, in seed order.

    Args:
        family: a run family (``plkd``), or ``ablation-MODE`` for the ablation runs of one convolution mode.
        names: run names.

    Returns:
        The names ``{family}-sN``, or for ``ablation-MODE`` the names ``ablation-MODE`` (seed 0) and
        ``ablation-MODE-sN``, sorted by seed.
    """
    seeds = []
    for name in names:
        match = RUN_NAME.match(name)
        if match and match["family"] == family:
            seeds.append((int(match["seed"]), name))
        elif match and match["mode"] and family == f"ablation-{match['mode']}":
            seeds.append((int(match["aseed"] or 0), name))
    return [name for _, name in sorted(seeds)]
