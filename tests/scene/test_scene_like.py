"""``synthmouse scene new --like PROJECT``: the project reader, name matching, camera sizes, the rig guess and
the starter scene, on tiny projects made here and on the real projects in ``../shared`` when present."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from conftest import SHARED
from synthmouse.cli.main import app
from synthmouse.dataset.like import (
    LANDMARKS,
    builtin_set_for,
    guess_rig,
    match_landmarks,
    nose_side,
    read_project,
    scene_like,
    split_side,
)
from synthmouse.errors import OutputError, SynthmouseError

TOP_NAMES = ["snout", "leftear", "rightear", "tailbase"]
REACH_NAMES = ["Hand", "Finger1", "Tongue", "Joystick1", "Joystick2"]


def write_dlc(root, names, sessions, xy=None, skeleton=(), scorer="me", colour=False, config=True):
    """A DeepLabCut project: ``sessions`` {folder: [(width, height), ...] one per labelled image}; ``xy(session,
    i, (w, h)) -> (K, 2)`` the labels of image i (NaN: unlabelled; default a mouse drifting across the image)."""
    root.mkdir(parents=True, exist_ok=True)
    if config:
        (root / "config.yaml").write_text(
            yaml.safe_dump(
                {"Task": "tiny", "scorer": scorer, "bodyparts": list(names), "skeleton": [list(e) for e in skeleton]}
            )
        )
    rng = np.random.default_rng(0)
    for session, sizes in sessions.items():
        folder = root / "labeled-data" / session
        folder.mkdir(parents=True)
        rows = []
        for i, (w, h) in enumerate(sizes):
            name = f"img{i:03d}.png"
            pixels = rng.integers(0, 255, (h, w, 3) if colour else (h, w), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / name)
            points = xy(session, i, (w, h)) if xy else roaming(i, len(sizes), len(names), (w, h))
            values = ",".join("" if not np.isfinite(v) else f"{v:.2f}" for v in np.asarray(points).ravel())
            rows.append(f"labeled-data/{session}/{name},{values}")
        header = [
            f"scorer,{','.join([scorer] * 2 * len(names))}",
            "bodyparts," + ",".join(n for n in names for _ in "xy"),
            "coords," + ",".join("xy" * len(names)),
        ]
        (folder / f"CollectedData_{scorer}.csv").write_text("\n".join(header + rows) + "\n")
    return root


def roaming(i, n, k, size):
    """A mouse whose points move over most of the image (a free mouse seen from above)."""
    w, h = size
    centre = np.array([0.1 * w + 0.8 * w * i / max(n - 1, 1), 0.2 * h + 0.6 * h * ((i * 7) % n) / max(n, 1)])
    return centre + np.stack([np.linspace(-0.05 * w, 0.05 * w, k), np.zeros(k)], axis=1)


def still(i, n, k, size):
    """Points that hardly move (a head-fixed mouse): nose on the right of the tail."""
    w, h = size
    return (
        np.array([0.5 * w, 0.5 * h])
        + np.stack([np.linspace(0.1 * w, -0.1 * w, k), np.zeros(k)], axis=1)
        + 0.002 * w * (i % 3)
    )


# --- the project reader -------------------------------------------------------------------------------------
def test_a_deeplabcut_project_gives_names_edges_rows_and_one_view_per_camera(tmp_path):
    root = write_dlc(tmp_path / "p", TOP_NAMES, {"m1": [(64, 48)] * 6}, skeleton=[("snout", "leftear")])
    project = read_project(root)
    assert project.kind == "DeepLabCut project" and project.task == "tiny"
    assert project.names == tuple(TOP_NAMES) and project.edges == (("snout", "leftear"),)
    assert project.keypoints.shape == (6, 4, 2) and project.sizes.tolist() == [[64, 48]] * 6
    (view,) = project.views
    assert (view.width, view.height, view.sessions, view.grayscale) == (64, 48, ("m1",), True)
    # config.yaml itself, and a label file, are read as well
    assert read_project(root / "config.yaml").names == tuple(TOP_NAMES)
    assert read_project(root / "labeled-data" / "m1" / "CollectedData_me.csv").keypoints.shape == (6, 4, 2)


def test_sessions_of_one_camera_are_one_view_and_camera_tokens_split_views(tmp_path):
    same = write_dlc(tmp_path / "a", TOP_NAMES, {"mouse1_day1": [(64, 48)] * 3, "mouse2_day2": [(64, 48)] * 3})
    assert len(read_project(same).views) == 1
    sizes = write_dlc(tmp_path / "b", TOP_NAMES, {"s1": [(64, 48)] * 3, "s2": [(80, 60)] * 3})
    assert sorted((v.width, v.height) for v in read_project(sizes).views) == [(64, 48), (80, 60)]
    tokens = write_dlc(
        tmp_path / "c",
        TOP_NAMES,
        {"run1_cam1": [(64, 48)] * 3, "run1_cam2": [(64, 48)] * 3, "run2_cam1": [(64, 48)] * 3},
    )
    views = read_project(tokens).views
    assert [(v.token, v.sessions) for v in views] == [("cam1", ("run1_cam1", "run2_cam1")), ("cam2", ("run1_cam2",))]


def test_the_camera_size_is_the_most_common_image_size_and_the_others_are_counted(tmp_path):
    root = write_dlc(tmp_path / "p", TOP_NAMES, {"s": [(64, 48)] * 4 + [(50, 40)] * 2}, colour=True)
    (view,) = read_project(root).views
    assert (view.width, view.height, view.other_sizes, view.grayscale) == (64, 48, {(50, 40): 2}, False)


def test_a_project_without_labels_or_images_is_an_error_that_says_why(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SynthmouseError, match="no DeepLabCut project"):
        read_project(tmp_path / "empty")
    with pytest.raises(SynthmouseError, match="no such file or folder"):
        read_project(tmp_path / "missing")
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "config.yaml").write_text("bodyparts: [nose]\n")
    with pytest.raises(SynthmouseError, match="cannot tell the camera's image size"):
        read_project(bare)
    (bare / "config.yaml").write_text("bodyparts: [nose]\nvideo_sets:\n  /x/v1.mp4: {crop: '0, 320, 0, 240'}\n")
    assert [(v.width, v.height) for v in read_project(bare).views] == [(320, 240)]


def test_a_lightning_pose_csv_and_a_sleap_file_are_read(tmp_path):
    dlc = write_dlc(tmp_path / "lp", TOP_NAMES, {"sessA": [(64, 48)] * 3}, config=False)
    (dlc / "labeled-data" / "sessA" / "CollectedData_me.csv").rename(dlc / "CollectedData.csv")
    project = read_project(dlc)
    assert project.kind == "Lightning Pose labels" and project.views[0].sessions == ("sessA",)
    assert project.keypoints.shape == (3, 4, 2)

    sio = pytest.importorskip("sleap_io")
    frames = [tmp_path / f"f{i}.png" for i in range(2)]
    for f in frames:
        Image.fromarray(np.zeros((40, 56), np.uint8)).save(f)
    skeleton = sio.Skeleton(nodes=["nose", "tail_base"], edges=[("nose", "tail_base")])
    video = sio.Video.from_filename([str(f) for f in frames])
    lfs = [
        sio.LabeledFrame(
            video=video,
            frame_idx=i,
            instances=[sio.Instance.from_numpy(np.array([[10.0 + i, 20.0], [30.0, 20.0]]), skeleton)],
        )
        for i in range(2)
    ]
    sio.save_slp(sio.Labels(lfs), str(tmp_path / "labels.slp"))
    project = read_project(tmp_path / "labels.slp")
    assert project.kind == "SLEAP labels" and project.names == ("nose", "tail_base")
    assert project.edges == (("nose", "tail_base"),) and project.keypoints.shape == (2, 2, 2)
    assert [(v.width, v.height) for v in project.views] == [(56, 40)]


# --- names -> landmarks -------------------------------------------------------------------------------------
def test_the_landmark_vocabulary_is_defined_by_the_body(parametric_body):
    assert set(LANDMARKS) <= set(parametric_body.landmarks)


@pytest.mark.parametrize(
    "name, side, part",
    [
        ("leftForepaw", "left", "forepaw"),
        ("paw_R", "right", "paw"),
        ("Hand", None, "hand"),
        ("lick", None, "lick"),
        ("L_elbow", "left", "elbow"),
        ("right ear", "right", "ear"),
    ],
)
def test_split_side(name, side, part):
    assert split_side(name) == (side, part)


def test_names_match_landmarks_through_the_shared_table_then_the_side_view_parts():
    names = ["Snout", "left ear", "R_ear", "tail_base", "Hand", "finger2", "Tongue", "L_knee", "Joystick1", "blob"]
    side = match_landmarks(names, "side", camera_side="right")
    assert side.landmarks == {
        "Snout": "nose",
        "left ear": "left_ear_base",
        "R_ear": "right_ear_base",
        "tail_base": "tail_root",
        "Hand": "right_paw",
        "finger2": "right_forepaw_digit2_tip",
        "Tongue": "tongue_tip",
        "L_knee": "left_knee_joint",
    }
    assert "the right one, which the camera sees" in side.notes["Hand"]
    assert set(side.unmatched) == {"Joystick1", "blob"} and "rig object" in side.unmatched["Joystick1"]
    top = match_landmarks(["snout", "leftear", "tailbase", "paw", "hand"], "top")
    assert top.landmarks == {
        "snout": "nose",
        "leftear": "dorsal_left_ear_base",
        "tailbase": "dorsal_tail_root",
        "paw": "left_paw",
    }
    assert "left_paw" in top.unmatched["hand"]  # one landmark stands for one name


def test_a_built_in_set_is_used_when_every_name_is_one_of_its_names():
    assert builtin_set_for(TOP_NAMES) == "dlc-topview"
    assert builtin_set_for(list(reversed(TOP_NAMES))) == "dlc-topview"
    assert builtin_set_for(TOP_NAMES[:3]) is None and builtin_set_for(REACH_NAMES) is None


# --- the rig guess ------------------------------------------------------------------------------------------
def test_the_rig_guess_reads_the_names_and_how_far_the_head_moves(tmp_path):
    free_top = write_dlc(tmp_path / "a", TOP_NAMES, {"s": [(64, 48)] * 10})
    guess = guess_rig(read_project(free_top))
    assert (guess.rig, guess.view) == ("openfield", "top") and guess.head_travel > 0.2
    assert any("both ears" in r for r in guess.reasons)

    names = ["nose", "eye", "hand", "tailbase"]
    fixed = write_dlc(tmp_path / "b", names, {"s": [(64, 48)] * 10}, xy=lambda s, i, size: still(i, 10, 4, size))
    guess = guess_rig(read_project(fixed))
    assert guess.rig == "wheel" and guess.head_travel < 0.12 and any("head-fixed" in r for r in guess.reasons)

    free_side = write_dlc(tmp_path / "c", ["nose", "hand", "foot", "tailbase"], {"s": [(64, 48)] * 10})
    assert guess_rig(read_project(free_side)).rig == "treadmill"

    reach = write_dlc(tmp_path / "d", REACH_NAMES, {"s": [(64, 48)] * 4})
    guess = guess_rig(read_project(reach))
    assert guess.rig == "wheel" and guess.head_travel is None and any("rig object" in r for r in guess.reasons)

    nothing = write_dlc(tmp_path / "e", ["a", "b"], {"s": [(64, 48)] * 4})
    assert guess_rig(read_project(nothing)).rig == "openfield"


# --- the starter scene --------------------------------------------------------------------------------------
def test_a_project_with_built_in_names_gets_that_set_and_its_cameras(tmp_path):
    from synthmouse.scene.spec import parse_scene_spec

    root = write_dlc(tmp_path / "p", TOP_NAMES, {"cam1_a": [(96, 64)] * 6, "cam2_a": [(80, 60)] * 6})
    result = scene_like(root, tmp_path / "s.yaml", match_scale=False)
    assert result.keypoint_file is None and result.keypoints == "dlc-topview" and result.rig == "openfield"
    spec = parse_scene_spec(result.scene_text, source=tmp_path / "s.yaml")
    assert [(c.name, c.width, c.height, c.grayscale) for c in spec.cameras] == [
        ("cam1", 96, 64, True),
        ("cam2", 80, 60, True),
    ]
    assert spec.body.keypoints == "dlc-topview"
    text = result.scene_text
    assert "# Made by `synthmouse scene new --like" in text and "guessed from the view" in text
    assert "# Units: metres and degrees" in text  # the template's comments are kept


def test_other_names_get_a_keypoint_file_with_the_project_names_and_the_rest_listed(tmp_path, parametric_body):
    from synthmouse.body.keypoint_sets import load_user_keypoints

    root = write_dlc(
        tmp_path / "p", REACH_NAMES, {"v": [(120, 100)] * 4}, skeleton=[("Hand", "Finger1"), ("Joystick1", "Joystick2")]
    )
    result = scene_like(root, tmp_path / "rig.yaml", match_scale=False)
    assert result.rig == "wheel" and result.keypoint_file == "rig_keypoints.yaml"
    (tmp_path / "rig_keypoints.yaml").write_text(result.keypoint_text)
    kset = load_user_keypoints(tmp_path / "rig_keypoints.yaml", parametric_body)
    assert kset.names == ("Hand", "Finger1", "Tongue") and kset.edges == (("Hand", "Finger1"),)
    assert "#   Joystick1: a point on a rig object" in result.keypoint_text
    assert any(line.startswith("not on the mouse: Joystick1, Joystick2") for line in result.lines)
    spec = yaml.safe_load(result.scene_text)
    assert spec["body"]["keypoints"] == "rig_keypoints.yaml" and spec["rig"]["type"] == "wheel"
    assert [c["name"] for c in spec["cameras"]] == ["side"] and spec["cameras"][0]["width"] == 120


def test_rig_override_and_a_side_camera_turned_to_the_side_the_project_sees(tmp_path):
    names = ["nose", "Hand", "tailbase"]
    root = write_dlc(tmp_path / "p", names, {"v": [(100, 80)] * 6}, xy=lambda s, i, size: still(i, 6, 3, size))
    project = read_project(root)
    assert nose_side(project) == "right"
    result = scene_like(root, tmp_path / "s.yaml", rig="wheel", match_scale=False)
    spec = yaml.safe_load(result.scene_text)
    assert spec["cameras"][0]["look_at"]["eye"][1] < 0  # the template's side camera, moved to the right side
    assert "# the animal's right side" in result.scene_text
    assert "Hand: right_paw" in result.keypoint_text
    result = scene_like(root, tmp_path / "s.yaml", rig="treadmill", match_scale=False)
    assert yaml.safe_load(result.scene_text)["rig"]["type"] == "treadmill" and "chosen with --rig" in result.scene_text
    with pytest.raises(SynthmouseError, match="--rig 'maze'"):
        scene_like(root, tmp_path / "s.yaml", rig="maze")


def test_the_cli_writes_the_scene_and_its_keypoint_file_and_refuses_to_overwrite(tmp_path):
    root = write_dlc(tmp_path / "p", REACH_NAMES, {"v": [(120, 100)] * 4})
    out = tmp_path / "out" / "rig.yaml"
    out.parent.mkdir()
    result = CliRunner().invoke(app, ["scene", "new", "--like", str(root), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file() and (out.parent / "rig_keypoints.yaml").is_file()
    assert "not on the mouse: Joystick1, Joystick2" in result.output and "next: synthmouse scene check" in result.output
    check = CliRunner().invoke(app, ["scene", "check", str(out), "--no-build"])
    assert check.exit_code == 0, check.output
    again = CliRunner().invoke(app, ["scene", "new", "--like", str(root), "--out", str(out)])
    assert again.exit_code != 0 and isinstance(again.exception, OutputError) and "--force" in str(again.exception)
    printed = CliRunner().invoke(app, ["scene", "new", "--like", str(root)])
    assert isinstance(printed.exception, OutputError) and "pass --out" in str(printed.exception)
    top = write_dlc(tmp_path / "top", TOP_NAMES, {"v": [(64, 48)] * 6})
    printed = CliRunner().invoke(app, ["scene", "new", "--like", str(top), "--rig", "openfield"])
    assert printed.exit_code == 0 and "keypoints: dlc-topview" in printed.output


# --- the real projects --------------------------------------------------------------------------------------
def real(name):
    path = SHARED / "real" / name
    if not (path / "labeled-data").is_dir():
        pytest.skip(f"real project not found at {path} (needs ../shared/real/{name})")
    return path


def test_the_real_open_field_is_a_top_view_with_the_built_in_set_and_its_mouse_size(tmp_path):
    result = scene_like(real("openfield"), tmp_path / "s.yaml")
    assert (result.rig, result.keypoints, result.keypoint_file) == ("openfield", "dlc-topview", None)
    spec = yaml.safe_load(result.scene_text)
    (cam,) = spec["cameras"]
    assert (cam["name"], cam["width"], cam["height"], cam["grayscale"]) == ("top", 640, 480, True)
    assert 650 < cam["fx"] < 900  # the real mouse is larger in the image than the template's
    assert 0.4 < spec["rig"]["size"][0] < 0.6 and spec["rig"]["size"][0] > spec["rig"]["size"][1]


def test_the_real_reaching_project_is_a_head_fixed_side_view_without_the_joystick(tmp_path):
    result = scene_like(real("reaching"), tmp_path / "s.yaml", match_scale=False)
    assert result.rig == "wheel" and result.guess.view == "side"
    assert list(result.match.landmarks) == ["Hand", "Finger1", "Tongue"]
    assert result.match.landmarks["Tongue"] == "tongue_tip" and set(result.match.unmatched) == {
        "Joystick1",
        "Joystick2",
    }
    (view,) = result.project.views
    assert (view.width, view.height, view.other_sizes) == (832, 747, {(640, 470): 15})
