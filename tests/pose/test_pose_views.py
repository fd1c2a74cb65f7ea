"""The pose loop on any view: augmentation from the camera, one crop per view (a camera view and a mirror view
stacked in one image), flip pairs from naming schemes, rig keypoints, Lightning Pose labels through evaluate."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from fakes.pose import NAMES, toy_frames
from synthmouse.cli import pose as pose_cli
from synthmouse.io.labels import LabelledFrames
from synthmouse.pose.labels import PoseDataError, flip_pairs, flip_permutation, parse_flip_pairs
from synthmouse.pose.model import PoseModel, read_gray
from synthmouse.pose.plan import PoseSettings, config_augmentation, plan_config, plan_lines
from synthmouse.pose.train import Source, TrainOptions, config_flip_pairs, train_pose_model
from synthmouse.pose.views import (
    augmentation_for,
    dataset_view_kinds,
    merge_views,
    parse_views,
    split_views,
    suffix_views,
    view_kind,
    view_regions,
)

TWO_VIEW_NAMES = ("snout", "tailbase", "snout_mirror", "tailbase_mirror")
HALF = 48  # each view is 64 x 48 px; the mirror view below the camera view


# ------------------------------------------------------------------------------------------------ flip pairs
@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("left_ear", "right_ear"),
        ("ear_left", "ear_right"),
        ("hip_l", "hip_r"),
        ("l_hip", "r_hip"),
        ("paw1LH", "paw1RH"),
        ("paw3RF", "paw3LF"),
        ("LeftEar", "RightEar"),
        ("leftear", "rightear"),
        ("lPaw", "rPaw"),
        ("EAR_LEFT", "EAR_RIGHT"),
    ],
)
def test_flip_pairs_from_naming_schemes(a, b):
    names = ["snout", b, "Lever", a, "tailRoot"]
    assert flip_pairs(names) == [(b, a)]
    perm = flip_permutation(names)
    assert perm.tolist() == [0, 3, 2, 1, 4]  # the pair swapped, every other keypoint maps to itself


def test_deeplabcut_paw_names_pair_front_with_front_and_hind_with_hind():
    names = ["paw1LH", "paw2LF", "paw3RF", "paw4RH", "nose"]
    assert sorted(flip_pairs(names)) == [("paw1LH", "paw4RH"), ("paw2LF", "paw3RF")]


def test_explicit_flip_pairs_and_rig_keypoints():
    names = ["nose", "a", "b", "joy_l", "joy_r", "hip_l", "hip_r"]
    pairs = flip_pairs(names, parse_flip_pairs(["a=b"]), fixed=["joy_l", "joy_r"])
    assert pairs == [("a", "b"), ("hip_l", "hip_r")]  # the rig's l/r points are never swapped
    assert flip_permutation(names, [("a", "b")], ["joy_l", "joy_r"]).tolist() == [0, 2, 1, 3, 4, 6, 5]
    with pytest.raises(PoseDataError, match="no keypoint 'c'"):
        flip_pairs(names, [("a", "c")])
    with pytest.raises(PoseDataError, match="rig keypoint"):
        flip_pairs(names, [("joy_l", "nose")], fixed=["joy_l"])
    with pytest.raises(PoseDataError, match="A=B"):
        parse_flip_pairs(["a-b"])


# ------------------------------------------------------------------------------------------------ augmentation
def _look(direction) -> np.ndarray:
    """A world-to-camera rotation whose optical axis (row 2) is ``direction``."""
    z = np.asarray(direction, float) / np.linalg.norm(direction)
    helper = np.array([1.0, 0, 0]) if abs(z[0]) < 0.9 else np.array([0, 1.0, 0])
    x = np.cross(helper, z)
    x /= np.linalg.norm(x)
    return np.stack([x, np.cross(z, x), z])


def test_view_kind_from_the_camera_axis():
    assert view_kind(_look([0, 0, -1])) == "top"
    assert view_kind(_look([0.1, 0, -1])) == "top"
    assert view_kind(_look([0, 0, 1])) == "below"
    assert view_kind(_look([1, 0, 0])) == "side"
    assert view_kind(_look([1, 0, -0.2])) == "side"
    assert view_kind(_look([1, 0, -1])) == "oblique"


def test_dataset_view_from_its_calibration(tmp_path):
    rvec = cv2.Rodrigues(_look([0, 1, 0]))[0].ravel().tolist()
    (tmp_path / "calibration.toml").write_text(
        f'[cam_0]\nname = "side"\nsize = [64, 48]\nrotation = {rvec}\ntranslation = [0, 0, 0]\n'
    )
    assert dataset_view_kinds(tmp_path) == {"side": "side"}


def test_augmentation_from_the_view_and_overrides():
    top = augmentation_for("top", has_pairs=False)
    assert (top.rotation_deg, top.flip, top.chosen_by) == (180.0, True, "camera")
    side = augmentation_for("side", has_pairs=False)
    assert (side.rotation_deg, side.flip) == (15.0, False)
    assert augmentation_for("side", has_pairs=True).flip
    assert augmentation_for(None, has_pairs=False) == augmentation_for("unknown", False)  # today's default
    assert augmentation_for(None, False).rotation_deg == 180.0 and augmentation_for(None, False).flip
    forced = augmentation_for("top", True, rotation=10, scale=(0.9, 1.1), flip=False)
    assert (forced.rotation_deg, forced.scale_range, forced.flip, forced.chosen_by) == (10, (0.9, 1.1), False, "option")
    assert "side view (camera): rotation +-15 deg" in side.describe()
    with pytest.raises(PoseDataError):
        augmentation_for("top", True, rotation=200)
    options = TrainOptions().with_augmentation(side)
    assert (options.rotation_deg, options.locator_rotation_deg, options.flip) == (15.0, 15.0, False)


# ------------------------------------------------------------------------------------------------ views
def test_views_from_regions_and_from_names():
    assert parse_views(["cam:0,0,64,48 mirror:0,48,64,96"]) == [("cam", (0, 0, 64, 48)), ("mirror", (0, 48, 64, 96))]
    assert parse_views(["auto"]) == [("auto", None)]
    with pytest.raises(PoseDataError, match="empty"):
        parse_views(["a:10,0,5,5"])
    assert suffix_views(TWO_VIEW_NAMES) == {
        "main": ["snout", "tailbase"],
        "mirror": ["snout_mirror", "tailbase_mirror"],
    }
    assert len(suffix_views(["hip_l", "hip_r", "knee_l", "knee_r", "snout"])) == 1  # side suffixes are no views
    xy = np.array([[[10, 10], [30, 20], [10, 85], [30, 75]], [[20, 12], [40, 30], [20, 83], [40, 65]]], float)
    data = LabelledFrames(names=TWO_VIEW_NAMES, xy=xy, keys=("a", "b"), sizes=np.array([[64, 96], [64, 96]]))
    regions = view_regions(data, parse_views(["cam:0,0,64,48", "mirror:0,48,64,96"]))
    assert [r.channels for r in regions] == [
        (("snout", "snout"), ("tailbase", "tailbase")),
        (("snout_mirror", "snout"), ("tailbase_mirror", "tailbase")),
    ]
    auto = view_regions(data, [("auto", None)])
    assert [r.name for r in auto] == ["main", "mirror"] and auto[0].box[3] <= 48 + 8 and auto[1].box[1] >= 48 - 8
    samples, boxes = split_views(data, regions)
    assert samples.names == ("snout", "tailbase") and len(samples) == 4
    np.testing.assert_allclose(samples.xy[2], [[10, 37], [30, 27]])  # the mirror view, in its region's pixels
    assert boxes.tolist()[2] == [0, 48, 64, 96]
    per_view = [(samples.xy[:2], np.ones((2, 2))), (samples.xy[2:], np.ones((2, 2)))]
    merged, conf = merge_views(regions, samples.names, per_view)
    np.testing.assert_allclose(merged, xy)  # back in full-image coordinates
    assert conf.shape == (2, 4)


def _two_view_frames(folder, n: int, seed: int = 0) -> LabelledFrames:
    """A side-view "mouse" (ellipse with a bright snout and a dark tail base) in the upper half and its mirror
    image (flipped upside down) in the lower half of one 64 x 96 image."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths, kps = [], []
    for i in range(n):
        top = np.full((HALF, 64), 190, np.uint8)
        c, a = rng.uniform([22, 18], [42, 30]), np.radians(rng.uniform(-15, 15))
        d = np.array([np.cos(a), np.sin(a)])
        pts = np.round(np.array([c + 11 * d, c - 11 * d]))
        cv2.ellipse(top, (int(c[0]), int(c[1])), (12, 6), float(np.degrees(a)), 0, 360, 60, -1)
        for p, v in zip(pts, (250, 10), strict=True):
            cv2.circle(top, (int(p[0]), int(p[1])), 2, v, -1)
        image = np.vstack([top, top[::-1]])
        mirror = np.stack([pts[:, 0], 2 * HALF - 1 - pts[:, 1]], axis=-1)
        path = folder / f"img{i:03d}.png"
        cv2.imwrite(str(path), image)
        paths.append(path)
        kps.append(np.concatenate([pts, mirror]))
    return LabelledFrames(
        names=TWO_VIEW_NAMES, xy=np.array(kps, float), keys=tuple(p.name for p in paths), images=tuple(paths)
    )


def test_two_view_image_trains_and_predicts_both_views(tmp_path):
    data = _two_view_frames(tmp_path / "frames", n=6)
    settings = PoseSettings(crop_size=32, views=(f"cam:0,0,64,{HALF}", f"mirror:0,{HALF},64,{2 * HALF}"))
    sources = [Source(data)]
    config = plan_config(
        sources, tmp_path / "frames", settings, pretrained=False, width=8, locator_width=8, locator_size=64
    )
    assert config.names == ("snout", "tailbase") and config.output_names == TWO_VIEW_NAMES
    assert config.augment["view"] == "unknown" and config.augment["rotation_deg"] == 180.0
    options = TrainOptions(
        steps=200, locator_steps=80, batch_size=8, lr=3e-3, warmup=10, threads=1, device="cpu", checkpoint_every=1000
    ).with_augmentation(augmentation_for("side", has_pairs=False))
    train_pose_model(sources, tmp_path / "model", config, options)
    model = PoseModel.load(tmp_path / "model")  # the views come back with the model
    assert model.config.output_names == TWO_VIEW_NAMES
    test = _two_view_frames(tmp_path / "test", n=4, seed=5)  # frames it did not see
    xy, conf = model.predict([read_gray(p) for p in test.images])
    err = np.linalg.norm(xy - test.xy, axis=-1)
    assert err.max() < 3.0, err  # both views, in full-image coordinates
    assert (xy[:, 2:, 1] >= HALF).all() and (xy[:, :2, 1] < HALF).all() and conf.min() > 0.3


def test_plan_records_rig_keypoints_and_prints_the_choice(tmp_path):
    data = toy_frames(tmp_path / "frames", n=2)
    (tmp_path / "frames" / "manifest.json").write_text(json.dumps({"provenance": {"rig_keypoints": ["leftear"]}}))
    config = plan_config([Source(data)], tmp_path / "frames", PoseSettings(crop_size=32), pretrained=False)
    assert config.rig_keypoints == ("leftear",) and config_flip_pairs(config) == []
    settings = PoseSettings(crop_size=32, rig_keypoints=(), rotation=20.0)
    config = plan_config([Source(data)], tmp_path / "frames", settings, pretrained=False)
    assert config_flip_pairs(config) == [("leftear", "rightear")]
    assert config_augmentation(config).rotation_deg == 20.0
    lines = "\n".join(plan_lines(config))
    assert "rotation +-20 deg" in lines and "leftear<->rightear" in lines


# ------------------------------------------------------------------------------------------------ Lightning Pose
def test_lightning_pose_project_through_train_and_evaluate(tmp_path):
    project = tmp_path / "lp"
    data = toy_frames(project / "labeled-data" / "vid1", n=3)
    cols = pd.MultiIndex.from_product([["me"], list(NAMES), ["x", "y"]], names=["scorer", "bodyparts", "coords"])
    rows = [f"labeled-data/vid1/{p.name}" for p in data.images]
    pd.DataFrame(data.xy.reshape(3, -1), index=rows, columns=cols).to_csv(project / "CollectedData.csv")
    app = typer.Typer()
    pose_cli.register(app)
    runner = CliRunner()
    common = ["--device", "cpu"]
    res = runner.invoke(
        app,
        ["train", str(project), "--out", str(tmp_path / "m"), "--steps", "4", "--batch-size", "2"]
        + ["--crop-size", "32", "--rotation", "15", "--scale", "0.9,1.1", "--no-flip", *common],
    )
    assert res.exit_code == 0, res.output
    assert "augmentation: unknown view (option): rotation +-15 deg, scale 0.9-1.1, flips off" in res.output
    saved = PoseModel.load(tmp_path / "m").config
    assert saved.crop_size == 32 and saved.augment["rotation_deg"] == 15.0 and not saved.augment["flip"]
    res = runner.invoke(
        app,
        ["evaluate", str(tmp_path / "m"), "--real", str(project), "--out", str(tmp_path / "ev")]
        + ["--include-training-frames", *common],
    )
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert report["n_frames_labelled"] == 3 and report["training_frames"]["n"] == 3  # the LP frames, found again
    res = runner.invoke(app, ["predict", str(tmp_path / "m"), str(project), "--out", str(tmp_path / "pred")] + common)
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(tmp_path / "pred.csv", header=[0, 1, 2], index_col=0)) == 3  # its labelled frames


def test_cli_views_auto_trains_per_view_and_predicts_every_label_name(tmp_path):
    project = tmp_path / "lp"
    data = _two_view_frames(project / "labeled-data" / "vid1", n=3)
    cols = pd.MultiIndex.from_product(
        [["me"], list(TWO_VIEW_NAMES), ["x", "y"]], names=["scorer", "bodyparts", "coords"]
    )
    rows = [f"labeled-data/vid1/{p.name}" for p in data.images]
    pd.DataFrame(data.xy.reshape(3, -1), index=rows, columns=cols).to_csv(project / "CollectedData.csv")
    app = typer.Typer()
    pose_cli.register(app)
    runner = CliRunner()
    train = ["train", str(project), "--steps", "2", "--batch-size", "2", "--crop-size", "32", "--device", "cpu"]
    res = runner.invoke(app, [*train, "--out", str(tmp_path / "one")])
    assert res.exit_code == 0, res.output
    assert "--views auto" in res.output  # the names show two views: a hint
    res = runner.invoke(app, [*train, "--out", str(tmp_path / "m"), "--views", "auto"])
    assert res.exit_code == 0, res.output
    assert "view main:" in res.output and "view mirror:" in res.output
    assert "keypoints snout, tailbase;" in res.output  # one channel per name, shared by the two views
    res = runner.invoke(
        app, ["predict", str(tmp_path / "m"), str(project), "--out", str(tmp_path / "p"), "--device", "cpu"]
    )
    assert res.exit_code == 0, res.output
    table = pd.read_hdf(tmp_path / "p.h5")
    assert table.columns.get_level_values(1).unique().tolist() == list(TWO_VIEW_NAMES)
    mirror_y = table.xs("y", axis=1, level=2).to_numpy()[:, 2:]
    mirror_box = PoseModel.load(tmp_path / "m").config.regions[1].box
    assert mirror_box[1] > HALF // 2  # the mirror region, from the labels: in the lower half
    assert (mirror_y >= mirror_box[1] - 16).all()  # its keypoints come back in full-image coordinates
