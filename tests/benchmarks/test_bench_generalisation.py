"""Tests of benchmarks/bench_generalisation.py: the scoring, the threshold sweep, one domain end to end."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from cmb_kd.candidates import Candidate
from cmb_kd.inference import default_bundle_dir

ROOT = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location("bench_generalisation", ROOT / "benchmarks" / "bench_generalisation.py")
bench = importlib.util.module_from_spec(SPEC)
sys.modules["bench_generalisation"] = bench  # its dataclasses look their module up
SPEC.loader.exec_module(bench)


def test_points_mask_and_tally_score_a_known_prediction() -> None:
    affine = np.diag([0.5, 0.5, 4.0, 1.0])
    reference = np.zeros((40, 40, 10), np.uint8)
    reference[10:14, 10:14, 4:6] = 1  # 32 mm^3: a large lesion
    reference[30, 30, 2] = 1  # 1 mm^3: a small one
    candidates = [
        Candidate(voxel=(0, 0, 0), mm=(6.0, 6.0, 19.0), score=5.0, sources=("frst",)),  # near the large lesion
        Candidate(voxel=(0, 0, 0), mm=(2.0, 2.0, 36.0), score=5.0, sources=("frst",)),  # far from both
        Candidate(voxel=(0, 0, 0), mm=(15.0, 15.0, 8.0), score=1.0, sources=("frst",)),  # on the small, below threshold
    ]
    mask = bench._points_mask(candidates, reference.shape, affine, 2.0)
    assert mask.sum() == 2 and mask[12, 12, 5] == 1
    tally = bench.Tally()
    tally.add(mask, reference, affine, seconds=2.0)
    row = tally.row()
    assert row["lesions"] == 2 and row["tpr_centroid"] == 50.0 and row["fp_per_scan_centroid"] == 1.0
    assert row["tpr_large"] == 100.0 and row["tpr_small"] == 0.0 and row["seconds_per_scan"] == 2.0
    assert "| d | m | 1 | 2 |" in bench.format_table({"d": {"m": row}})


def _tiny_bundle(tmp_path: Path) -> Path:
    """The shipped inference config on a 2 mm working grid with at most 8 candidates, without weights."""
    bundle = tmp_path / "bundle"
    config = json.loads((default_bundle_dir() / "configs" / "inference.json").read_text())
    config["working_spacing"] = 2.0
    config["candidate_detector"]["max_candidates"] = 8
    (bundle / "configs").mkdir(parents=True)
    (bundle / "configs" / "inference.json").write_text(json.dumps(config))
    return bundle


@pytest.mark.slow
def test_one_domain_end_to_end_writes_the_figures(tmp_path) -> None:
    bundle = _tiny_bundle(tmp_path)
    argv = [
        "--data", str(tmp_path / "data"), "--grid", "small", "--subjects", "1", "--validation-subjects", "1",
        "--domains", "valdo_nan", "--method", f"tiny={bundle}", "--allow-untrained", "--json", str(tmp_path / "g.json"),
    ]  # fmt: skip
    with pytest.warns(UserWarning, match="UNTRAINED"):
        record = bench.main(argv)
    scan = nib.load(tmp_path / "data" / "valdo_nan-small" / "sub-001" / "sub-001_T2S.nii.gz")
    assert np.isnan(np.asarray(scan.dataobj)).any()  # the VALDO layout: NaN outside the brain
    assert set(record["results"]["valdo_nan"]) == {"tiny", "classical"}
    assert json.loads((tmp_path / "g.json").read_text())["results"]["valdo_nan"]["tiny"]["scans"] == 1
    assert record["baseline_threshold"] in bench.BASELINE_THRESHOLDS
    cached = tmp_path / "data" / "predictions" / "valdo_nan-small" / "tiny" / "sub-001_cmb_mask.nii.gz"
    before = cached.stat().st_mtime_ns
    with pytest.warns(UserWarning, match="UNTRAINED"):
        again = bench.main(argv)
    assert cached.stat().st_mtime_ns == before and again["results"] == record["results"]  # predictions reused


def test_best_threshold_takes_the_best_mean_f1_over_the_sets() -> None:
    affine = np.eye(4)
    reference = np.zeros((20, 20, 20), np.uint8)
    reference[5, 5, 5] = reference[15, 15, 15] = 1
    hit_one = np.zeros_like(reference)
    hit_one[5, 5, 5] = 1
    with_fp = hit_one.copy()
    with_fp[10, 2, 2] = 1
    tallies = {"a": {0.2: bench.Tally(), 0.5: bench.Tally()}, "b": {0.2: bench.Tally(), 0.5: bench.Tally()}}
    tallies["a"][0.2].add(reference, reference, affine, 1.0)  # F1 1.0 in a at 0.2
    tallies["a"][0.5].add(hit_one, reference, affine, 1.0)  # F1 2/3
    tallies["b"][0.2].add(with_fp, reference, affine, 1.0)  # F1 1/2 in b at 0.2
    tallies["b"][0.5].add(hit_one, reference, affine, 1.0)  # F1 2/3
    assert bench.best_threshold(tallies) == 0.2  # mean 0.75 against 0.667
    tallies["a"][0.2] = bench.Tally()
    tallies["a"][0.2].add(hit_one, reference, affine, 1.0)
    assert bench.best_threshold(tallies) == 0.5  # 0.583 against 0.667
    table = bench.format_sweep(tallies)
    assert "| 0.5 | 66.7 | 0.0 | 66.7 | 0.0 | 66.7 |" in table and "| 0.2 | 66.7 | 0.0 | 50.0 | 1.0 | 58.3 |" in table


@pytest.mark.slow
def test_choose_threshold_sweeps_the_validation_sets_only(tmp_path) -> None:
    bundle = _tiny_bundle(tmp_path)
    argv = [
        "--data", str(tmp_path / "data"), "--grid", "small", "--validation-subjects", "1", "--choose-threshold",
        "--method", f"tiny={bundle}", "--allow-untrained", "--json", str(tmp_path / "t.json"),
    ]  # fmt: skip
    with pytest.warns(UserWarning, match="UNTRAINED"):
        record = bench.main(argv)
    assert record["sets"] == {"validation_base": 1, "validation_randomised": 1}
    assert record["chosen"] in bench.MODEL_THRESHOLDS
    assert set(record["sweep"]["validation_randomised"]) == {str(t) for t in bench.MODEL_THRESHOLDS}
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["validation-small", "validation_randomised-small"]
    with pytest.raises(SystemExit, match="datalist.json: not found"):
        bench.main([*argv, "--cohort", str(tmp_path / "no_cohort")])
