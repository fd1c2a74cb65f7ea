"""``synthmouse motion retarget``: DeepLabCut / SLEAP / 3D CSV in, fit file out; resume; playback in a mix."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from fakes.motion import LANDMARKS
from synthmouse.body import Pose
from synthmouse.body.rotations import angles_to_matrices
from synthmouse.cli.main import app
from synthmouse.errors import KeypointError, SynthmouseError
from synthmouse.scene.camera import Camera

FPS = 30.0
PARTS = {name: f"bp_{i}" for i, name in enumerate(LANDMARKS)}  # the files' own body-part names
CAMERAS = [
    Camera.look_at(
        "side", [0.06, -0.32, 0.07], [0.03, 0.0, 0.02], width=640, height=480, dist=[-0.1, 0.02, 0.0, 0.0, 0.0]
    ),
    Camera.look_at("top", [0.03, 0.04, 0.36], [0.03, 0.0, 0.0], width=640, height=480),
    Camera.look_at("front", [0.35, 0.05, 0.08], [0.0, 0.0, 0.02], width=640, height=480),
]


@pytest.fixture(scope="module")
def truth(parametric_body):
    """8 frames of a known motion walking along +x, and its landmarks ``(F, K, 3)``."""
    from synthmouse.motion import motion_rig
    from synthmouse.motion.semirandom import SemiRandomSpec

    rig = motion_rig(parametric_body)
    clip = SemiRandomSpec(amplitude=0.3).generate(rig, 8, FPS, np.random.default_rng(0))
    root = clip.root.copy()
    root[:, 0, 3] += 0.1 * np.arange(8) / FPS
    pose = Pose(root, angles_to_matrices(clip.angles))
    points = parametric_body.keypoints(pose, rig.landmark_set(LANDMARKS))
    return pose, points


def _write_dlc(path, pixels, names, like=None):
    from synthmouse.pose.predict import predictions_table

    like = np.full(pixels.shape[:2], 0.95) if like is None else like
    df = predictions_table(pixels, like, names, "DLC_resnet50_testJan1shuffle1_1000", range(len(pixels)))
    df.to_hdf(path, key="df_with_missing", format="table", mode="w")


def _write_slp(path, pixels, names):
    sio = pytest.importorskip("sleap_io")
    skeleton = sio.Skeleton(list(names))
    video = sio.Video(filename="top.mp4")
    frames = []
    for f, pts in enumerate(pixels):
        inst = sio.PredictedInstance.from_numpy(
            pts, skeleton=skeleton, point_scores=np.full(len(names), 0.9), score=0.9
        )
        frames.append(sio.LabeledFrame(video=video, frame_idx=f, instances=[inst]))
    sio.save_slp(sio.Labels(labeled_frames=frames, videos=[video], skeletons=[skeleton]), str(path))


@pytest.fixture
def recording(tmp_path, truth):
    """Two views of the truth: DLC .h5 from the side camera, SLEAP .slp from the top; calibration; map."""
    from synthmouse.scene.calibration import save_cameras

    _, points = truth
    names = [PARTS[n] for n in LANDMARKS]
    _write_dlc(tmp_path / "side.h5", CAMERAS[0].project(points), names)
    _write_slp(tmp_path / "top.slp", CAMERAS[1].project(points), names)
    save_cameras(CAMERAS, tmp_path / "calibration.toml")
    (tmp_path / "map.yaml").write_text("keypoints:\n" + "".join(f"  {k}: {v}\n" for k, v in PARTS.items()))
    return tmp_path


def _args(folder, out, *extra):
    return [
        "motion",
        "retarget",
        str(folder / "side.h5"),
        str(folder / "top.slp"),
        "--calibration",
        str(folder / "calibration.toml"),
        "--camera",
        "side",
        "--camera",
        "top",
        "--map",
        str(folder / "map.yaml"),
        "--out",
        str(out),
        "--chunk",
        "4",
        *extra,
    ]


def _fitted_points(body, data):
    from synthmouse.motion import motion_rig

    pose = Pose(data["root"], angles_to_matrices(data["angles"]))
    return body.keypoints(pose, motion_rig(body).landmark_set(LANDMARKS))


def test_retarget_two_views_recovers_the_keypoints(recording, truth, parametric_body):
    out = recording / "fit.npz"
    result = CliRunner().invoke(app, _args(recording, out))
    assert result.exit_code == 0, result.output
    assert "8 frames" in result.output and "median" in result.output and "worst frames" in result.output
    data = np.load(out)
    assert data["angles"].shape == (8, parametric_body.skeleton.n_joints, 3) and data["root"].shape == (8, 4, 4)
    assert list(data["joints"]) == list(parametric_body.skeleton.names)
    assert list(data["keypoint_names"]) == LANDMARKS and list(data["keypoint_parts"]) == list(PARTS.values())
    assert float(data["fps"]) == 30.0 and str(data["error_unit"]) == "px" and str(data["kind"]) == "2d"
    assert list(data["cameras"]) == ["side", "top"] and len(data["sources"]) == 2
    assert list(data["frames"]) == list(range(8)) and data["error"].shape == (8,)
    parametric_body.skeleton.check_limits(data["angles"])
    _, points = truth
    fitted = _fitted_points(parametric_body, data)  # recomputed through the body from the saved angles
    for cam in CAMERAS[:2]:  # reprojection against the clean truth, through OpenCV
        import cv2

        ref, _ = cv2.projectPoints(points.reshape(-1, 3), cv2.Rodrigues(cam.R)[0], cam.t, cam.K, cam.dist)
        got, _ = cv2.projectPoints(fitted.reshape(-1, 3), cv2.Rodrigues(cam.R)[0], cam.t, cam.K, cam.dist)
        assert np.linalg.norm(got - ref, axis=-1).mean() < 0.5  # pixels
    assert np.linalg.norm(fitted - points, axis=-1).mean() < 0.001  # metres
    assert data["error"].mean() < 0.5 and data["error"].max() < 2.0  # px (a few frames stop at 15 evaluations)
    assert not (recording / "fit.npz.partial").exists()


def test_resumed_fit_equals_the_uninterrupted_one_and_the_single_call(recording, parametric_body):
    runner = CliRunner()
    stopped = recording / "resumed.npz"
    result = runner.invoke(app, _args(recording, stopped, "--stop-after", "1"))
    assert result.exit_code == 0, result.output
    assert not stopped.exists() and sorted(p.name for p in (recording / "resumed.npz.partial").iterdir()) == [
        "chunk_000000.npz",
        "meta.json",
    ]
    result = runner.invoke(app, _args(recording, stopped))
    assert result.exit_code == 0, result.output
    whole = recording / "whole.npz"
    assert runner.invoke(app, _args(recording, whole)).exit_code == 0
    a, b = np.load(stopped), np.load(whole)
    for key in ("angles", "root", "error", "keypoints"):
        assert np.array_equal(a[key], b[key]), key
    # chunks chained by warm starts solve the same problems as one call of the library over all frames
    from synthmouse.motion.keypoint_io import read_predictions
    from synthmouse.motion.retarget import PoseFitter

    fitter = PoseFitter(parametric_body, LANDMARKS)
    views = [read_predictions(recording / f).select(LANDMARKS, PARTS) for f in ("side.h5", "top.slp")]
    one = fitter.fit2d(CAMERAS[:2], np.stack([v.xy for v in views]), np.stack([v.confidence for v in views]))
    assert np.abs(one.pose.angles - a["angles"]).max() < 1e-6
    assert np.abs(one.pose.root - a["root"]).max() < 1e-8


def test_changed_inputs_restart_the_partial_fit(recording, truth):
    runner = CliRunner()
    out = recording / "fit.npz"
    assert runner.invoke(app, _args(recording, out, "--stop-after", "1")).exit_code == 0
    chunk = recording / "fit.npz.partial" / "chunk_000000.npz"
    before = np.load(chunk)["angles"].copy()
    _, points = truth  # new side-camera predictions (shifted 3 px): the saved chunk no longer applies
    _write_dlc(recording / "side.h5", CAMERAS[0].project(points) + 3.0, [PARTS[n] for n in LANDMARKS])
    assert runner.invoke(app, _args(recording, out, "--stop-after", "1")).exit_code == 0
    after = np.load(chunk)["angles"]
    assert after.shape == before.shape and not np.allclose(after, before)


def test_retarget_3d_csv_frame_range_and_default_map(tmp_path, truth, parametric_body):
    _, points = truth
    wide = tmp_path / "keypoints3d.csv"
    header = "frame," + ",".join(f"{n}_{a}" for n in LANDMARKS for a in "xyz")
    rows = [f"{f}," + ",".join(f"{v:.9f}" for v in points[f].ravel()) for f in range(8)]
    wide.write_text(header + "\n" + "\n".join(rows) + "\n")
    out = tmp_path / "fit3d.npz"
    result = CliRunner().invoke(
        app, ["motion", "retarget", str(wide), "--out", str(out), "--frames", "2:7", "--chunk", "3", "--fps", "60"]
    )
    assert result.exit_code == 0, result.output
    assert "mm" in result.output and "5 frames" in result.output
    data = np.load(out)
    assert list(data["frames"]) == [2, 3, 4, 5, 6] and float(data["fps"]) == 60.0 and str(data["error_unit"]) == "m"
    fitted = _fitted_points(parametric_body, data)
    assert np.linalg.norm(fitted - points[2:7], axis=-1).mean() < 0.0005  # metres
    # the long layout gives the same observations
    from synthmouse.motion.keypoint_io import read_keypoints3d

    long = tmp_path / "long.csv"
    long.write_text(
        "frame,keypoint,x,y,z\n"
        + "".join(
            f"{f},{n},{points[f, k, 0]:.9f},{points[f, k, 1]:.9f},{points[f, k, 2]:.9f}\n"
            for f in range(8)
            for k, n in enumerate(LANDMARKS)
        )
    )
    a, b = read_keypoints3d(wide), read_keypoints3d(long)
    assert a.names == b.names == tuple(LANDMARKS) and np.allclose(a.xyz, points, atol=1e-8)
    assert np.array_equal(a.xyz, b.xyz) and np.array_equal(a.confidence, b.confidence)


def test_one_top_view_is_placed_on_the_floor(tmp_path, truth, parametric_body):
    from synthmouse.scene.calibration import save_cameras

    _, points = truth
    _write_dlc(tmp_path / "top.h5", CAMERAS[1].project(points[:4]), LANDMARKS)
    save_cameras(CAMERAS, tmp_path / "cal.toml")
    out = tmp_path / "one.npz"
    result = CliRunner().invoke(
        app,
        [
            "motion",
            "retarget",
            str(tmp_path / "top.h5"),
            "--calibration",
            str(tmp_path / "cal.toml"),
            "--camera",
            "top",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    data = np.load(out)
    fitted = _fitted_points(parametric_body, data)
    reproj = np.linalg.norm(CAMERAS[1].project(fitted) - CAMERAS[1].project(points[:4]), axis=-1)
    assert reproj.mean() < 1.0  # pixels: the view is matched (depth is what one view cannot pin down)
    assert np.linalg.norm(fitted - points[:4], axis=-1).mean() < 0.01  # the floor keeps it near the truth


def test_default_map_finds_a_builtin_keypoint_set(parametric_body):
    from synthmouse.motion.retarget_run import resolve_keypoint_map

    kmap = resolve_keypoint_map(parametric_body, ["snout", "leftear", "rightear", "tailbase", "other"])
    assert kmap.kset.names == ("snout", "leftear", "rightear", "tailbase") and "dlc-topview" in kmap.origin
    full = parametric_body.keypoint_set("dlc-topview")
    assert kmap.kset.keypoints == full.keypoints
    with pytest.raises(KeypointError) as info:
        resolve_keypoint_map(parametric_body, ["a", "b", "c"], files="pred.h5")
    assert "pred.h5" in str(info.value) and "nose" in str(info.value) and "dlc-topview" in str(info.value)


def test_errors_name_the_map_camera_and_file(recording, tmp_path):
    runner = CliRunner()
    bad = recording / "bad_map.yaml"
    bad.write_text("keypoints:\n  snoot: bp_0\n  neck: bp_3\n  tail_root: bp_5\n")
    result = runner.invoke(app, [*_args(recording, tmp_path / "x.npz")[:-2], "--map", str(bad)])
    assert isinstance(result.exception, KeypointError)
    text = str(result.exception)
    assert "bad_map.yaml" in text and "keypoints.snoot" in text and "'snoot'" in text and "left_ear_tip" in text
    bad.write_text("keypoints:\n  nose: snout\n  neck: bp_3\n  tail_root: bp_5\n")
    result = runner.invoke(app, [*_args(recording, tmp_path / "x.npz")[:-2], "--map", str(bad)])
    assert "body part 'snout'" in str(result.exception) and "bp_0" in str(result.exception)
    args = _args(recording, tmp_path / "x.npz")
    args[args.index("top")] = "ceiling"
    result = runner.invoke(app, args)
    assert isinstance(result.exception, KeypointError)
    assert "'ceiling'" in str(result.exception) and "side, top, front" in str(result.exception)
    result = runner.invoke(app, ["motion", "retarget", str(recording / "side.h5"), "--out", str(tmp_path / "y.npz")])
    assert isinstance(result.exception, SynthmouseError) and "--calibration" in str(result.exception)
    result = runner.invoke(app, [*_args(recording, tmp_path / "x.npz"), "--frames", "5:99"])
    assert "--frames" in str(result.exception) and "8" in str(result.exception)


def test_fit_file_plays_back_in_a_mix_clip(recording, parametric_body, tmp_path):
    """The CLI's fit file round-trips into a ``clip`` generator: played angles are the fitted ones."""
    from synthmouse.motion import motion_rig
    from synthmouse.motion.mix import MotionMix

    out = recording / "fit.npz"
    assert CliRunner().invoke(app, _args(recording, out)).exit_code == 0
    data = np.load(out)
    mix = recording / "mix.yaml"
    mix.write_text(
        "blend_seconds: 0.05\nblock_seconds: 2\narena: {x: [-0.3, 0.3], y: [-0.3, 0.3]}\n"
        "generators:\n  - {type: clip, path: fit.npz, duration: [0.2, 0.2]}\n"
    )
    m = MotionMix.from_yaml(mix, parametric_body)
    pose, ids, names = m.sample(12, FPS, seed=0)
    assert set(names) == {"clip"}
    rig = motion_rig(parametric_body)
    first = np.flatnonzero(ids == ids[0])[m.blend_frames(FPS) :]  # the first bout after its (empty) blend
    played = pose.angles[first]
    matches = [
        s
        for s in range(8 - len(first) + 1)
        if np.allclose(rig.clamp(data["angles"][s : s + len(first)]), played, atol=1e-9)
    ]
    assert matches
    # a fit file made for another skeleton is refused, naming the file and the first differing joint
    arrays = {k: data[k] for k in data.files}
    arrays["joints"] = np.array([*arrays["joints"][:-1], "extra_joint"])
    np.savez(recording / "fit.npz", **arrays)
    with pytest.raises(SynthmouseError) as info:
        MotionMix.from_yaml(mix, parametric_body)
    assert str(recording / "fit.npz") in str(info.value) and "'extra_joint'" in str(info.value)
