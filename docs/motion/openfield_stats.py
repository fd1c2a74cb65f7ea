"""Open-field motion statistics of a scene's motion mix: segments, behaviour shares, periphery, stillness.

Samples the motion of the starter open-field scene (``synthmouse scene new --rig openfield``: the parametric
mouse in a 45 x 45 cm box, the default free mix, the scene's frame rate) for a few seeds and prints

* segments (bouts) per 300 frames,
* the share of frames of each generator (behaviour),
* the share of frames with the body centre (midpoint of nose and tail base) in the periphery zone, within
  ``--zone`` metres of a wall (8 cm: the IMPC open-field protocol IMPC_OFD_001), and within 5 cm of a wall,
* the share of nearly static frames (body centre slower than 1 cm/s and every joint slower than 0.5 rad/s),
* the share of frames with the nose beyond a wall (should be 0).

Usage (one thread for the banded IK solves; several threads on a busy machine are much slower)::

    OMP_NUM_THREADS=1 .venv/bin/python docs/motion/openfield_stats.py --frames 300 3000 --seeds 0 1 2
    OMP_NUM_THREADS=1 .venv/bin/python docs/motion/openfield_stats.py --plot docs/motion/openfield_paths.png
"""

from __future__ import annotations

import argparse
import time
from importlib import resources

import numpy as np


def openfield_scene():
    """The starter open-field scene (template of ``synthmouse scene new --rig openfield``), built."""
    from synthmouse.scene.build import build_scene
    from synthmouse.scene.spec import load_scene_spec

    path = resources.files("synthmouse.scene") / "templates" / "openfield.yaml"
    with resources.as_file(path) as file:
        return build_scene(load_scene_spec(file))


def measure(scene, n_frames: int, seed: int, zone: float) -> dict:
    from synthmouse.scene.motion_binding import scene_motion

    provider = scene_motion(scene, seed)
    mix, fps = provider.mix, provider.fps
    t0 = time.time()
    pose, ids, names = mix.sample(n_frames, fps, seed)
    seconds = time.time() - t0
    body = mix.body
    kset = mix.rig.landmark_set(("nose", "tail_root"))
    kp = body.keypoints(pose, kset)  # (F, 2, 3) in the mix's (rig) coordinates
    centre = 0.5 * (kp[:, 0, :2] + kp[:, 1, :2])
    x0, x1, y0, y1 = scene.floor_region
    wall = np.minimum.reduce([centre[:, 0] - x0, x1 - centre[:, 0], centre[:, 1] - y0, y1 - centre[:, 1]])
    nose = kp[:, 0, :2]
    outside = (nose[:, 0] < x0) | (nose[:, 0] > x1) | (nose[:, 1] < y0) | (nose[:, 1] > y1)
    speed = np.linalg.norm(np.gradient(centre, axis=0), axis=1) * fps
    joint = np.abs(np.gradient(pose.angles, axis=0)).max(axis=(1, 2)) * fps
    static = (speed < 0.01) & (joint < 0.5)
    labels = sorted(set(names))
    return {
        "frames": n_frames,
        "seed": seed,
        "fps": fps,
        "seconds": seconds,
        "segments_per_300": len(set(ids.tolist())) * 300.0 / n_frames,
        "shares": {name: names.count(name) / n_frames for name in labels},
        "periphery": float(np.mean(wall < zone)),
        "within_5cm": float(np.mean(wall < 0.05)),
        "static": float(np.mean(static)),
        "nose_outside": float(np.mean(outside)),
        "centre": centre,
        "names": names,
    }


def plot(scene, results: list[dict], path: str, zone: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x0, x1, y0, y1 = scene.floor_region
    fig, axes = plt.subplots(1, len(results), figsize=(3.2 * len(results), 3.4), squeeze=False)
    for ax, res in zip(axes[0], results, strict=True):
        ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=2, color="k"))
        ax.add_patch(
            plt.Rectangle(
                (x0 + zone, y0 + zone), x1 - x0 - 2 * zone, y1 - y0 - 2 * zone, fill=False, lw=0.8, ls="--", color="0.5"
            )
        )
        c = res["centre"]
        ax.plot(c[:, 0], c[:, 1], lw=0.6, color="tab:blue")
        moving = np.array([n in ("walk", "trot", "run") for n in res["names"]])
        ax.scatter(c[~moving, 0], c[~moving, 1], s=1.5, color="tab:red", zorder=3)
        ax.set_aspect("equal")
        ax.set_xlim(x0 - 0.01, x1 + 0.01)
        ax.set_ylim(y0 - 0.01, y1 + 0.01)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(
            f"seed {res['seed']}, {res['frames'] / res['fps']:.0f} s\nperiphery {res['periphery']:.0%}", fontsize=8
        )
    fig.suptitle("body centre (blue: path, red: stationary behaviours); dashed: 8 cm periphery zone", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[300, 3000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--zone", type=float, default=0.08, help="periphery zone width (metres)")
    parser.add_argument("--plot", help="write a top-view PNG of the body centre paths (longest sample per seed)")
    args = parser.parse_args()
    scene = openfield_scene()
    for n in args.frames:
        rows = [measure(scene, n, seed, args.zone) for seed in args.seeds]
        print(f"--- {n} frames ({n / rows[0]['fps']:.0f} s at {rows[0]['fps']:g} fps), seeds {args.seeds}")
        for r in rows:
            shares = ", ".join(f"{k} {v:.0%}" for k, v in r["shares"].items())
            print(
                f"seed {r['seed']}: {r['segments_per_300']:.1f} segments/300 frames; periphery ({args.zone:g} m) "
                f"{r['periphery']:.0%}, within 5 cm {r['within_5cm']:.0%}, static {r['static']:.0%}, nose beyond "
                f"a wall {r['nose_outside']:.1%}; {shares}  [{r['seconds']:.0f} s]"
            )
        keys = sorted({k for r in rows for k in r["shares"]})
        mean = {k: np.mean([r["shares"].get(k, 0.0) for r in rows]) for k in keys}
        avg = {
            k: np.mean([r[k] for r in rows])
            for k in ("segments_per_300", "periphery", "within_5cm", "static", "nose_outside")
        }
        print(
            f"mean: {avg['segments_per_300']:.1f} segments/300 frames; periphery {avg['periphery']:.0%}, within "
            f"5 cm {avg['within_5cm']:.0%}, static {avg['static']:.0%}, nose beyond a wall "
            f"{avg['nose_outside']:.1%}; " + ", ".join(f"{k} {v:.0%}" for k, v in mean.items())
        )
        if args.plot and n == max(args.frames):
            plot(scene, rows, args.plot, args.zone)


if __name__ == "__main__":
    main()
