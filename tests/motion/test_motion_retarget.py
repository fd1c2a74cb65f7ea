"""Retargeting: OpenCV projection, triangulation, IK from 3D and multi-view 2D keypoints, DLC/SLEAP readers."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from synthmouse.motion import motion_rig
from synthmouse.motion.keypoint_io import read_predictions
from synthmouse.motion.projection import project, triangulate
from synthmouse.motion.retarget import PoseFitter
from synthmouse.motion.semirandom import SemiRandomSpec
from synthmouse.scene.camera import Camera

CAMERAS = [
    Camera.look_at(
        "side", [0.05, -0.30, 0.06], [0.0, 0.0, 0.02], width=640, height=480, dist=[-0.12, 0.03, 0.001, -0.001, 0.0]
    ),
    Camera.look_at("top", [0.02, 0.05, 0.35], [0.0, 0.0, 0.0], width=640, height=480, dist=[0.05, 0, 0, 0, 0]),
]


def test_projection_matches_opencv_and_its_jacobian():
    rng = np.random.default_rng(0)
    pts = rng.uniform([-0.05, -0.05, 0.0], [0.05, 0.05, 0.05], size=(20, 3))
    cam = CAMERAS[0]
    ref, _ = cv2.projectPoints(pts, cv2.Rodrigues(cam.R)[0], cam.t, cam.K, cam.dist)
    pix, jac = project(cam, pts, jacobian=True)
    assert np.abs(pix - ref[:, 0]).max() < 1e-9
    h = 1e-7
    for k in range(3):
        step = np.zeros(3)
        step[k] = h
        numeric = (project(cam, pts + step) - project(cam, pts - step)) / (2 * h)
        assert np.allclose(jac[:, :, k], numeric, rtol=1e-5, atol=1e-3)


def test_triangulation_recovers_points():
    pts = np.array([[0.01, 0.0, 0.02], [-0.03, 0.02, 0.01], [0.0, -0.01, 0.04]])
    pix = np.stack([c.project(pts) for c in CAMERAS])
    assert np.abs(triangulate(CAMERAS, pix) - pts).max() < 1e-6
    pix[1, 0] = np.nan  # one view missing: that point cannot be triangulated
    out = triangulate(CAMERAS, pix)
    assert np.isnan(out[0]).all() and np.abs(out[1:] - pts[1:]).max() < 1e-6


@pytest.fixture(scope="module")
def generated(sam_body):
    rig = motion_rig(sam_body)
    clip = SemiRandomSpec(amplitude=0.3).generate(rig, 30, 30.0, np.random.default_rng(0))
    return clip.pose()[::10]  # 3 frames, 1/3 s apart


def test_ik_recovers_poses_from_their_own_3d_keypoints(sam_body, generated):
    fitter = PoseFitter(sam_body)
    targets = sam_body.keypoints(generated, fitter.kset)
    result = fitter.fit3d(targets)
    sam_body.skeleton.check_limits(result.pose.angles)
    fitted = sam_body.keypoints(result.pose, fitter.kset)  # recomputed through the body, not the fitter
    assert np.linalg.norm(fitted - targets, axis=-1).mean() < 0.001
    assert result.error < 0.001


def test_ik_from_2d_keypoints_in_two_calibrated_views(sam_body, generated):
    fitter = PoseFitter(sam_body)
    truth = sam_body.keypoints(generated, fitter.kset)
    pixels = np.stack([c.project(truth) for c in CAMERAS])  # (C, F, K, 2)
    confidence = np.ones(pixels.shape[:3])
    # a few bad detections with low confidence: dropped or down-weighted
    rng = np.random.default_rng(1)
    bad = rng.random(confidence.shape) < 0.08
    pixels[bad] += rng.normal(0, 40.0, size=(bad.sum(), 2))
    confidence[bad] = rng.choice([0.05, 0.2], size=bad.sum())
    result = fitter.fit2d(CAMERAS, pixels, confidence)
    sam_body.skeleton.check_limits(result.pose.angles)
    fitted = sam_body.keypoints(result.pose, fitter.kset)
    reproj = np.stack([np.linalg.norm(c.project(fitted) - c.project(truth), axis=-1) for c in CAMERAS])
    assert reproj.mean() < 2.0  # pixels, against the clean detections
    assert np.linalg.norm(fitted - truth, axis=-1).mean() < 0.002


def _dlc_frame(names, xy, like, scorer="DLC_resnet50", individuals=None):
    cols, data = [], []
    animals = individuals or [None]
    for a, animal in enumerate(animals):
        for k, name in enumerate(names):
            for coord, values in (("x", xy[a][:, k, 0]), ("y", xy[a][:, k, 1]), ("likelihood", like[a][:, k])):
                cols.append((scorer, animal, name, coord) if individuals else (scorer, name, coord))
                data.append(values)
    level_names = ["scorer", "individuals", "bodyparts", "coords"] if individuals else ["scorer", "bodyparts", "coords"]
    return pd.DataFrame(np.array(data).T, columns=pd.MultiIndex.from_tuples(cols, names=level_names))


def test_read_deeplabcut_h5_and_csv(tmp_path):
    rng = np.random.default_rng(2)
    names = ["nose", "left_ear_tip", "tail_root"]
    xy = rng.uniform(0, 500, size=(6, 3, 2))
    xy[2, 1] = np.nan
    like = rng.uniform(0, 1, size=(6, 3))
    df = _dlc_frame(names, [xy], [like])
    df.to_hdf(tmp_path / "pred.h5", key="df_with_missing")
    df.to_csv(tmp_path / "pred.csv")
    for path in (tmp_path / "pred.h5", tmp_path / "pred.csv"):
        kp = read_predictions(path)
        assert kp.names == tuple(names)
        assert np.allclose(kp.xy, xy, equal_nan=True)
        assert kp.confidence[2, 1] == 0.0  # missing point: no confidence
        ok = np.isfinite(xy).all(-1)
        assert np.allclose(kp.confidence[ok], like[ok])
    sel = read_predictions(tmp_path / "pred.h5").select(["tail_root", "snout", "nose"], {"snout": "nope"})
    assert np.allclose(sel.xy[:, 0], xy[:, 2]) and np.isnan(sel.xy[:, 1]).all() and np.allclose(sel.xy[:, 2], xy[:, 0])


def test_read_deeplabcut_multi_animal(tmp_path):
    rng = np.random.default_rng(3)
    names = ["nose", "tail_root"]
    xy = [rng.uniform(0, 100, size=(4, 2, 2)) for _ in range(2)]
    like = [np.full((4, 2), 0.9), np.full((4, 2), 0.5)]
    _dlc_frame(names, xy, like, individuals=["mouse1", "mouse2"]).to_hdf(tmp_path / "ma.h5", key="df")
    kp = read_predictions(tmp_path / "ma.h5", individual="mouse2")
    assert np.allclose(kp.xy, xy[1]) and np.allclose(kp.confidence, 0.5)


def test_read_sleap_slp(tmp_path):
    sio = pytest.importorskip("sleap_io")
    skeleton = sio.Skeleton(["nose", "left_ear_tip", "tail_root"])
    video = sio.Video(filename="fake.mp4")
    rng = np.random.default_rng(4)
    frames, truth, scores = [], np.full((5, 3, 2), np.nan), np.zeros((5, 3))
    for f in (0, 2, 4):
        pts = rng.uniform(0, 300, size=(3, 2))
        sc = rng.uniform(0.2, 1.0, size=3)
        inst = sio.PredictedInstance.from_numpy(pts, skeleton=skeleton, point_scores=sc, score=0.9)
        frames.append(sio.LabeledFrame(video=video, frame_idx=f, instances=[inst]))
        truth[f], scores[f] = pts, sc
    labels = sio.Labels(labeled_frames=frames, videos=[video], skeletons=[skeleton])
    sio.save_slp(labels, str(tmp_path / "pred.slp"))
    kp = read_predictions(tmp_path / "pred.slp")
    assert kp.names == ("nose", "left_ear_tip", "tail_root")
    assert np.allclose(kp.xy, truth, equal_nan=True)
    assert np.allclose(kp.confidence, scores)
