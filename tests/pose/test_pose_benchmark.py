"""Sim-to-real benchmark: folds, table, and the --quick run on the real open-field frames (slow)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from synthmouse.errors import SynthmouseError
from synthmouse.pose.benchmark import contiguous_folds, mean_position_predictions, results_table
from synthmouse.pose.sources import pick_frames


def test_contiguous_folds_cover_every_frame_once():
    folds = contiguous_folds(116, 5)
    assert [len(f) for f in folds] == [24, 23, 23, 23, 23]
    np.testing.assert_array_equal(np.concatenate(folds), np.arange(116))
    assert all(np.all(np.diff(f) == 1) for f in folds)
    with pytest.raises(SynthmouseError, match="folds"):
        contiguous_folds(3, 5)


def test_pick_frames_is_seeded_and_distinct():
    a, b = pick_frames(90, 10, 3), pick_frames(90, 10, 3)
    np.testing.assert_array_equal(a, b)
    assert len(set(a.tolist())) == 10 and a.max() < 90
    assert not np.array_equal(a, pick_frames(90, 10, 4))
    np.testing.assert_array_equal(pick_frames(5, 0, 0), np.arange(5))


def test_results_table_rows():
    m = {
        "rmse": 5.0,
        "mean_error": 4.0,
        "median_error": 3.0,
        "pck_5px": 0.5,
        "pck_10px": 0.9,
        "pck_0.1L": 0.8,
        "pck_0.2L": 0.95,
    }
    table = results_table(
        {
            "real_train_frames_per_fold": [92, 93],
            "conditions": {"real only (k-fold)": m, "synthetic only": m, "synthetic + 10 real": m},
        }
    )
    lines = table.splitlines()
    assert lines[2].startswith("| real only (k-fold) | 92-93 | 5.00 | 4.00 |")
    assert lines[3].startswith("| synthetic only | 0 |") and lines[4].startswith("| synthetic + 10 real | 10 |")


def test_mean_position_predicts_each_folds_training_mean():
    xy = np.array(
        [
            [[0.0, 0.0], [10.0, 10.0]],
            [[2.0, 4.0], [np.nan, np.nan]],
            [[4.0, 8.0], [30.0, 50.0]],
            [[100.0, 100.0], [np.nan, np.nan]],
        ]
    )
    folds = contiguous_folds(4, 2)  # rows 0-1 | rows 2-3
    pred = mean_position_predictions(xy, folds)
    np.testing.assert_allclose(pred[0], [[52.0, 54.0], [30.0, 50.0]])  # mean of rows 2, 3 (row 3 kp1 unlabelled)
    np.testing.assert_allclose(pred[1], pred[0])
    np.testing.assert_allclose(pred[2], [[1.0, 2.0], [10.0, 10.0]])  # mean of rows 0, 1
    np.testing.assert_allclose(pred[3], pred[2])
    only_test = np.full_like(xy, np.nan)
    only_test[0, 0] = [1.0, 1.0]
    assert np.isnan(mean_position_predictions(only_test, folds)[0]).all()  # never labelled in training rows


def test_results_table_mean_position_row_counts_fold_training_frames():
    m = dict.fromkeys(("rmse", "mean_error", "median_error", "pck_5px", "pck_10px", "pck_0.1L", "pck_0.2L"), 1.0)
    table = results_table(
        {"real_train_frames_per_fold": [36, 37], "conditions": {"real only (k-fold)": m, "mean position (k-fold)": m}}
    )
    assert table.splitlines()[3].startswith("| mean position (k-fold) | 36-37 | 1.00 |")


@pytest.mark.slow
def test_quick_benchmark_on_real_openfield(openfield_dir, tmp_path):
    from pathlib import Path

    from synthmouse.pose.benchmark import BenchmarkOptions, run_benchmark

    scene = Path(__file__).resolve().parents[2] / "docs" / "results" / "openfield_sim2real.yaml"
    result = run_benchmark(scene, openfield_dir, tmp_path / "bench", BenchmarkOptions(device="cpu").quick())
    data = json.loads((tmp_path / "bench" / "results.json").read_text())
    assert set(data["conditions"]) == {
        "real only (k-fold)",
        "mean position (k-fold)",
        "synthetic only",
        "synthetic + 5 real",
    }
    assert all(c["n"] == 116 * 4 for c in data["conditions"].values())
    assert (tmp_path / "bench" / "learning_curve.png").stat().st_size > 1000
    assert "synthetic + 5 real" in result["table"]
    assert data["smoke_test"] and data["note"].startswith("SMOKE TEST") and "not a result" in data["note"]
    assert result["table"].startswith("**SMOKE TEST")  # printed and in table.md
    assert data["keypoint_pairs"] == [[n, n] for n in ("snout", "leftear", "rightear", "tailbase")]
