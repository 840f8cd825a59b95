"""What :class:`CMBDetector` hands back: a scan prepared up to its stage-1 candidates (:class:`PreparedScan`, what
:meth:`CMBDetector.prepare` gives :meth:`CMBDetector.segment`) and its detections (:class:`DetectionResult`)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cmb_kd.candidates import Candidate
from cmb_kd.inference.lesion_table import Lesion
from cmb_kd.inference.location_output import lesion_columns, locate_lesions, with_location
from cmb_kd.location import LocationResult

__all__ = ["PreparedScan", "DetectionResult"]


@dataclasses.dataclass(frozen=True)
class PreparedScan:
    """The network-independent part of the two-stage pipeline for one scan (PLKD, ``000_2429e8a773e1f797``).

    Holds everything stage 2 needs, so that several segmentation networks can be run on one scan without repeating
    the working grid, skull stripping, standardisation, screening and candidate detection. :meth:`CMBDetector.segment`
    only reads it: one prepared scan can be segmented any number of times.

    Attributes:
        input_shape: shape ``(X, Y, Z)`` of the input scan.
        input_affine: the input's 4x4 voxel-to-world affine (RAS, mm).
        working_shape: shape ``(X', Y', Z')`` of the scan on the working grid.
        working_affine: 4x4 affine of the working grid.
        brain_box: the brain's bounding box on the working grid plus half a patch of margin, one slice per axis.
        image: the standardised scan inside ``brain_box``, float32 ``(1, 1, X'', Y'', Z'')`` on the detector's device.
        brain_working: bool brain mask ``(X', Y', Z')`` on the working grid.
        brain_input: bool brain mask ``(X, Y, Z)`` on the input grid (the given mask or the non-zero region of a
            pre-masked scan, or the skull-stripped one mapped back), never True where the input is NaN.
        phase: float32 high-pass phase ``(X, Y, Z)`` on the input grid, or None.
        candidates: the stage-1 candidates, ``voxel`` on the working grid, ``mm`` in world coordinates.
        timings: seconds spent so far per stage (keys of :data:`STAGES`; the stage-2 ones are still 0 except the
            brain mask's share of ``input_grid``).
        warnings: one line per doubt about the input (inverted contrast, signed intensities, slices thicker than
            the model is validated for; :func:`check_scan_plausibility`), empty for a plausible scan.
        brain_source: where the brain mask came from, one of :data:`BRAIN_SOURCES`: ``"given"``, ``"pre-masked"``
            (the scan's own non-zero region, :class:`PreMaskedBrain`) or ``"skull-strip"``.
        data: what the ``postprocessing`` transforms read of the preprocessed scan (its standardised brain box with
            the operations that brought it there, the voxels holding a value, the phase, the brain on the input
            grid), by the keys of :mod:`~cmb_kd.inference.scan_transforms`.
        finite_input: bool ``(X, Y, Z)``, the input voxels that hold a value (not NaN), or None when all do; the
            probability and the detections are 0 elsewhere.
    """

    input_shape: tuple[int, int, int]
    input_affine: np.ndarray
    working_shape: tuple[int, int, int]
    working_affine: np.ndarray
    brain_box: tuple[slice, slice, slice]
    image: torch.Tensor
    brain_working: np.ndarray
    brain_input: np.ndarray
    phase: np.ndarray | None
    candidates: tuple[Candidate, ...]
    timings: dict[str, float]
    warnings: tuple[str, ...] = ()
    brain_source: str = "skull-strip"
    finite_input: np.ndarray | None = None
    data: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def box_offset(self) -> tuple[int, int, int]:
        """Working-grid voxel index of the first voxel of ``brain_box`` (and of ``image``)."""
        return tuple(int(s.start) for s in self.brain_box)


@dataclasses.dataclass(frozen=True)
class DetectionResult:
    """The detections of one scan, on the exact grid of the input.

    Attributes:
        mask: uint8 CMB mask ``(X, Y, Z)``, 1 inside a kept detection, with the input's shape.
        probability: float32 stage-2 probability ``(X, Y, Z)`` on the input grid (maximum over the working voxels
            inside each input voxel), before clean-up.
        affine: the input's 4x4 voxel-to-world affine (the mask's too).
        lesions: one :class:`Lesion` per 26-connected component of ``mask`` (see :func:`lesion_table`).
        count: number of lesions.
        candidates: the stage-1 candidates; ``voxel`` on the working grid, ``mm`` in world coordinates.
        timings: seconds spent per stage, in pipeline order.
        warnings: one line per doubt about the input scan (inverted contrast, signed intensities, slices thicker
            than the model is validated for; :func:`check_scan_plausibility`), also logged; empty for a plausible
            scan. :func:`run_inference` writes them to the ``warnings`` column of ``cmb_summary.csv``.
        brain_mask: bool brain mask ``(X, Y, Z)`` on the input grid (``PreparedScan.brain_input``), which
            :meth:`locate` registers; None when the detector did not give it.
        location: the MARS region of each lesion and the scan's burden (:meth:`locate`); None until located.
    """

    mask: np.ndarray
    probability: np.ndarray
    affine: np.ndarray
    lesions: list[Lesion]
    count: int
    candidates: list[Candidate]
    timings: dict[str, float]
    warnings: tuple[str, ...] = ()
    brain_mask: np.ndarray | None = dataclasses.field(default=None, repr=False)
    location: LocationResult | None = None

    @property
    def total_seconds(self) -> float:
        """Sum of the stage timings."""
        return float(sum(self.timings.values()))

    def report_title(self, name: str) -> str:
        """The title of the report picture of scan ``name``."""
        return f"{name}: {self.count} CMB(s)"

    def locate(self, image: Any, **options: Any) -> DetectionResult:
        """This result with :attr:`location`: the scan registered to MNI and each lesion given its MARS region and
        side, and the scan's burden (:func:`cmb_kd.location.locate`; about 8 s of CPU per scan, more for the first
        of a process, which builds the atlas and loads ITK).

        Args:
            image: the scan ``(X, Y, Z)`` on the input grid (the one given to the detector).
            **options: ``settings`` (:class:`~cmb_kd.location.RegistrationSettings`) and ``atlas``.

        Returns:
            A copy of this result with ``location`` set; :meth:`save`, :meth:`lesion_rows` and the report use it.

        Raises:
            ValueError: without :attr:`brain_mask`, or for an image that is not the mask's shape.
            RuntimeError: when the registration fails (from ITK).
        """
        if np.shape(image)[-3:] != self.mask.shape:
            raise ValueError(f"image: expected the mask's shape {self.mask.shape}, got {np.shape(image)}")
        image = np.asarray(image, dtype=np.float32).reshape(self.mask.shape)
        located = locate_lesions(np.nan_to_num(image), self.affine, self.brain_mask, self.lesions, **options)
        return dataclasses.replace(self, location=located)

    def lesion_rows(self) -> list[dict[str, Any]]:
        """The lesion table as one dict per lesion (the columns of ``NAME_cmb_lesions.csv``, in order, with the
        location's when :attr:`location` is set)."""
        return with_location([lesion.as_row() for lesion in self.lesions], self.location)

    def to_dataframe(self) -> Any:
        """The lesion table as a ``pandas.DataFrame`` (one row per lesion, the CSV's columns, even when empty).

        Raises:
            ImportError: when pandas is not installed (it is not a dependency of cmb_kd; :meth:`lesion_rows`
                gives the same table without it).
        """
        try:
            import pandas as pd
        except ImportError as err:
            raise ImportError(
                "to_dataframe needs pandas, which is not installed (pip install pandas); lesion_rows() gives the "
                "same table as a list of dicts"
            ) from err
        return pd.DataFrame(self.lesion_rows(), columns=list(lesion_columns(self.location)))

    def save(
        self, folder: str | os.PathLike, name: str, *, image: Any | None = None, header: Any | None = None
    ) -> list[Path]:
        """Write what ``cmb-kd infer`` writes for one scan: ``NAME_cmb_mask.nii.gz``, ``NAME_cmb_lesions.csv``, with
        :attr:`location` ``NAME_cmb_location.json`` (and the location columns) and, given the scan, the report: the
        picture ``NAME_cmb_report.png`` and the page ``NAME_cmb_report.html`` (the picture with the sortable lesion
        table), as a unit (:meth:`OutputWriter.write_scan`; the batch summary
        ``cmb_summary.csv`` belongs to a batch run and is not written).

        Args:
            folder: output folder, created when missing.
            name: the scan's name ``NAME`` (a trailing ``.nii.gz`` or ``.nii`` is dropped).
            image: the scan ``(X, Y, Z)`` on the input grid, to draw the picture on (NaN drawn as 0); None: no
                report (and the report of an earlier save of this name is removed).
            header: the input's NIfTI header, whose sform/qform codes the mask keeps.

        Returns:
            The written paths: mask, lesion table, then the picture and the page.

        Raises:
            ValueError: for a name that is empty or holds a path separator, or an image not of the mask's shape.
            OutputError: when the folder or a file cannot be written (no output of the scan is left then).
        """
        from cmb_kd.inference.output_writer import OutputWriter

        stem = str(name).removesuffix(".gz").removesuffix(".nii")
        if not stem or os.sep in stem or (os.altsep and os.altsep in stem):
            raise ValueError(f"name: expected a scan name without folders, e.g. 'sub-001_T2S', got {name!r}")
        if image is not None:
            image = np.asarray(image, dtype=np.float32).reshape(np.shape(image)[-3:])
            if image.shape != self.mask.shape:
                raise ValueError(f"image: expected the mask's shape {self.mask.shape}, got {image.shape}")
            image = np.where(np.isfinite(image), image, np.float32(0))
        writer = OutputWriter(folder)
        return writer.write_scan(
            f"{stem}.nii.gz",
            self.mask,
            self.affine,
            self.lesions,
            header=header,
            report_image=image,
            report_title=self.report_title(stem),
            location=self.location,
        )
