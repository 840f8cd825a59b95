"""The CMB bundle: where the one shipped with the package lies, and how its inference config
(``configs/inference.json``) builds a component with MONAI's ``ConfigParser``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "BUNDLE_ENV",
    "BUNDLE_NAME",
    "INFERENCE_CONFIG",
    "build_bundle_component",
    "default_bundle_dir",
    "inference_config_file",
]

BUNDLE_NAME = "cmb_lr_mri_segmentation"
"""Folder name of the CMB bundle under ``bundles/``."""
INFERENCE_CONFIG = "configs/inference.json"
"""Path of the inference config inside a bundle folder."""
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
        FileNotFoundError: ``CMB_KD_BUNDLE`` names a folder without the bundle's config, or (listing the places
            searched) none of the others holds it.
    """
    named = os.environ.get(BUNDLE_ENV)
    if named:
        if (Path(named) / INFERENCE_CONFIG).is_file():
            return Path(named).resolve()
        raise FileNotFoundError(
            f"{named}: {BUNDLE_ENV} names no bundle (no {INFERENCE_CONFIG} there); expected a bundle folder, or "
            f"unset {BUNDLE_ENV} for the shipped one"
        )
    package_root = Path(__file__).resolve().parents[2]
    here = Path.cwd().resolve()
    tried = [
        package_root / "bundles" / BUNDLE_NAME,
        *(folder / "bundles" / BUNDLE_NAME for folder in (here, *here.parents)),
    ]
    for folder in tried:
        if (folder / INFERENCE_CONFIG).is_file():
            return folder.resolve()
    listed = ", ".join(str(p) for p in tried[:3])
    raise FileNotFoundError(
        f"the default bundle {BUNDLE_NAME} was not found (searched {listed} and the parents of the current folder); "
        f"pass --bundle PATH or set {BUNDLE_ENV}"
    )


def inference_config_file(bundle_dir: str | os.PathLike | None = None) -> Path:
    """The inference config of a bundle.

    Args:
        bundle_dir: the bundle folder; None: the shipped bundle (:func:`default_bundle_dir`).

    Returns:
        ``bundle_dir / configs/inference.json``.

    Raises:
        FileNotFoundError: naming the missing bundle folder or config.
    """
    root = default_bundle_dir() if bundle_dir is None else Path(bundle_dir)
    config_file = root / INFERENCE_CONFIG
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: bundle folder not found; expected a folder holding {INFERENCE_CONFIG}")
    if not config_file.is_file():
        raise FileNotFoundError(f"{config_file}: bundle inference config not found")
    return config_file


def build_bundle_component(config_file: Path, component: str, settings: Mapping[str, Any]) -> Any:
    """Build the config id ``component`` of a bundle config after setting ``settings`` (config ids to values).

    ``bundle_root`` is set to the bundle folder (the config's grandparent) first, then ``settings`` in order, then
    the config's ``imports`` are run.

    Args:
        config_file: the bundle's inference config (:func:`inference_config_file`).
        component: the config id to build, e.g. ``"detector"``.
        settings: config ids to replace, e.g. ``{"device": "cpu", "working_spacing": 2.0}``.

    Returns:
        What the config id builds.

    Raises:
        FileNotFoundError, ValueError: what a component raised while being built (a missing weights file, a bad
            value), unwrapped from the parser's ``RuntimeError``.
        RuntimeError: any other failure of the parser.
    """
    from monai.bundle import ConfigParser

    parser = ConfigParser()
    parser.read_config(str(config_file))
    parser["bundle_root"] = str(config_file.parent.parent.resolve())
    for key, value in settings.items():
        parser[key] = value
    try:
        if "imports" in parser:
            parser.get_parsed_content("imports")
        return parser.get_parsed_content(component)
    except RuntimeError as err:
        # ConfigParser wraps what a component raised; surface a missing file or a bad value as itself
        cause = err.__cause__
        while cause is not None and not isinstance(cause, (FileNotFoundError, ValueError)):
            cause = cause.__cause__
        if cause is not None:
            raise cause from err
        raise
