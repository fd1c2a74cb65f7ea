"""``label_hidden``: which keypoints of a set are labelled when occluded (built-in choices, user files, errors),
carried into the dataset metadata (mirror names too) and followed by the DeepLabCut export of a rendered scene."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthmouse.body.keypoint_sets import builtin_set_names, load_user_keypoints
from synthmouse.errors import KeypointError

JOINT_CENTRES = [
    f"{side}_{joint}" for joint in ("wrist", "elbow", "shoulder", "ankle", "knee", "hip") for side in ("left", "right")
]


def test_builtin_sets_choose_what_is_labelled_when_hidden(parametric_body):
    sets = {name: parametric_body.keypoint_set(name) for name in builtin_set_names()}
    assert set(sets) == {"mouse22", "dlc-topview", "superanimal-topview", "side-limbs"}
    assert sets["mouse22"].label_hidden == sets["mouse22"].names
    assert sets["dlc-topview"].label_hidden == () and sets["superanimal-topview"].label_hidden == ()
    side = sets["side-limbs"]
    assert set(side.label_hidden) == {*JOINT_CENTRES, "ear", "tail_base"}
    assert [n for n in side.names if n in side.label_hidden] == list(side.label_hidden)  # set order
    assert not {"nose", "eye", "left_forepaw", "right_hindpaw", "tail_middle", "tail_tip"} & set(side.label_hidden)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, ()), ("none", ()), ("all", ("nose", "neck", "tail_root")), (["tail_root", "neck"], ("neck", "tail_root"))],
)
def test_user_file_label_hidden(parametric_body, value, expected):
    data = {"keypoints": {"nose": "nose", "neck": "neck", "tail_root": "tail_root"}}
    if value is not None:
        data["label_hidden"] = value
    assert load_user_keypoints(data, parametric_body).label_hidden == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (["tail_root", "spleen"], r"label_hidden' names \['spleen'\].*keypoints: nose, tail_root"),
        (5, r"label_hidden' is 5; allowed: none, all, or a list"),
        ("some", r"label_hidden' is 'some'; allowed"),
    ],
)
def test_user_file_label_hidden_errors_name_field_value_and_allowed(parametric_body, value, message):
    data = {"keypoints": {"nose": "nose", "tail_root": "tail_root"}, "label_hidden": value}
    with pytest.raises(KeypointError, match=message):
        load_user_keypoints(data, parametric_body)


def test_scene_meta_lists_label_hidden_keypoints_and_their_mirror_names():
    from synthmouse.dataset.scene_source import scene_meta
    from synthmouse.scene.build import build_scene
    from synthmouse.scene.spec import parse_scene_spec

    scene = build_scene(
        parse_scene_spec(
            {
                "body": {"keypoints": "side-limbs"},
                "rig": {"type": "wheel", "screens": 0},
                "cameras": [
                    {
                        "name": "side",
                        "width": 64,
                        "height": 48,
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
        )
    )
    meta = scene_meta(scene, "m", 30.0)
    hidden = list(scene.keypoint_set.label_hidden)
    assert meta.extra["label_hidden"] == hidden + [f"{n}_back" for n in hidden]
    assert set(meta.extra["label_hidden"]) <= set(meta.bodyparts)


def test_rendered_mouse22_labels_occluded_internal_landmarks_in_deeplabcut(tmp_path, renderer):
    """neck and tail_root lie inside the body: COCO (v = 1) and the label rows say occluded, yet DeepLabCut gets
    their projected position (the same pixel COCO records) because mouse22 lists them in label_hidden."""
    from fakes.dataset import dlc_h5
    from fakes.scene import SCENE, StillPoses
    from synthmouse.dataset.generation import GenerateOptions, generate
    from synthmouse.dataset.scene_source import SceneFrameSource
    from synthmouse.scene.build import build_scene
    from synthmouse.scene.spec import parse_scene_spec

    scene = build_scene(parse_scene_spec(SCENE))
    source = SceneFrameSource(scene=scene, seed=2, motion=StillPoses(scene, 2), renderer=renderer, name="wheel")
    root = tmp_path / "ds"
    assert generate(source, root, GenerateOptions(n_frames=3, formats=("dlc", "coco"))).complete
    coco = json.loads((root / "coco" / "annotations.json").read_text())
    names = coco["categories"][0]["keypoints"]
    images = {img["id"]: img for img in coco["images"]}
    checked = 0
    for ann in coco["annotations"]:
        img = images[ann["image_id"]]
        dlc = pd.read_hdf(dlc_h5(root, img["camera"]))
        row = dlc.loc[tuple(img["file_name"].split("/"))]
        kp = np.asarray(ann["keypoints"], dtype=np.float64).reshape(-1, 3)
        for name in ("neck", "tail_root"):
            x, y, v = kp[names.index(name)]
            if v == 1:  # inside the image, occluded
                assert row[("synthmouse", name, "x")] == max(x, 0.0) and row[("synthmouse", name, "y")] == max(y, 0.0)
                checked += 1
            elif v == 0:
                assert np.isnan(row[("synthmouse", name, "x")])
    assert checked >= 4
