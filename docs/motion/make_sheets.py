"""Regenerate the contact sheets of docs/motion/ (one PNG per behaviour), rendered by the GL renderer in rig
scenes (:func:`synthmouse.render.sheet.motion_sheet`): open-field floor, treadmill, wheel, platform.

Run: ``.venv/bin/python docs/motion/make_sheets.py [--model PATH_OR_NAME] [--suffix _parametric]
[--only walk,trot] [--gif]`` (default: SAM from ../shared). ``--gif`` also writes a small side-view GIF per case.
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
    parser.add_argument("--only", default="", help="comma-separated case names (default: all)")
    parser.add_argument("--gif", action="store_true", help="also write <case><suffix>.gif (side view)")
    args = parser.parse_args()

    from synthmouse.body import load_body
    from synthmouse.motion import motion_rig
    from synthmouse.motion.base import Arena, HeadFixed, RootState, Stage, Support
    from synthmouse.motion.behaviours import GroomSpec, ReachSpec, RearSpec, RestSpec, ScanSpec
    from synthmouse.motion.gait import LocomotionSpec
    from synthmouse.motion.mix import MotionMix
    from synthmouse.motion.rare import RareSpec
    from synthmouse.motion.semirandom import SemiRandomSpec
    from synthmouse.render.gl import GLRenderer
    from synthmouse.render.sheet import motion_gif, motion_sheet, sheet_scene

    body = load_body(args.model)
    rig = motion_rig(body)
    floor = Stage()
    wheel = Support("wheel", 0.0, 0.09)
    scenes = {
        "floor": sheet_scene(body, "floor"),
        "treadmill": sheet_scene(body, "treadmill"),
        "wheel": sheet_scene(body, "wheel", wheel_radius=wheel.radius),
        "platform": sheet_scene(body, "platform"),
    }
    only = {name for name in args.only.split(",") if name}

    start, end = RootState(-0.12, -0.02, 0.0), RootState(0.12, 0.03, 0.3)
    # name: (spec, stage, seconds generated, window shown (s0, s1), rig scene, fps)
    cases = {
        "random": (SemiRandomSpec(amplitude=0.4), floor, 4.0, (0.0, 4.0), "floor", 30.0),
        "walk": (
            LocomotionSpec(gait="walk", pauses=0),
            Stage(arena=Arena(-0.3, 0.3, -0.3, 0.3)),
            2.0,
            (0.8, 1.3),
            "floor",
            100.0,
        ),
        "trot": (
            LocomotionSpec(gait="trot", speed=0.2, pauses=0),
            Stage(arena=Arena(-0.3, 0.3, -0.3, 0.3)),
            1.5,
            (0.6, 0.95),
            "floor",
            100.0,
        ),
        "rear": (RearSpec(), floor, 3.0, (0.0, 3.0), "floor", 30.0),
        "groom": (GroomSpec(), floor, 3.0, (1.0, 1.6), "floor", 60.0),
        "scan": (ScanSpec(), floor, 3.0, (0.0, 3.0), "floor", 30.0),
        "rest": (RestSpec(), floor, 3.0, (0.0, 3.0), "floor", 30.0),
        "reach": (ReachSpec(effector="alternate"), floor, 2.0, (0.0, 1.8), "floor", 30.0),
        "lick": (ReachSpec(effector="tongue"), floor, 1.5, (0.5, 0.8), "floor", 60.0),
        "rare": (RareSpec(), floor, 6.0, (0.0, 6.0), "floor", 30.0),
        "treadmill": (
            LocomotionSpec(gait="trot", speed=0.2),
            Stage(Support("treadmill"), None),
            1.0,
            (0.3, 0.65),
            "treadmill",
            100.0,
        ),
        "wheel_headfixed": (
            LocomotionSpec(gait="trot", speed=0.2),
            Stage(wheel, None, HeadFixed()),
            1.0,
            (0.3, 0.65),
            "wheel",
            100.0,
        ),
        "platform_headfixed_rest": (
            RestSpec(crouch=0.2),
            Stage(Support("floor"), None, HeadFixed()),
            3.0,
            (0.0, 3.0),
            "platform",
            30.0,
        ),
    }
    with GLRenderer() as renderer:
        for name, (spec, stage, seconds, (s0, s1), rig_name, fps) in cases.items():
            if only and name not in only:
                continue
            n = int(round(seconds * fps))
            moving = name in ("walk", "trot")
            clip = spec.generate(
                rig, n, fps, np.random.default_rng(3), stage, start if moving else None, end if moving else None
            )
            first = int(round(s0 * fps))
            pose = clip.pose()[first : int(round(s1 * fps)) + 1]
            # the rigs' running surface is at z = 0 (wheel axis at -radius), as the stages here say
            assert stage.support.top == 0.0, stage.support
            out = HERE / f"{name}{args.suffix}.png"
            follow = stage.head_fixed is None
            fixed = "" if follow else ", head-fixed (fixed cameras)"
            motion_sheet(
                body,
                pose,
                out,
                support=scenes[rig_name],
                frames=8,
                fps=fps,
                start_time=first / fps,
                title=f"{name} ({body.name}) on the {rig_name}{fixed}: {s0:g}-{s1:g} s at {fps:g} fps",
                follow=follow,
                renderer=renderer,
            )
            print(out, f"{out.stat().st_size / 1024:.0f} KB", flush=True)
            if args.gif:
                gif = out.with_suffix(".gif")
                motion_gif(
                    body,
                    pose,
                    gif,
                    support=scenes[rig_name],
                    fps=fps,
                    start_time=first / fps,
                    follow=follow,
                    renderer=renderer,
                )
                print(gif, f"{gif.stat().st_size / 1024:.0f} KB", flush=True)
        if not only or "openfield_mix" in only:
            mix = MotionMix.from_yaml(HERE / "openfield_mix.yaml", body)
            pose, ids, names = mix.sample(int(20 * 30), 30.0, seed=2)
            out = HERE / f"openfield_mix{args.suffix}.png"
            shown = ", ".join(dict.fromkeys(names))
            motion_sheet(
                body,
                pose,
                out,
                support=scenes["floor"],
                frames=12,
                fps=30.0,
                title=f"openfield mix ({body.name}), 20 s: {shown}",
                renderer=renderer,
            )
            print(out, f"{out.stat().st_size / 1024:.0f} KB", flush=True)


if __name__ == "__main__":
    main()
