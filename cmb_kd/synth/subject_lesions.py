"""The lesions of one subject: where each location class may hold them, drawn, placed, and randomised."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from cmb_kd.synth.anatomy import Anatomy
from cmb_kd.synth.config import SynthConfig
from cmb_kd.synth.lesions import Lesion, draw_calcifications, draw_cmb, draw_cmbs
from cmb_kd.synth.placement import place_clusters, place_lesions, relocate_lesions
from cmb_kd.synth.streams import feature_stream

__all__ = ["region_candidates", "randomise_lesions", "draw_subject_lesions"]


def region_candidates(
    anatomy: Anatomy, inside_distance: np.ndarray, vein: np.ndarray, config: SynthConfig
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Candidate voxels per location class, and the brain tissue away from veins (where cluster members may go).

    Args:
        anatomy: the subject's anatomy.
        inside_distance: distance to the brain surface inside the brain, mm (X, Y, Z).
        vein: vein volume fraction (X, Y, Z); lesions stay 2 voxels away from it.
        config: cohort settings (the juxtacortical and posterior-fossa classes exist only when switched on).

    Returns:
        ``(candidates, tissue)``: location class -> (N, 3) voxel indices, and the boolean tissue mask (X, Y, Z).
    """
    deep_tissue = anatomy.brain > 0.5
    away = ndimage.maximum_filter(vein, size=5) < 0.05
    clear = deep_tissue & (inside_distance >= 4.0) & away
    deep = anatomy.deep_region > 0.5
    infra = anatomy.infratentorial > 0.5
    junction = (anatomy.gm > 0.25) & (anatomy.gm < 0.75) & (anatomy.wm > 0.2)
    ventricles = (anatomy.csf > 0.6) & (inside_distance > 12.0)
    candidates = {
        "lobar": np.argwhere(clear & junction & ~deep & ~infra),
        "deep": np.argwhere(clear & deep),
        "infratentorial": np.argwhere(clear & infra & (anatomy.gm + anatomy.wm > 0.5)),
        "basal_ganglia": np.argwhere(clear & deep),
        "choroid_plexus": np.argwhere(ventricles),
    }
    tissue = deep_tissue & away & (anatomy.gm + anatomy.wm > 0.5)
    if config.cmb_juxtacortical_fraction > 0:
        low, high = config.cmb_juxtacortical_depth_range
        cortex = (anatomy.gm > 0.5) & ~deep & (anatomy.posterior_fossa < 0.5) & ~infra
        band = (inside_distance >= low) & (inside_distance <= high)
        candidates["juxtacortical"] = np.argwhere(deep_tissue & away & cortex & band)
    if config.cmb_posterior_fossa_fraction > 0:
        fossa = (anatomy.posterior_fossa > 0.5) & (inside_distance >= 1.5)
        candidates["posterior_fossa"] = np.argwhere(tissue & fossa)
    return candidates, tissue


def _make_tiny(placed: list[Lesion], config: SynthConfig, b0: float, te: float, seed: int) -> None:
    """Replaces CMBs, in place, by tiny CMBs at the limit of visibility, at the same centres."""
    rng = feature_stream(seed, "tiny")
    for i, lesion in enumerate(placed):
        if lesion.kind == "cmb" and rng.random() < config.cmb_tiny_fraction:
            tiny = draw_cmb(
                rng, lesion.location, config.cmb_tiny_susceptibility_range, config.cmb_tiny_diameter_range,
                config.cmb_aspect_range, b0, te, float(config.spacing),
            )  # fmt: skip
            tiny.centre, tiny.centre_mm, tiny.extra = lesion.centre, lesion.centre_mm, {"tiny": True}
            placed[i] = tiny  # smaller than the lesion it replaces: the placement margins still hold


def _relocate(
    placed: list[Lesion], candidates: dict[str, np.ndarray], affine: np.ndarray, config: SynthConfig, seed: int
) -> list[Lesion]:
    """Moves CMBs into the juxtacortical and posterior-fossa classes with their configured probabilities."""
    probabilities = {
        "juxtacortical": config.cmb_juxtacortical_fraction,
        "posterior_fossa": config.cmb_posterior_fossa_fraction,
    }
    probabilities = {name: p for name, p in probabilities.items() if p > 0}
    shape, spacing = tuple(int(n) for n in config.shape), float(config.spacing)
    return relocate_lesions(
        placed, candidates, probabilities, affine, shape, spacing, config.cmb_min_separation,
        feature_stream(seed, "location"),
    )  # fmt: skip


def _add_clusters(
    placed: list[Lesion], tissue: np.ndarray, affine: np.ndarray, config: SynthConfig, b0: float, te: float, seed: int
) -> list[Lesion]:
    """Seeds clusters of further CMBs around CMBs, in the tissue away from veins."""
    shape, spacing = tuple(int(n) for n in config.shape), float(config.spacing)
    rng = feature_stream(seed, "cluster")

    def member(seed_lesion: Lesion) -> Lesion:
        return draw_cmb(
            rng, seed_lesion.location, config.cmb_susceptibility_range, config.cmb_cluster_diameter_range,
            config.cmb_aspect_range, b0, te, spacing,
        )  # fmt: skip

    return place_clusters(
        placed, member, tissue, config.cmb_cluster_probability, config.cmb_cluster_members_range,
        config.cmb_cluster_radius, config.cmb_cluster_gap, affine, shape, spacing, rng, config.cmb_count_max,
    )  # fmt: skip


def randomise_lesions(
    placed: list[Lesion],
    candidates: dict[str, np.ndarray],
    tissue: np.ndarray,
    affine: np.ndarray,
    config: SynthConfig,
    b0: float,
    te: float,
    seed: int,
) -> list[Lesion]:
    """Tiny CMBs, juxtacortical and posterior-fossa CMBs, and clusters, each from its own stream of ``seed``.

    Args:
        placed: the placed lesions (may be changed in place).
        candidates: candidate voxels per location class (see :func:`region_candidates`).
        tissue: boolean mask (X, Y, Z) where cluster members may go.
        affine: HR voxel-to-world matrix.
        config: cohort settings; a feature switched off draws nothing.
        b0: field strength in tesla.
        te: echo time in seconds.
        seed: subject seed.

    Returns:
        The lesions, in placement order.
    """
    if config.cmb_tiny_fraction > 0:
        _make_tiny(placed, config, b0, te, seed)
    if config.cmb_juxtacortical_fraction > 0 or config.cmb_posterior_fossa_fraction > 0:
        placed = _relocate(placed, candidates, affine, config, seed)
    if config.cmb_cluster_probability > 0:
        placed = _add_clusters(placed, tissue, affine, config, b0, te, seed)
    return placed


def draw_subject_lesions(
    rng: np.random.Generator,
    config: SynthConfig,
    seed: int,
    anatomy: Anatomy,
    inside_distance: np.ndarray,
    vein: np.ndarray,
    b0: float,
    te: float,
) -> list[Lesion]:
    """Draws and places a subject's CMBs and calcifications from its anatomy, then randomises them.

    The main stream ``rng`` draws the CMBs, then the calcifications, then their centres; the variants of
    randomised physics draw from their own streams of ``seed`` (see :func:`randomise_lesions`).

    Args:
        rng: the subject's main random stream.
        config: cohort settings.
        seed: subject seed.
        anatomy: the subject's anatomy.
        inside_distance: distance to the brain surface inside the brain, mm (X, Y, Z).
        vein: vein volume fraction (X, Y, Z).
        b0: field strength in tesla.
        te: echo time in seconds.

    Returns:
        The placed lesions.
    """
    shape, spacing = tuple(int(n) for n in config.shape), float(config.spacing)
    candidates, tissue = region_candidates(anatomy, inside_distance, vein, config)
    cmbs = draw_cmbs(rng, config, b0, te)
    calcifications = draw_calcifications(rng, config)
    placed = place_lesions(
        cmbs + calcifications, candidates, anatomy.affine, shape, spacing, config.cmb_min_separation, rng
    )
    return randomise_lesions(placed, candidates, tissue, anatomy.affine, config, b0, te, seed)
