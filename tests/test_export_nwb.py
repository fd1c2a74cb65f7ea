"""NWB export (optional extra): read back with pynwb + ndx-pose; 2D series, skeleton, 3D ground truth,
cameras."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from test_dataset_fakes import EDGES, NAMES, dlc_h5, make_dataset

pynwb = pytest.importorskip("pynwb")
pytest.importorskip("ndx_pose")

SEED, FRAMES = 17, 6


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("nwb") / "ds"
    return make_dataset(root, frames=FRAMES, seed=SEED, formats=("nwb", "dlc"))


def test_nwb_pose_estimation_per_camera_matches_dlc_labels(dataset):
    with pynwb.NWBHDF5IO(str(dataset / "nwb" / "dataset.nwb"), "r") as io:
        nwb = io.read()
        behavior = nwb.processing["behavior"]
        skeleton = behavior["Skeletons"].skeletons["mouse"]
        assert list(skeleton.nodes[:]) == list(NAMES)
        assert {(NAMES[a], NAMES[b]) for a, b in skeleton.edges[:]} == set(EDGES)
        for cam in ("top", "side"):
            pe = behavior[f"PoseEstimation_{cam}"]
            assert pe.skeleton.name == "mouse"
            assert pe.device.name == cam
            dlc = pd.read_hdf(dlc_h5(dataset, cam), "df_with_missing")
            for name in NAMES:
                series = pe.pose_estimation_series[name]
                data = series.data[:]
                assert data.shape == (FRAMES, 2) and series.unit == "pixels"
                np.testing.assert_array_equal(data, dlc.xs(name, axis=1, level="bodyparts").to_numpy())
                np.testing.assert_array_equal(series.confidence[:], np.isfinite(data[:, 0]).astype(float))
                assert series.rate == 30.0


def test_nwb_world_ground_truth_equals_keypoints3d_csv(dataset):
    table = pd.read_csv(dataset / "keypoints3d.csv", index_col="frame")
    with pynwb.NWBHDF5IO(str(dataset / "nwb" / "dataset.nwb"), "r") as io:
        world = io.read().processing["behavior"]["PoseEstimation_world"]
        for name in NAMES:
            series = world.pose_estimation_series[name]
            assert series.unit == "meters"
            expect = table[[f"{name}_x", f"{name}_y", f"{name}_z"]].to_numpy()
            np.testing.assert_array_equal(series.data[:], expect)


def test_nwb_file_is_byte_reproducible(tmp_path):
    """Dates fixed, identifier and object ids derived from content: rewriting later gives the same bytes."""
    root = make_dataset(tmp_path / "same", frames=3, seed=1, formats=("nwb",))
    first = (root / "nwb" / "dataset.nwb").read_bytes()
    shutil.rmtree(root)
    time.sleep(1.1)
    make_dataset(tmp_path / "same", frames=3, seed=1, formats=("nwb",))
    assert (root / "nwb" / "dataset.nwb").read_bytes() == first
