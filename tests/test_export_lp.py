"""Lightning Pose export: the CSV read as Lightning Pose reads it, image paths relative to the dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from test_dataset_fakes import NAMES, dlc_h5, make_dataset

SEED, FRAMES = 13, 6


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("lp") / "ds", frames=FRAMES, seed=SEED, formats=("lp", "dlc"))


def test_lightning_pose_csv_layout_and_values(dataset):
    for cam in ("top", "side"):
        csv = pd.read_csv(dataset / f"CollectedData_{cam}.csv", header=[0, 1, 2], index_col=0)
        assert list(csv.columns.names) == ["scorer", "bodyparts", "coords"]
        assert csv.columns.get_level_values("bodyparts").unique().tolist() == list(NAMES)
        assert csv.index.tolist() == [f"labeled-data/synth_{cam}/img{i:05d}.png" for i in range(FRAMES)]
        assert all((dataset / rel).is_file() for rel in csv.index)  # relative to data_dir, the dataset
        dlc = pd.read_hdf(dlc_h5(dataset, cam), "df_with_missing")
        np.testing.assert_array_equal(csv.to_numpy(), dlc.to_numpy())  # same labels, NaN where not visible
        assert np.isnan(csv.to_numpy()).any()
