"""Is a synthetic set made with the fitted camera and appearance profile closer to the real open-field frames?

Renders N frames of the open-field scene twice with the GL renderer (the parametric mouse in its rest pose at
random positions and headings on the floor, a fixed per-frame seed):

* ``without``: the scene template's generic camera (fx 560, mild distortion, centred above the arena), the raw
  render (sensor made grayscale, as the real camera is);
* ``with``: the camera from ``synthmouse fit-camera`` (docs/appearance/openfield_camera.toml, arena 0.45 x
  0.30 m) and the profile from ``synthmouse fit-appearance`` on the video, applied with ``apply_profile``;

and compares simple image statistics with the real frames (the 116 labelled frames of session m4s1, and 200
frames of the video m3v1): pooled grey-level histogram distance (Bhattacharyya / Hellinger), mean and
contrast,
noise level (Immerkaer), edge density (Canny 50/150), and the same in the 160 x 160 window around the animal.
Writes docs/appearance/realism.json and side-by-side grids realism_grid.png.

Usage: .venv/bin/python docs/appearance/compare_realism.py [--frames 1000] [--profile DIR]
(needs ../shared/real/openfield; the profile is fitted on the fly when --profile is not given).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import cv2
import numpy as np

from synthmouse.appearance.composite import apply_profile
from synthmouse.appearance.estimate import fit_appearance, read_frames
from synthmouse.appearance.profile import load_profile
from synthmouse.body.pose import Pose
from synthmouse.render import FrameState, GLRenderer
from synthmouse.scene.build import build_scene
from synthmouse.scene.calibration import load_cameras
from synthmouse.scene.camera import to_sensor
from synthmouse.scene.spec import load_scene_spec, parse_scene_spec

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
REAL = REPO.parent / "shared" / "real" / "openfield"
TEMPLATE = REPO / "src" / "synthmouse" / "scene" / "templates" / "openfield.yaml"
IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def scenes(camera_file: Path):
    """(without, with) scenes: the template with a 640 x 480 camera, and the fitted camera and arena."""
    base = load_scene_spec(TEMPLATE).model_dump(mode="json", exclude_none=True)
    base["cameras"][0].update(width=640, height=480)
    base["cameras"][0]["grayscale"] = True
    without = build_scene(parse_scene_spec(base, source=None, base_dir=TEMPLATE.parent))
    fitted = load_cameras(camera_file)[0]
    data = json.loads(json.dumps(base))
    data["rig"]["size"] = [0.45, 0.30]
    data["cameras"] = [
        {
            "name": "top",
            "width": 640,
            "height": 480,
            "grayscale": True,
            "calibration": str(camera_file),
            "calibration_name": fitted.name,
        }
    ]
    with_ = build_scene(parse_scene_spec(data, source=None, base_dir=TEMPLATE.parent))
    return without, with_


def random_pose(scene, rng: np.random.Generator, half: tuple[float, float]) -> Pose:
    """The rest pose at a random floor position (inside ``half`` minus a margin) and heading."""
    pose = scene.rest_pose()
    root = pose.root.copy()
    heading = rng.uniform(0, 2 * math.pi)
    c, s = math.cos(heading), math.sin(heading)
    turn = np.array([[c, -s, 0, 0], [s, c, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1.0]])
    root[0] = turn @ root[0]
    root[0, :2, 3] = [
        rng.uniform(-half[0] + 0.06, half[0] - 0.06),
        rng.uniform(-half[1] + 0.06, half[1] - 0.06),
    ]
    return Pose(root, pose.rotations)


def render_set(scene, n: int, seed: int, half, profile=None, renderer=None) -> tuple[np.ndarray, np.ndarray]:
    """``(n, H, W) uint8`` grey frames and ``(n, 2)`` animal centres (pixels)."""
    frames, centres = [], []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        result = renderer.render(scene, FrameState(i, random_pose(scene, rng, half)))
        view = result.views[0]
        if profile is not None:
            view = apply_profile(view, profile, np.random.default_rng([seed, i, 8]))
        grey = to_sensor(view.rgb, channels=1)
        ys, xs = np.nonzero(view.mask)
        centres.append((xs.mean(), ys.mean()) if len(xs) else (320.0, 240.0))
        frames.append(grey)
    return np.stack(frames), np.array(centres)


def real_centres(frames: np.ndarray, plate: np.ndarray) -> np.ndarray:
    out = []
    for f in frames:
        ys, xs = np.nonzero(np.abs(f.astype(np.int16) - plate.astype(np.int16)) > 40)
        out.append((np.median(xs), np.median(ys)) if len(xs) else (320.0, 240.0))
    return np.array(out)


def crops(frames: np.ndarray, centres: np.ndarray, size: int = 160) -> np.ndarray:
    padded = np.pad(frames, ((0, 0), (size, size), (size, size)), mode="edge")
    out = [
        padded[
            i,
            int(cy) + size // 2 : int(cy) + size // 2 + size,
            int(cx) + size // 2 : int(cx) + size // 2 + size,
        ]
        for i, (cx, cy) in enumerate(centres)
    ]
    return np.stack(out)


def stats(frames: np.ndarray) -> dict:
    hist = np.bincount(frames.ravel(), minlength=256).astype(np.float64)
    noise = [
        math.sqrt(math.pi / 2)
        / 6
        * np.abs(cv2.filter2D(f.astype(np.float32), -1, IMMERKAER)[2:-2, 2:-2]).mean()
        for f in frames[:100]
    ]
    edges = [(cv2.Canny(f, 50, 150) > 0).mean() for f in frames[:200]]
    return {
        "hist": hist / hist.sum(),
        "mean": float(frames.mean()),
        "contrast": float(frames.std()),
        "noise": float(np.mean(noise)),
        "edge_density": float(np.mean(edges)),
    }


def distance(a: dict, b: dict) -> dict:
    hellinger = math.sqrt(max(1.0 - float(np.sum(np.sqrt(a["hist"] * b["hist"]))), 0.0))
    return {
        "histogram_hellinger": hellinger,
        "abs_mean_diff": abs(a["mean"] - b["mean"]),
        "abs_contrast_diff": abs(a["contrast"] - b["contrast"]),
        "abs_noise_diff": abs(a["noise"] - b["noise"]),
        "abs_edge_density_diff": abs(a["edge_density"] - b["edge_density"]),
    }


def grid(rows: list[np.ndarray], labels: list[str], columns: int = 4, scale: float = 0.4) -> np.ndarray:
    lines = []
    for frames, label in zip(rows, labels, strict=True):
        tiles = [
            cv2.resize(f, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) for f in frames[:columns]
        ]
        line = np.hstack(tiles)
        cv2.rectangle(line, (0, 0), (8 + 8 * len(label), 18), 0, -1)
        cv2.putText(line, label, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.45, 255, 1, cv2.LINE_AA)
        lines.append(line)
    return np.vstack(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--profile", default=None)
    parser.add_argument("--camera", default=str(HERE / "openfield_camera.toml"))
    args = parser.parse_args()
    video = REAL / "videos" / "m3v1mp4.mp4"
    profile = (
        load_profile(args.profile) if args.profile else fit_appearance(read_frames(video, 200), str(video))
    )
    real_video = read_frames(video, 200)[..., 0]
    real_labelled = read_frames(REAL / "labeled-data" / "m4s1", 200)[..., 0]
    without, with_ = scenes(Path(args.camera))
    renderer = GLRenderer()
    try:
        syn_without, c_without = render_set(without, args.frames, 1, (0.225, 0.225), None, renderer)
        syn_with, c_with = render_set(with_, args.frames, 1, (0.225, 0.15), profile, renderer)
    finally:
        renderer.close()
    plate = profile.plate[..., 0]
    sets = {"without": (syn_without, c_without), "with": (syn_with, c_with)}
    reals = {
        "video_m3v1": (real_video, real_centres(real_video, plate)),
        "labelled_m4s1": (real_labelled, real_centres(real_labelled, np.median(real_labelled, 0))),
    }
    report: dict = {"frames": args.frames, "metrics": {}}
    for real_name, (real, rc) in reals.items():
        full_r, crop_r = stats(real), stats(crops(real, rc))
        for name, (syn, sc) in sets.items():
            report["metrics"][f"{real_name}/{name}/full"] = distance(stats(syn), full_r)
            report["metrics"][f"{real_name}/{name}/animal_window"] = distance(stats(crops(syn, sc)), crop_r)
    for key, value in report["metrics"].items():
        print(key, {k: round(v, 4) for k, v in value.items()})
    (HERE / "realism.json").write_text(json.dumps(report, indent=2) + "\n")
    picture = grid(
        [real_labelled[::29], syn_without, syn_with],
        ["real (labelled m4s1)", "without fit", "with fitted camera + profile"],
    )
    cv2.imwrite(str(HERE / "realism_grid.png"), picture)
    close = grid(
        [
            crops(real_labelled[::19], reals["labelled_m4s1"][1][::19]),
            crops(syn_without, c_without),
            crops(syn_with, c_with),
        ],
        ["real", "without", "with"],
        columns=6,
        scale=0.75,
    )
    cv2.imwrite(str(HERE / "realism_animal.png"), close)


if __name__ == "__main__":
    main()
