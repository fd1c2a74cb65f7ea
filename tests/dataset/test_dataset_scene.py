"""The real pipeline (scene, GL renderer, randomization) into the dataset: labels checked against an
independent re-projection of the 3D ground truth through the exported Anipose calibration with OpenCV."""

from __future__ import annotations

import hashlib
import tomllib

import cv2
import numpy as np
import pandas as pd
import pytest

from fakes.dataset import dlc_h5, tree_digest
from fakes.dataset import image_path as fake_image_path
from fakes.scene import SCENE, StillPoses
from synthmouse.dataset.generation import GenerateOptions, generate
from synthmouse.dataset.scene_source import SceneFrameSource, scene_hash

pytestmark = pytest.mark.gl


@pytest.fixture(scope="module")
def scene():
    from synthmouse.scene.build import build_scene
    from synthmouse.scene.spec import parse_scene_spec

    return build_scene(parse_scene_spec(SCENE))


def _source(scene, renderer, seed=4):
    return SceneFrameSource(scene=scene, seed=seed, motion=StillPoses(scene, seed), renderer=renderer, name="wheel")


def test_scene_dataset_labels_reproject_from_3d_ground_truth_and_calibration(tmp_path, scene, renderer):
    root = tmp_path / "ds"
    options = GenerateOptions(n_frames=6, formats=("dlc", "coco"))
    report = generate(_source(scene, renderer), root, options)
    assert report.complete
    calib = tomllib.loads((root / "calibration.toml").read_text())
    cams = {t["name"]: t for k, t in calib.items() if k.startswith("cam_")}
    assert sorted(cams) == ["front", "side"]
    kp3d = pd.read_csv(root / "keypoints3d.csv", index_col="frame")
    names = list(scene.keypoint_names)
    frames = pd.read_csv(root / "frames.csv", index_col="frame")
    assert {"light.intensity_scale", "camera.dx_m", "yaw"} <= set(frames.columns)
    assert frames["motion"].eq("still_test_double").all() and frames["segment"].tolist() == [0, 0, 0, 1, 1, 1]
    assert (frames["camera.dx_m"].abs() > 1e-5).all()  # the jitter is real, so the check below needs it
    for cam_name, cam in cams.items():
        assert cam["size"] == ([96, 72] if cam_name == "side" else [80, 64])
        labels = pd.read_hdf(dlc_h5(root, cam_name), "df_with_missing")
        assert labels.columns.get_level_values("bodyparts").unique().tolist() == names
        for i in range(6):
            pts = kp3d.loc[i].to_numpy().reshape(-1, 3)
            # the frame's jittered camera: nominal pose moved by the recorded offsets (see jitter_camera)
            rvec = np.asarray(cam["rotation"], float)
            R = cv2.Rodrigues(rvec)[0]
            centre = -R.T @ np.asarray(cam["translation"], float)
            centre += [frames.loc[i, f"camera.d{a}_m"] for a in "xyz"]
            t = -R @ centre
            K, dist = np.asarray(cam["matrix"]), np.asarray(cam["distortions"])
            ref, _ = cv2.projectPoints(pts, rvec, t, K, dist)
            got = labels.iloc[i].to_numpy().reshape(-1, 2)
            shown = np.isfinite(got[:, 0])
            assert shown.sum() >= 3
            np.testing.assert_allclose(got[shown], ref[:, 0][shown], atol=1e-6)
        image = cv2.imread(str(fake_image_path(root, cam_name, 0)))
        assert image.shape[:2] == ((72, 96) if cam_name == "side" else (64, 80))


def test_scene_dataset_is_reproducible_and_seed_dependent(tmp_path, scene, renderer):
    options = GenerateOptions(n_frames=3, formats=("dlc",))
    a = tree_digest(generate(_source(scene, renderer), tmp_path / "a", options).root)
    b = tree_digest(generate(_source(scene, renderer), tmp_path / "b", options).root)
    same = {k for k in a if k not in ("config.yaml", "manifest.json")}
    assert {k: a[k] for k in same} == {k: b[k] for k in same}
    c = tree_digest(
        generate(_source(scene, renderer, seed=5), tmp_path / "c", GenerateOptions(n_frames=3, formats=("dlc",))).root
    )
    assert (
        c["labeled-data/synth_side/CollectedData_synthmouse.csv"]
        != a["labeled-data/synth_side/CollectedData_synthmouse.csv"]
    )
    assert len(scene_hash(scene.spec)) == 64


MIRROR_SCENE = {
    "rig": {"type": "wheel", "screens": 0},
    "cameras": [
        {
            "name": "side",
            "width": 128,
            "height": 96,
            "fov_deg": 50,
            "look_at": {"eye": [0.0, -0.25, 0.05], "target": [0.0, 0.0, 0.02]},
        }
    ],
    "mirrors": [
        {
            "name": "back",
            "corners": [[-0.12, 0.05, -0.02], [0.12, 0.05, -0.02], [0.12, 0.05, 0.12], [-0.12, 0.05, 0.12]],
            "normal": [0, -1, 0],
        }
    ],
}


def test_mirror_keypoints_are_extra_bodyparts_and_reproject_through_the_reflection(tmp_path, renderer):
    from synthmouse.scene.build import build_scene
    from synthmouse.scene.spec import parse_scene_spec

    scene = build_scene(parse_scene_spec(MIRROR_SCENE))
    names = list(scene.keypoint_names)
    root = tmp_path / "ds"
    source = SceneFrameSource(scene=scene, seed=1, motion=StillPoses(scene, 1), renderer=renderer, name="m")
    assert generate(source, root, GenerateOptions(n_frames=2, formats=("dlc", "coco"))).complete
    labels = pd.read_hdf(dlc_h5(root, "side"), "df_with_missing")
    parts = labels.columns.get_level_values("bodyparts").unique().tolist()
    assert parts == names + [f"{n}_back" for n in names]
    import json

    category = json.loads((root / "coco" / "annotations.json").read_text())["categories"][0]
    assert len(category["skeleton"]) == 2 * len(scene.keypoint_set.edges)
    cam = tomllib.loads((root / "calibration.toml").read_text())["cam_0"]
    K, dist = np.asarray(cam["matrix"]), np.asarray(cam["distortions"])
    rvec, t = np.asarray(cam["rotation"], float), np.asarray(cam["translation"], float)
    pts = pd.read_csv(root / "keypoints3d.csv", index_col="frame").loc[0].to_numpy().reshape(-1, 3)
    reflected = pts * [1, 1, 1]
    reflected[:, 1] = 2 * 0.05 - pts[:, 1]  # mirror plane y = 0.05
    ref, _ = cv2.projectPoints(reflected, rvec, t, K, dist)
    got = labels.iloc[0].to_numpy().reshape(-1, 2)[len(names) :]
    shown = np.isfinite(got[:, 0])
    assert shown.sum() >= 3  # the reflection is seen and labelled
    np.testing.assert_allclose(got[shown], ref[:, 0][shown], atol=1e-6)


def test_depth_mask_and_part_images_equal_what_the_renderer_drew(tmp_path, scene, renderer):
    """outputs.ground_truth lists depth, mask and parts (the default): the PNGs read back with OpenCV equal the
    renderer's depth (within 1 mm), mask and part ids of the same frame rendered again."""
    import json

    from synthmouse.body.groups import PARTS

    assert set(scene.spec.outputs.ground_truth) >= {"depth", "mask", "parts"}
    root = tmp_path / "ds"
    assert generate(_source(scene, renderer), root, GenerateOptions(n_frames=2, formats=("dlc",))).complete
    again = _source(scene, renderer)
    manifest = json.loads((root / "manifest.json").read_text())
    for i in range(2):
        result = again.render(i)
        for view in result.views:
            depth = cv2.imread(str(root / f"depth/{view.camera}/img{i:05d}.png"), cv2.IMREAD_UNCHANGED)
            hit = np.isfinite(view.depth)
            assert depth.dtype == np.uint16 and depth.shape == view.depth.shape
            assert hit.mean() > 0.3 and (depth[~hit] == 0).all() and (depth[hit] > 0).all()
            assert np.abs(depth[hit].astype(float) - view.depth[hit] * 1000.0).max() <= 1.0
            parts = cv2.imread(str(root / f"parts/{view.camera}/img{i:05d}.png"), cv2.IMREAD_UNCHANGED)
            assert parts.dtype == np.uint8 and (parts == view.parts).all()
            assert len(np.unique(parts)) > 4 and parts.max() < len(PARTS)  # trunk, head, limbs ... seen
            mask = cv2.imread(str(root / f"mask/{view.camera}/img{i:05d}.png"), cv2.IMREAD_UNCHANGED)
            assert (mask == np.where(view.mask, 255, 0)).all() and ((parts > 0) == view.mask).all()
            for kind in ("depth", "mask", "parts"):
                rel = f"{kind}/{view.camera}/img{i:05d}.png"
                assert manifest["files"][rel] == hashlib.sha256((root / rel).read_bytes()).hexdigest()
    legend = json.loads((root / "parts" / "legend.json").read_text())
    assert {p["id"]: p["name"] for p in legend["parts"]}[PARTS.index("head")] == "head"


def test_a_scene_without_depth_mask_parts_writes_no_ground_truth_images(tmp_path, renderer):
    from synthmouse.scene.build import build_scene
    from synthmouse.scene.spec import parse_scene_spec

    spec = dict(SCENE, outputs={"ground_truth": ["keypoints", "visibility", "keypoints3d"]})
    scene = build_scene(parse_scene_spec(spec))
    root = tmp_path / "ds"
    assert generate(_source(scene, renderer), root, GenerateOptions(n_frames=1, formats=("dlc",))).complete
    assert not any((root / d).exists() for d in ("depth", "mask", "parts"))
    assert sorted(p.name for p in root.rglob("*.png")) == ["img00000.png", "img00000.png"]  # the two cameras


def test_scene_hash_covers_the_motion_mix_file_and_its_clips(tmp_path):
    """Editing the mix file a scene names, or a fitted sequence a clip generator plays, makes another dataset
    (a resumed run refuses it); an unrelated file does not."""
    from synthmouse.scene.spec import parse_scene_spec

    (tmp_path / "fit.npz").write_bytes(b"first fit")
    (tmp_path / "mix.yaml").write_text("generators:\n  - {type: clip, path: fit.npz}\n")
    (tmp_path / "other.txt").write_text("unrelated")

    def digest() -> str:
        return scene_hash(parse_scene_spec({**SCENE, "motion": "mix.yaml"}, base_dir=tmp_path))

    first = digest()
    (tmp_path / "other.txt").write_text("changed")
    assert digest() == first
    (tmp_path / "fit.npz").write_bytes(b"second fit")
    second = digest()
    assert second != first
    (tmp_path / "mix.yaml").write_text("generators:\n  - {type: clip, path: fit.npz, weight: 2}\n")
    assert digest() != second
    inline = {**SCENE, "motion": {"generators": [{"type": "clip", "path": "fit.npz"}]}}
    before = scene_hash(parse_scene_spec(inline, base_dir=tmp_path))
    (tmp_path / "fit.npz").write_bytes(b"third fit")
    assert scene_hash(parse_scene_spec(inline, base_dir=tmp_path)) != before
