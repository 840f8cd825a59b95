"""Where the CMB bundle shipped with the package lies."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["BUNDLE_ENV", "BUNDLE_NAME", "default_bundle_dir"]

BUNDLE_NAME = "cmb_lr_mri_segmentation"
"""Folder name of the CMB bundle under ``bundles/``."""
BUNDLE_ENV = "CMB_KD_BUNDLE"
"""Environment variable that, when set, names the default bundle folder."""


def default_bundle_dir() -> Path:
    """The default CMB bundle folder.

    Looked up in order: the folder named by the environment variable ``CMB_KD_BUNDLE``; ``bundles/`` beside the
    installed ``cmb_kd`` package (a source checkout or editable install); ``bundles/`` in the current folder and
    its parents. A candidate counts when it holds ``configs/inference.json``.

    Returns:
        The bundle folder, absolute.

    Raises:
        FileNotFoundError: listing the places searched when none holds the bundle.
    """
    tried: list[Path] = []
    named = os.environ.get(BUNDLE_ENV)
    if named:
        tried.append(Path(named))
    package_root = Path(__file__).resolve().parents[2]
    tried.append(package_root / "bundles" / BUNDLE_NAME)
    here = Path.cwd().resolve()
    tried.extend(folder / "bundles" / BUNDLE_NAME for folder in (here, *here.parents))
    for folder in tried:
        if (folder / "configs" / "inference.json").is_file():
            return folder.resolve()
    if named:
        raise FileNotFoundError(f"{named}: {BUNDLE_ENV} names no bundle (no configs/inference.json there)")
    listed = ", ".join(str(p) for p in tried[:3])
    raise FileNotFoundError(
        f"the default bundle {BUNDLE_NAME} was not found (searched {listed} and the parents of the current folder); "
        f"pass --bundle PATH or set {BUNDLE_ENV}"
    )
