"""Recognition of a scan that is already skull-stripped (pre-masked), whose non-zero region is then its brain mask.

Skull stripping a brain that is already stripped removes cortex: the K-means of :class:`SkullStrip` finds its dark
class inside the brain and the erosion that cuts the brain from the scalp eats the brain's edge, where lobar CMBs
lie. Scans distributed skull-stripped (the VALDO challenge's ``desc-masked`` scans, with a NaN background, or scans
with an exact-zero background) therefore get their own non-zero region as the brain mask. Some scanners also set
the air around a whole head to exact zero; there the non-zero region is the head, and skull stripping is still
needed. :class:`PreMaskedBrain` tells the two apart.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from cmb_kd.checks import as_affine

__all__ = ["PreMaskedBrain"]


def _positive(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name}: expected a positive finite number, got {value!r}")
    return float(value)


def _share(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ValueError(f"{name}: expected a share in (0, 1], got {value!r}")
    return float(value)


class PreMaskedBrain:
    """Tell whether a scan is already skull-stripped and, if so, give its brain mask: its finite non-zero region.

    The candidate brain mask is the largest 6-connected component of the finite non-zero voxels, with its holes
    filled in 3D and then in each slice across the thickest axis (so that dark CMB cores or vessels stored as 0 stay
    brain). The scan is pre-masked when all three tests hold, else it is skull-stripped as before:

    1. **A large background**: at least ``min_background_share`` (25 %) of the voxels are exactly 0 or NaN. A scan
       whose air holds noise has essentially none, so ordinary whole-head scans stop here and keep their skull
       stripping unchanged. A brain fills at most about half of even a field of view cut to its bounding box.
    2. **A brain's volume**: the candidate's physical volume (voxel count times the voxel volume of the affine) lies
       between ``min_volume_ml`` (250 mL) and ``max_volume_ml`` (2800 mL). Adult brains hold 0.9-1.9 L (intracranial
       volumes up to about 2.1 L) and the simulator's brains, drawn from the generous MNI152 brain mask, up to about
       2.6 L; a whole head covered by the field of view holds 3-6 L. Less than 250 mL is no brain-sized region (a
       partial slab or an isolated object) to trust as a brain mask. A whole-head scan whose air holds many
       scattered zeros (integer storage) fails here too: its non-zero air voxels join the head into a region the
       size of the field of view.
    3. **No skull under its surface**: of the candidate's voxels between ``rim_mm`` (2 and 12 mm) from its surface
       (Euclidean distance in mm, through the voxel sizes, to the nearest background voxel; the faces of the field
       of view are no surface), fewer than ``max_dark_share`` (25 %) are darker than ``dark_ratio`` (0.3) times the
       candidate's median intensity. Under the surface of a head with zeroed air lie the scalp and the skull,
       which has almost no signal on T2*/SWI (proton density about 0.05 of tissue); under the surface of a brain
       lie cortex and CSF. This catches heads the field of view cuts to a brain's volume, and regions whose
       surface is dark air. On simulated subjects (seeds 3, 7 and 11; 2 mm grid and 8 mm slices; magnitude and
       SWI) stripped brains gave dark shares of 0.01-0.13 and heads with zeroed air 0.51-0.94, heads cut by the
       field of view measuring 2.3-3.7 L.

    The thresholds err towards skull stripping: a head taken for a brain would keep scalp detections, while a brain
    skull-stripped again only loses cortex, as it did before this test existed. A given brain mask always wins over
    this test (:meth:`CMBDetector.prepare`).

    Args:
        min_background_share: smallest share of exact-zero or NaN voxels, in (0, 1].
        min_volume_ml: smallest candidate volume in mL.
        max_volume_ml: largest candidate volume in mL.
        rim_mm: ``(inner, outer)`` depths in mm under the surface between which the skull is looked for.
        dark_ratio: a voxel is dark below this share of the candidate's median intensity, in (0, 1].
        max_dark_share: share of dark voxels under the surface from which the candidate is taken for a head, in
            (0, 1].

    Raises:
        ValueError: for a share outside (0, 1], a non-positive volume or depth, ``min_volume_ml`` not below
            ``max_volume_ml`` or ``rim_mm`` not an increasing pair.

    Example:
        >>> brain, reason = PreMaskedBrain()(data, affine)  # brain: bool (X, Y, Z), or None: skull-strip
    """

    def __init__(
        self,
        *,
        min_background_share: float = 0.25,
        min_volume_ml: float = 250.0,
        max_volume_ml: float = 2800.0,
        rim_mm: tuple[float, float] = (2.0, 12.0),
        dark_ratio: float = 0.3,
        max_dark_share: float = 0.25,
    ) -> None:
        self.min_background_share = _share(min_background_share, "min_background_share")
        self.min_volume_ml = _positive(min_volume_ml, "min_volume_ml")
        self.max_volume_ml = _positive(max_volume_ml, "max_volume_ml")
        if self.min_volume_ml >= self.max_volume_ml:
            raise ValueError(
                f"min_volume_ml, max_volume_ml: expected min < max, got {min_volume_ml!r} and {max_volume_ml!r}"
            )
        try:
            inner, outer = (float(v) for v in rim_mm)
        except (TypeError, ValueError):
            raise ValueError(f"rim_mm: expected two depths in mm (inner, outer), got {rim_mm!r}") from None
        if not (np.isfinite(inner) and np.isfinite(outer) and 0 <= inner < outer):
            raise ValueError(f"rim_mm: expected depths in mm with 0 <= inner < outer, got {rim_mm!r}")
        self.rim_mm = (inner, outer)
        self.dark_ratio = _share(dark_ratio, "dark_ratio")
        self.max_dark_share = _share(max_dark_share, "max_dark_share")

    def __call__(self, data: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray | None, str]:
        """Test one scan.

        Args:
            data: the scan ``(X, Y, Z)``, real values; NaN voxels are background.
            affine: its 4x4 voxel-to-world affine (mm).

        Returns:
            ``(brain, reason)``: the bool brain mask ``(X, Y, Z)`` when the scan is pre-masked, else None; and one
            line giving the measurements (and, when it is not pre-masked, the test it failed), for the log.

        Raises:
            ValueError: for ``data`` that is not a real 3D array or an ``affine`` that is not a finite 4x4 matrix.
        """
        volume = np.asarray(data)
        if volume.ndim != 3 or not np.issubdtype(volume.dtype, np.number) or np.iscomplexobj(volume):
            raise ValueError(f"data: expected a real 3D volume (X, Y, Z), got shape {volume.shape}, {volume.dtype}")
        matrix = as_affine(affine)
        finite = np.isfinite(volume)
        foreground = finite & (volume != 0)
        share = 1.0 - float(np.count_nonzero(foreground)) / volume.size
        measured = f"{share:.0%} of the voxels are 0 or NaN"
        if share < self.min_background_share:
            return None, f"{measured}, fewer than {self.min_background_share:.0%}"
        labels, n_labels = ndimage.label(foreground)
        if n_labels == 0:
            return None, f"{measured}, no non-zero voxel"
        largest = labels == int(np.argmax(np.bincount(labels.ravel())[1:])) + 1
        del labels
        spacing = np.linalg.norm(matrix[:3, :3], axis=0)
        brain = self._filled(largest, spacing)
        volume_ml = float(np.count_nonzero(brain)) * abs(float(np.linalg.det(matrix[:3, :3]))) / 1000.0
        measured += f", non-zero region {volume_ml / 1000.0:.2f} L"
        if not self.min_volume_ml <= volume_ml <= self.max_volume_ml:
            low, high = self.min_volume_ml / 1000.0, self.max_volume_ml / 1000.0
            return None, f"{measured}, outside a brain's {low:g}-{high:g} L"
        values = np.where(finite, volume, 0).astype(np.float32, copy=False)
        level = float(np.median(values[largest]))
        inner, outer = self.rim_mm
        depth = self._depth(brain, spacing)
        rim = brain & (depth > inner) & (depth <= outer)
        if level <= 0 or not rim.any():
            return None, f"{measured}, no positive tissue {inner:g}-{outer:g} mm under its surface to judge"
        dark = float(np.count_nonzero(values[rim] < self.dark_ratio * level)) / np.count_nonzero(rim)
        measured += f", {dark:.0%} of the voxels {inner:g}-{outer:g} mm under its surface dark"
        if dark >= self.max_dark_share:
            return None, f"{measured}: a skull ({self.max_dark_share:.0%} or more dark), so a head"
        return brain, measured

    @staticmethod
    def _filled(region: np.ndarray, spacing: np.ndarray) -> np.ndarray:
        """``region`` with its holes filled in 3D, then in each slice across the thickest axis (the last on ties)."""
        filled = ndimage.binary_fill_holes(region)
        axis = int(len(spacing) - 1 - np.argmax(spacing[::-1]))
        for index in range(filled.shape[axis]):
            where = (slice(None),) * axis + (index,)
            filled[where] = ndimage.binary_fill_holes(filled[where])
        return filled

    @staticmethod
    def _depth(brain: np.ndarray, spacing: np.ndarray) -> np.ndarray:
        """Distance in mm from each voxel of ``brain`` to the nearest voxel outside it (0 outside), computed on the
        bounding box plus one voxel: clamping any outer voxel onto that box's boundary layer, which lies outside
        ``brain``, brings it nearer, so the distances are those of the whole volume."""
        present = [np.flatnonzero(brain.any(axis=tuple(a for a in range(3) if a != axis))) for axis in range(3)]
        box = tuple(slice(max(0, int(p[0]) - 1), min(n, int(p[-1]) + 2)) for p, n in zip(present, brain.shape))
        depth = np.zeros(brain.shape, dtype=np.float64)
        depth[box] = ndimage.distance_transform_edt(brain[box], sampling=spacing)
        return depth
