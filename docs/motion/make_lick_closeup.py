"""Close-up of licking (docs/motion/lick_closeup.png): side and front views of the head through one lick.

Run: ``.venv/bin/python docs/motion/make_lick_closeup.py [--model parametric|PATH]`` (default: SAM from ../shared).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=str(REPO.parent / "shared" / "assets" / "sam_mouse"))
    parser.add_argument("--out", default=str(HERE / "lick_closeup.png"))
    args = parser.parse_args()

    from synthmouse.body import Pose, load_body
    from synthmouse.motion import motion_rig
    from synthmouse.motion.base import Stage
    from synthmouse.motion.behaviours import ReachSpec
    from synthmouse.render import FrameState, GLRenderer
    from synthmouse.render.sheet import sheet_scene
    from synthmouse.scene.camera import Camera

    body = load_body(args.model)
    rig = motion_rig(body)
    fps, lick_hz = 60.0, 6.0
    clip = ReachSpec(effector="tongue", lick_frequency=lick_hz).generate(rig, 90, fps, np.random.default_rng(1),
                                                                         Stage())
    pose = clip.pose()
    frames = np.arange(40, 51, 2)  # one lick: 10 frames at 6 Hz, 60 fps
    scene = sheet_scene(body, "floor")
    nose = body.keypoints(pose, rig.landmark_set(("nose",)))[:, 0]
    rows = []
    with GLRenderer() as renderer:
        for f in frames:
            panels = []
            single = Pose(pose.root[f:f + 1], pose.rotations[f:f + 1])
            for view, eye in (("side", nose[f] + [0.0, -0.07, 0.0]), ("front", nose[f] + [0.07, 0.0, 0.004])):
                cam = Camera.look_at(view, eye, nose[f] - [0.008, 0.0, 0.004], width=300, height=200, fov_deg=35)
                img = renderer.render(scene, FrameState(int(f), single, cameras=[cam])).views[0].rgb[..., ::-1].copy()
                cv2.putText(img, f"{f / fps:.3f} s {view}", (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
                panels.append(img)
            rows.append(np.concatenate(panels, axis=0))
    sheet = np.concatenate(rows, axis=1)
    cv2.imwrite(args.out, sheet, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(args.out, sheet.shape)


if __name__ == "__main__":
    main()
