"""Regenerate the contact sheets of docs/motion/ (one PNG per behaviour).

Run: ``.venv/bin/python docs/motion/make_sheets.py [--model PATH_OR_NAME]`` (default: SAM from ../shared).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=str(REPO.parent / "shared" / "assets" / "sam_mouse"))
    parser.add_argument("--suffix", default="")
    args = parser.parse_args()

    import matplotlib.patches as patches

    from synthmouse.body import load_body
    from synthmouse.motion import motion_rig
    from synthmouse.motion.base import Arena, HeadFixed, RootState, Stage, Support
    from synthmouse.motion.behaviours import GroomSpec, ReachSpec, RearSpec, RestSpec, ScanSpec
    from synthmouse.motion.gait import LocomotionSpec
    from synthmouse.motion.mix import MotionMix
    from synthmouse.motion.preview import contact_sheet
    from synthmouse.motion.rare import RareSpec
    from synthmouse.motion.semirandom import SemiRandomSpec

    body = load_body(args.model)
    rig = motion_rig(body)
    floor = Stage()
    wheel = Support("wheel", 0.0, 0.09)

    def draw_wheel(ax, view, frame, centre):
        if view == "side":
            ax.add_patch(patches.Circle((-centre[0], wheel.axis_z - centre[2]), wheel.radius, fill=False,
                                        color="0.35", lw=0.8))

    start, end = RootState(-0.12, -0.02, 0.0), RootState(0.12, 0.03, 0.3)
    # name: (spec, stage, seconds generated, window shown (s0, s1), extra drawing, fps)
    cases = {
        "random": (SemiRandomSpec(amplitude=0.4), floor, 4.0, (0.0, 4.0), None, 30.0),
        "walk": (LocomotionSpec(gait="walk", pauses=0), Stage(arena=Arena(-0.3, 0.3, -0.3, 0.3)), 2.0,
                 (0.8, 1.3), None, 100.0),
        "trot": (LocomotionSpec(gait="trot", speed=0.2, pauses=0), Stage(arena=Arena(-0.3, 0.3, -0.3, 0.3)),
                 1.5, (0.6, 0.95), None, 100.0),
        "rear": (RearSpec(), floor, 3.0, (0.0, 3.0), None, 30.0),
        "groom": (GroomSpec(), floor, 3.0, (1.0, 1.6), None, 60.0),
        "scan": (ScanSpec(), floor, 3.0, (0.0, 3.0), None, 30.0),
        "rest": (RestSpec(), floor, 3.0, (0.0, 3.0), None, 30.0),
        "reach": (ReachSpec(effector="alternate"), floor, 2.0, (0.0, 1.8), None, 30.0),
        "lick": (ReachSpec(effector="tongue"), floor, 1.5, (0.5, 0.8), None, 60.0),
        "rare": (RareSpec(), floor, 6.0, (0.0, 6.0), None, 30.0),
        "treadmill": (LocomotionSpec(gait="trot", speed=0.2), Stage(Support("treadmill"), None), 1.0,
                      (0.3, 0.65), None, 100.0),
        "wheel_headfixed": (LocomotionSpec(gait="trot", speed=0.2), Stage(wheel, None, HeadFixed()), 1.0,
                            (0.3, 0.65), draw_wheel, 100.0),
        "platform_headfixed_rest": (RestSpec(crouch=0.2), Stage(Support("floor"), None, HeadFixed()), 3.0,
                                    (0.0, 3.0), None, 30.0),
    }
    for name, (spec, stage, seconds, (s0, s1), extra, fps) in cases.items():
        n = int(round(seconds * fps))
        moving = name in ("walk", "trot")
        clip = spec.generate(rig, n, fps, np.random.default_rng(3), stage, start if moving else None,
                             end if moving else None)
        pose = clip.pose()[int(s0 * fps):int(s1 * fps) + 1]
        on_floor = stage.support.kind != "wheel"
        out = HERE / f"{name}{args.suffix}.png"
        gait = name in ("walk", "trot", "treadmill", "wheel_headfixed")
        contact_sheet(body, pose, out, frames=8 if gait else 10, fps=fps,
                      title=f"{name} ({body.name}): {s0:g}-{s1:g} s",
                      floor=stage.support.top if on_floor else None, extra=extra, follow=stage.head_fixed is None,
                      panel=2.5 if gait else 1.9, dpi=60)
        print(out, f"{out.stat().st_size / 1024:.0f} KB")
    mix = MotionMix.from_yaml(HERE / "openfield_mix.yaml", body)
    pose, ids, names = mix.sample(int(20 * 30), 30.0, seed=2)
    out = HERE / f"openfield_mix{args.suffix}.png"
    shown = ", ".join(dict.fromkeys(names))
    contact_sheet(body, pose, out, frames=12, fps=30.0, title=f"openfield mix, 20 s: {shown}", panel=1.9,
                  dpi=60)
    print(out, f"{out.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
