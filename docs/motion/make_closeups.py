"""Close-ups of the face during licking and grooming (docs/motion/lick_closeup.png, groom_closeup.png,
groom_headfixed_closeup.png: head-fixed on a platform).

Side and front views of the head through one lick (6 Hz, 60 fps) or one grooming stroke (5 Hz, 60 fps).
Run: ``.venv/bin/python docs/motion/make_closeups.py [--model parametric|PATH] [--suffix _parametric]``
(default: SAM from ../shared).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=str(REPO.parent / "shared" / "assets" / "sam_mouse"))
    parser.add_argument("--suffix", default="")
    args = parser.parse_args()

    from synthmouse.body import Pose, load_body
    from synthmouse.motion import motion_rig
    from synthmouse.motion.base import HeadFixed, Stage, Support
    from synthmouse.motion.behaviours import GroomSpec, ReachSpec
    from synthmouse.render import FrameState, GLRenderer
    from synthmouse.render.sheet import sheet_scene
    from synthmouse.scene.camera import Camera

    body = load_body(args.model)
    rig = motion_rig(body)
    fps = 60.0
    free, fixed = Stage(), Stage(Support("floor"), None, HeadFixed())
    cases = {  # name: (spec, stage, frames shown, camera distance)
        "lick": (ReachSpec(effector="tongue", lick_frequency=6.0), free, np.arange(40, 51, 2), 0.08),
        "groom": (GroomSpec(stroke_frequency=5.0), free, np.arange(90, 103, 2), 0.1),
        "groom_headfixed": (GroomSpec(stroke_frequency=5.0), fixed, np.arange(90, 103, 2), 0.1),
    }
    scene = sheet_scene(body, "floor")
    with GLRenderer() as renderer:
        for name, (spec, stage, frames, distance) in cases.items():
            clip = spec.generate(rig, 180, fps, np.random.default_rng(1), stage)
            pose = clip.pose()
            nose, head = body.keypoints(pose, rig.landmark_set(("nose", "head_centre"))).transpose(1, 0, 2)
            heading = np.arctan2(pose.root[:, 1, 0], pose.root[:, 0, 0])
            rows = []
            for f in frames:
                forward = np.array([np.cos(heading[f]), np.sin(heading[f]), 0.0])
                right = np.array([np.sin(heading[f]), -np.cos(heading[f]), 0.0])
                look = nose[f] + 0.3 * (head[f] - nose[f])  # the snout, between the nose and the skull's centre
                panels = []
                single = Pose(pose.root[f : f + 1], pose.rotations[f : f + 1])
                for view, eye in (
                    ("side", look + distance * right),
                    ("front", look + distance * forward + [0.0, 0.0, 0.06 * distance]),
                ):
                    cam = Camera.look_at(view, eye, look, width=300, height=220, fov_deg=35)
                    img = (
                        renderer.render(dataclasses.replace(scene, cameras=(cam,)), FrameState(int(f), single))
                        .views[0]
                        .rgb
                    )
                    img = img[..., ::-1].copy()
                    cv2.putText(img, f"{f / fps:.3f} s {view}", (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
                    panels.append(img)
                rows.append(np.concatenate(panels, axis=0))
            sheet = np.concatenate(rows, axis=1)
            out = HERE / f"{name}_closeup{args.suffix}.png"
            cv2.imwrite(str(out), sheet, [cv2.IMWRITE_PNG_COMPRESSION, 9])
            print(out, sheet.shape)


if __name__ == "__main__":
    main()
