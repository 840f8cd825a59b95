"""Tests of the location in the outputs: lesion columns, JSON, header line and summary row against hand-built
expectations, and the batch step that keeps the detections when the registration fails (no registration runs)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from _inference_helpers import fake_locate, result_of_mask

from cmb_kd.inference import (
    LESION_COLUMNS,
    LOCATION_SUMMARY_COLUMNS,
    DetectionResult,
    lesion_columns,
    locate_lesions,
    located_or_warning,
    location_header_line,
    location_json_bytes,
    location_summary_row,
    with_location,
)
from cmb_kd.inference import location_output as location_output_module
from cmb_kd.location import BURDEN_COLUMNS, LESION_LOCATION_COLUMNS, burden

AFFINE = np.diag([2.0, 2.0, 2.0, 1.0])
AFFINE[:3, 3] = (-10.0, -10.0, -10.0)


def _result(points_voxel=((2, 5, 5), (8, 5, 5), (9, 9, 9))) -> DetectionResult:
    """Three one-voxel lesions at world x = -6, 6 and 8 mm, a brain mask of the whole grid."""
    mask = np.zeros((11, 11, 11), dtype=np.uint8)
    for point in points_voxel:
        mask[point] = 1
    return result_of_mask(mask, AFFINE, brain_mask=np.ones(mask.shape, dtype=bool))


@pytest.fixture
def located(monkeypatch) -> DetectionResult:
    monkeypatch.setattr(location_output_module, "locate", fake_locate)
    result = _result()
    return result.locate(np.ones(result.mask.shape, dtype=np.float32))


def test_locate_lesions_passes_the_world_centroids_in_table_order(monkeypatch) -> None:
    seen = {}

    def recording(volume, affine, brain_mask, centroids_mm, **options):
        seen.update(centroids=centroids_mm, options=options)
        return fake_locate(volume, affine, brain_mask, centroids_mm)

    monkeypatch.setattr(location_output_module, "locate", recording)
    result = _result()
    location = locate_lesions(result.mask, AFFINE, result.brain_mask, result.lesions, settings="s")
    np.testing.assert_allclose(seen["centroids"], [lesion.centroid_mm for lesion in result.lesions])
    assert seen["options"] == {"settings": "s"}
    assert location.regions == ("thalamus", "frontal", "frontal")
    empty = locate_lesions(result.mask, AFFINE, result.brain_mask, [])
    assert empty.regions == () and seen["centroids"].shape == (0, 3)
    with pytest.raises(ValueError, match="brain_mask: expected the brain mask on the input grid"):
        locate_lesions(result.mask, AFFINE, None, result.lesions)


def test_lesion_columns_and_rows(located: DetectionResult) -> None:
    assert lesion_columns(None) == LESION_COLUMNS
    assert lesion_columns(located.location) == (*LESION_COLUMNS, *LESION_LOCATION_COLUMNS)
    rows = located.lesion_rows()
    assert [list(row) for row in rows] == [list(lesion_columns(located.location))] * 3
    first = rows[0]
    assert (first["region"], first["location_class"], first["side"]) == ("thalamus", "deep", "left")
    assert (first["mni_x_mm"], first["mni_y_mm"], first["mni_z_mm"]) == (-6.0, 0.0, 0.0)
    assert [row["region"] for row in rows[1:]] == ["frontal", "frontal"]
    assert with_location([{"id": 1}], None) == [{"id": 1}]
    with pytest.raises(ValueError, match=r"location: expected the regions of 2 lesion\(s\), got 3"):
        with_location([{"id": 1}, {"id": 2}], located.location)
    with pytest.raises(ValueError, match="location: expected a LocationResult"):
        with_location([{"id": 1}], {"regions": ("frontal",)})


def test_json_holds_the_burden_and_each_lesion(located: DetectionResult) -> None:
    summary = json.loads(location_json_bytes("s", located.lesions, located.location))
    assert summary["name"] == "s"
    assert (summary["n_cmb"], summary["burden_class"]) == (3, "2-4")
    assert (summary["strictly_lobar"], summary["boston_strictly_lobar_2plus"], summary["mixed"]) == (False, False, True)
    assert summary["by_class"] == {"lobar": 2, "deep": 1, "infratentorial": 0, "unlocated": 0}
    assert summary["by_region"]["frontal"] == {"left": 0, "right": 2}
    assert summary["by_region"]["thalamus"] == {"left": 1, "right": 0}
    assert sum(sum(sides.values()) for sides in summary["by_region"].values()) == 3
    assert summary["lesions"][0] == {
        "id": 1,
        "region": "thalamus",
        "location_class": "deep",
        "side": "left",
        "mni_x_mm": -6.0,
        "mni_y_mm": 0.0,
        "mni_z_mm": 0.0,
    }
    assert [lesion["id"] for lesion in summary["lesions"]] == [1, 2, 3]


def test_header_line_and_summary_row(located: DetectionResult) -> None:
    assert location_header_line(located.location) == (
        "location (MARS): 2 lobar, 1 deep, 0 infratentorial; burden class 2-4; mixed"
    )
    row = location_summary_row(located.location)
    assert tuple(row) == LOCATION_SUMMARY_COLUMNS == tuple(c for c in BURDEN_COLUMNS if c != "n_cmb")
    assert row["burden_class"] == "2-4"
    assert (row["strictly_lobar"], row["mixed"]) == ("false", "true")
    assert (row["n_lobar"], row["n_deep"], row["n_frontal_right"], row["n_thalamus_left"]) == ("2", "1", "2", "1")
    assert location_summary_row(None) == dict.fromkeys(LOCATION_SUMMARY_COLUMNS, "")
    lobar = fake_locate(None, None, None, [(1.0, 0.0, 0.0), (2.0, 0.0, 0.0)])
    assert location_header_line(lobar) == "location (MARS): 2 lobar, 0 deep, 0 infratentorial; burden class 2-4; " + (
        "strictly lobar"
    )
    unlocated = dataclasses.replace(lobar, regions=("outside",), sides=("left",), burden=burden(["outside"], ["left"]))
    assert location_header_line(unlocated).startswith("location (MARS): 0 lobar, 0 deep, 0 infratentorial, 1 unlocated")


def test_a_failed_registration_keeps_the_detections_with_a_warning(monkeypatch, caplog) -> None:
    def failing(*args, **kwargs):
        raise RuntimeError("itk::ExceptionObject\n  too few samples in the mask")

    monkeypatch.setattr(location_output_module, "locate", failing)
    result = _result()
    kept, warnings = located_or_warning(result, result.mask, "s.nii.gz")
    assert kept is result and kept.location is None
    assert warnings == (
        "location failed (RuntimeError: itk::ExceptionObject too few samples in the mask); outputs written without "
        "location",
    )
    assert "s.nii.gz: location failed" in caplog.text
    unmasked, warnings = located_or_warning(dataclasses.replace(result, brain_mask=None), result.mask, "s")
    assert unmasked.location is None and "ValueError: brain_mask" in warnings[0]
    monkeypatch.setattr(location_output_module, "locate", fake_locate)
    done, warnings = located_or_warning(result, result.mask, "s")
    assert warnings == () and done.location.regions == ("thalamus", "frontal", "frontal")
    with pytest.raises(ValueError, match="image: expected the mask's shape"):
        result.locate(np.ones((3, 3, 3)))
