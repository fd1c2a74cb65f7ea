"""DeepLabCut export: read back exactly as DeepLabCut 3 reads its labels, compared with a real DLC project."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from test_dataset_fakes import NAMES, FakeSource, dlc_h5, image_path, make_dataset

SEED, FRAMES = 5, 10


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("dlc") / "ds", frames=FRAMES, seed=SEED, formats=("dlc",))


def guarantee_multiindex_rows(df: pd.DataFrame) -> None:
    """DeepLabCut 3's ``conversioncode.guarantee_multiindex_rows`` (legacy path strings to path
    components)."""
    if not isinstance(df.index, pd.MultiIndex):
        path = df.index[0]
        sep = "/" if "/" in path else "\\"
        df.index = pd.MultiIndex.from_tuples(tuple(df.index.str.split(sep)))


def test_dlc_h5_matches_real_deeplabcut_layout(dataset, openfield_dir):
    real_path = openfield_dir / "labeled-data" / "m4s1" / "CollectedData_Pranav.h5"
    real = pd.read_hdf(real_path, "df_with_missing")
    guarantee_multiindex_rows(real)
    ours = pd.read_hdf(dlc_h5(dataset, "top"), "df_with_missing")
    assert isinstance(ours.index, pd.MultiIndex) and ours.index.nlevels == real.index.nlevels == 3
    assert list(ours.columns.names) == list(real.columns.names) == ["scorer", "bodyparts", "coords"]
    assert set(ours.dtypes) == set(real.dtypes) == {np.dtype("float64")}
    assert list(ours.columns.get_level_values("coords").unique()) == ["x", "y"]
    first_level = real.index.get_level_values(0).unique().tolist()
    assert ours.index.get_level_values(0).unique().tolist() == first_level == ["labeled-data"]
    assert ours.index.get_level_values(1).unique().tolist() == ["synth_top"]  # the folder holding the file
    assert ours.columns.get_level_values("bodyparts").unique().tolist() == list(NAMES)


def test_dlc_values_equal_rendered_keypoints_nan_where_not_visible(dataset):
    source = FakeSource(seed=SEED)
    for cam_index, cam in enumerate(("top", "side")):
        df = pd.read_hdf(dlc_h5(dataset, cam), "df_with_missing")
        assert len(df) == FRAMES
        for i in range(FRAMES):
            view = source.render(i).views[cam_index]
            h, w = view.rgb.shape[:2]
            inside = (view.keypoints[:, 0] >= -0.5) & (view.keypoints[:, 0] < w - 0.5) \
                & (view.keypoints[:, 1] >= -0.5) & (view.keypoints[:, 1] < h - 0.5)
            expect = np.where((view.visible & inside)[:, None], view.keypoints, np.nan)
            row = df.loc[("labeled-data", f"synth_{cam}", f"img{i:05d}.png")].to_numpy().reshape(-1, 2)
            np.testing.assert_array_equal(row, expect)
            assert image_path(dataset, cam, i).is_file()
    assert np.isnan(df.to_numpy()).any() and not np.isnan(df.to_numpy()).all()


def test_dlc_csv_reads_back_like_napari_deeplabcut(dataset):
    folder = dataset / "labeled-data" / "synth_side"
    h5 = pd.read_hdf(folder / "CollectedData_synthmouse.h5", "df_with_missing")
    lines = (folder / "CollectedData_synthmouse.csv").read_text().splitlines()
    assert [ln.split(",")[0] for ln in lines[:3]] == ["scorer", "bodyparts", "coords"]
    assert lines[3].split(",")[0] == "labeled-data"  # DLC's rule for index_col=[0, 1, 2]
    csv = pd.read_csv(folder / "CollectedData_synthmouse.csv", header=[0, 1, 2], index_col=[0, 1, 2])
    assert csv.index.tolist() == h5.index.tolist()
    assert csv.columns.tolist() == h5.columns.tolist()
    np.testing.assert_array_equal(csv.to_numpy(), h5.to_numpy())


def test_dlc_config_has_deeplabcut_keys_and_consistent_project(dataset, openfield_dir):
    ours = yaml.safe_load((dataset / "config.yaml").read_text())
    real = yaml.safe_load((openfield_dir / "config.yaml").read_text())
    assert set(real) - {"SuperAnimalConversionTables"} <= set(ours)
    assert ours["scorer"] == "synthmouse" and ours["multianimalproject"] is False
    assert Path(ours["project_path"]) == dataset.absolute()
    assert ours["bodyparts"] == list(NAMES)
    assert all(a in NAMES and b in NAMES for a, b in ours["skeleton"])
    assert 0 < ours["TrainingFraction"][0] < 1
    stems = sorted(Path(v).stem for v in ours["video_sets"])
    assert stems == ["synth_side", "synth_top"]
    for video, settings in ours["video_sets"].items():
        assert settings["crop"] == "0, 48, 0, 40"
        assert (dataset / "labeled-data" / Path(video).stem / "CollectedData_synthmouse.h5").is_file()


def test_dlc_merge_like_create_training_dataset_and_split_indices(dataset):
    """Reproduce ``merge_annotateddatasets`` (DLC 3) and check splits.json's trainIndices/testIndices rows."""
    cfg = yaml.safe_load((dataset / "config.yaml").read_text())
    frames = []
    for video in cfg["video_sets"]:
        folder = Path(cfg["project_path"]) / "labeled-data" / Path(video).stem
        path = folder / f"CollectedData_{cfg['scorer']}.h5"
        data = pd.read_hdf(path)
        guarantee_multiindex_rows(data)
        assert data.columns.levels[0][0] == cfg["scorer"]
        frames.append(data)
    merged = pd.concat(frames).sort_index()
    merged = merged.reindex(cfg["bodyparts"], axis=1, level=merged.columns.names.index("bodyparts"))
    assert merged.shape == (2 * FRAMES, 2 * len(NAMES))
    splits = json.loads((dataset / "splits.json").read_text())
    for key, split in (("trainIndices", "train"), ("testIndices", "test"), ("valIndices", "val")):
        rows = merged.index[splits["deeplabcut"][key]]
        got = sorted({int(name[3:8]) for _, _, name in rows})
        assert got == sorted(splits["frames"][split])
    assert len(splits["deeplabcut"]["trainIndices"]) == 2 * len(splits["frames"]["train"])


def test_dlc_h5_bytes_reproducible(tmp_path):
    """PyTables stamps HDF5 nodes with the time in seconds unless told not to: rewrite a second later."""
    a = make_dataset(tmp_path / "same", frames=4, seed=2, formats=("dlc",))
    first = dlc_h5(a, "top").read_bytes()
    shutil.rmtree(a)
    time.sleep(1.1)
    make_dataset(tmp_path / "same", frames=4, seed=2, formats=("dlc",))
    assert dlc_h5(a, "top").read_bytes() == first


def test_deeplabcut_itself_reads_the_project_and_makes_a_training_set(dataset, tmp_path):
    """Runs only where DeepLabCut is installed (it needs PyTorch and pandas < 3, so not in CI here)."""
    deeplabcut = pytest.importorskip("deeplabcut", reason="deeplabcut is not installed (pip install deeplabcut)")
    from deeplabcut.utils import auxiliaryfunctions

    project = tmp_path / "project"
    shutil.copytree(dataset, project)
    config = project / "config.yaml"
    cfg = auxiliaryfunctions.read_config(str(config))
    cfg["project_path"] = str(project)
    auxiliaryfunctions.write_config(str(config), cfg)
    deeplabcut.create_training_dataset(str(config), num_shuffles=1)
    training_sets = list((project / "training-datasets").rglob("CollectedData_*.h5"))
    assert training_sets, "create_training_dataset wrote no merged label file"
    merged = pd.read_hdf(training_sets[0])
    assert set(merged.columns.get_level_values("bodyparts")) == set(NAMES)
    assert len(merged) == sum(1 for _ in (project / "labeled-data").rglob("img*.png"))
