"""Lightning Pose export: the CSV read as Lightning Pose reads it, image paths relative to the dataset; keypoint
names its flip augmentation pairs; ``lp_config.yaml`` with the views in calibration.toml's order.

Lightning Pose does not install here, so the checks follow its documented behaviour:

* ``training.imgaug_hflip`` (docs/source/user_guide_advanced, "Horizontal flip for lateralized keypoints"):
  keypoints whose names end in ``_left`` are paired with the corresponding ``_right`` name and swapped when an
  image is flipped; names without those suffixes are midline points; an unpaired ``_left`` / ``_right`` is an
  error; not supported for multi-view models.
* multi-view (``MultiviewHeatmapDataset``): ``csv_file`` and ``view_names`` are zipped in order, every CSV has
  the same keypoint names in the same order and the same image file name on each row; cameras come from the
  Anipose ``calibration.toml`` through aniposelib's ``CameraGroup.load``, which sorts the top-level tables by
  key and leaves out ``metadata``, so view ``i`` must be the ``i``-th camera in that order.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from fakes.dataset import NAMES, FakeSource, dlc_h5, make_dataset
from synthmouse.dataset.generation import GenerateOptions, generate
from synthmouse.dataset.meta import CameraInfo, DatasetMeta
from synthmouse.export.lightning_pose import mirrored_column_matches
from synthmouse.scene.calibration import save_cameras
from synthmouse.scene.camera import Camera

SEED, FRAMES = 13, 6


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("lp") / "ds", frames=FRAMES, seed=SEED, formats=("lp", "dlc"))


def read_lp_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, header=[0, 1, 2], index_col=0)  # as Lightning Pose reads label files


def lp_flip_pairs(names: list[str]) -> list[tuple[str, str]]:
    """Lightning Pose's documented pairing for imgaug_hflip: ``X_left`` with ``X_right``; raises when unpaired."""
    pairs = []
    for n in names:
        if n.endswith("_left"):
            partner = n[: -len("_left")] + "_right"
            if partner not in names:
                raise ValueError(f"{n} has no partner {partner}")
            pairs.append((n, partner))
        elif n.endswith("_right") and n[: -len("_right")] + "_left" not in names:
            raise ValueError(f"{n} has no _left partner")
    return pairs


def test_lightning_pose_csv_layout_and_values(dataset):
    for cam in ("top", "side"):
        csv = read_lp_csv(dataset / f"CollectedData_{cam}.csv")
        assert list(csv.columns.names) == ["scorer", "bodyparts", "coords"]
        assert csv.index.tolist() == [f"labeled-data/synth_{cam}/img{i:05d}.png" for i in range(FRAMES)]
        assert all((dataset / rel).is_file() for rel in csv.index)  # relative to data_dir, the dataset
        dlc = pd.read_hdf(dlc_h5(dataset, cam), "df_with_missing")
        assert dlc.columns.get_level_values("bodyparts").unique().tolist() == list(NAMES)
        np.testing.assert_array_equal(csv.to_numpy(), dlc.to_numpy())  # same labels, NaN where not visible
        assert np.isnan(csv.to_numpy()).any()


def test_lightning_pose_names_are_paired_by_its_flip_augmentation(dataset):
    """Column k of the LP file is column k of the DeepLabCut file: each LP pair is a left_/right_ pair of
    synthmouse names with the same rest, and every synthmouse side name ends up in a pair."""
    csv = read_lp_csv(dataset / "CollectedData_top.csv")
    lp_names = csv.columns.get_level_values("bodyparts").unique().tolist()
    original = dict(zip(lp_names, NAMES, strict=True))
    pairs = lp_flip_pairs(lp_names)
    assert pairs, "the fake's left_ear / right_ear must become a flip pair"
    for left, right in pairs:
        assert original[left].replace("left", "right") == original[right]
    paired = {n for p in pairs for n in p}
    for lp, orig in original.items():
        if lp not in paired:  # midline: no side word left, name unchanged
            assert "left" not in orig and "right" not in orig and lp == orig


def test_lp_config_matches_the_csv_files(dataset):
    config = yaml.safe_load((dataset / "lp_config.yaml").read_text())
    data = config["data"]
    assert Path(data["data_dir"]) == dataset.absolute()
    assert data["view_names"] == ["top", "side"]  # no calibration.toml: the cameras' order
    assert data["csv_file"] == [f"CollectedData_{v}.csv" for v in data["view_names"]]
    for csv_file in data["csv_file"]:
        csv = read_lp_csv(Path(data["data_dir"]) / csv_file)
        names = csv.columns.get_level_values("bodyparts").unique().tolist()
        assert data["keypoint_names"] == names and data["num_keypoints"] == len(names)
    assert config["training"]["imgaug_hflip"] is False  # Lightning Pose refuses it for multi-view models
    assert data["image_resize_dims"]["height"] in (64, 128, 256, 384, 512)


def test_single_view_config_enables_flip_when_every_side_has_a_partner(tmp_path):
    root = make_dataset(tmp_path / "one", frames=3, seed=2, formats=("lp",), cameras=("top",))
    config = yaml.safe_load((root / "lp_config.yaml").read_text())
    assert config["data"]["csv_file"] == "CollectedData_top.csv" and "view_names" not in config["data"]
    assert config["training"]["imgaug_hflip"] is True
    lp_flip_pairs(config["data"]["keypoint_names"])  # would raise in Lightning Pose if unpaired


class CalibratedFakeSource(FakeSource):
    """The fake with an Anipose calibration.toml of its cameras, like the scene source writes."""

    def write_calibration(self, path: Path) -> None:
        cams = [
            Camera.look_at(
                c.name, eye=(0.3 * np.cos(a), 0.3 * np.sin(a), 0.2), target=(0, 0, 0), width=c.width, height=c.height
            )
            for c, a in zip(
                self.meta.cameras, np.linspace(0, 2 * np.pi, len(self.meta.cameras), endpoint=False), strict=True
            )
        ]
        save_cameras(cams, path)


def aniposelib_camera_names(path: Path) -> list[str]:
    """Camera names in the order aniposelib's ``CameraGroup.load`` builds them (``sorted(keys)``, metadata out)."""
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    return [data[k]["name"] for k in sorted(data.keys()) if k != "metadata"]


def test_multiview_view_names_follow_calibration_toml_as_aniposelib_reads_it(tmp_path):
    """Twelve cameras: aniposelib reads [cam_10] and [cam_11] before [cam_2], so the views are not the scene's
    order; csv_file, view_names and the calibration must agree view by view, with aligned rows."""
    cameras = tuple(f"c{i:02d}" for i in range(12))
    root = tmp_path / "mv"
    generate(
        CalibratedFakeSource(seed=4, cameras=cameras, size=(24, 20)),
        root,
        GenerateOptions(n_frames=3, formats=("lp",)),
    )
    data = yaml.safe_load((root / "lp_config.yaml").read_text())["data"]
    calib = aniposelib_camera_names(root / "calibration.toml")
    assert calib != list(cameras)  # the string sort really reorders twelve cameras
    assert data["view_names"] == calib
    assert data["csv_file"] == [f"CollectedData_{v}.csv" for v in calib]
    frames = [read_lp_csv(root / f) for f in data["csv_file"]]
    for view, csv in zip(data["view_names"], frames, strict=True):
        assert all(p.startswith(f"labeled-data/synth_{view}/") for p in csv.index)
        assert csv.columns.equals(frames[0].columns)
    names = [[Path(p).name for p in csv.index] for csv in frames]
    assert all(n == names[0] for n in names)


def test_mirrored_column_matches_group_each_view_of_the_animal():
    names = ("nose", "left_ear", "right_ear")
    mirrored = tuple(f"{n}_mirror" for n in names) + tuple(f"{n}_mirror2" for n in names)
    meta = DatasetMeta("m", "0" * 64, (CameraInfo("top", 32, 32, names + mirrored),), names)
    assert mirrored_column_matches(meta) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    plain = DatasetMeta("m", "0" * 64, (CameraInfo("top", 32, 32, names),), names)
    assert mirrored_column_matches(plain) is None
