"""Is a synthetic set made with the fitted camera and appearance profile closer to the real open-field frames?

Makes two synthetic sets through the real dataset path (``synthmouse generate``: the scene file, the
open-field motion mix, the GL renderer, the appearance step, PNGs and DeepLabCut labels on disk):

* ``without``: ``openfield_scene_plain.yaml``, the open-field template as it comes (generic top camera, fx 560,
  mild distortion, square arena), at 640 x 480 and grayscale, raw render;
* ``with``: ``openfield_scene.yaml``, the camera from ``synthmouse fit-camera`` (openfield_camera.toml, arena
  0.45 x 0.30 m) and ``appearance: openfield_profile/profile.yaml`` from ``synthmouse fit-appearance``;

and compares simple image statistics with the real frames (the 116 labelled frames of session m4s1, and 200
frames of the video m3v1): pooled grey-level histogram distance (Bhattacharyya / Hellinger), mean and
contrast, noise level (Immerkaer), edge density (Canny 50/150), and the same in the 160 x 160 window around
the animal (synthetic: the labelled ``body_middle``; real: the median of the pixels that differ from the
plate). Writes docs/appearance/realism.json and the grids realism_grid.png and realism_animal.png.

Usage: .venv/bin/python docs/appearance/compare_realism.py [--frames 1000] [--work /tmp/synthmouse-realism]
(needs ../shared/real/openfield; an existing dataset folder of the same scene and seed is resumed).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from synthmouse.appearance.estimate import read_frames
from synthmouse.appearance.profile import load_profile

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
REAL = REPO.parent / "shared" / "real" / "openfield"
SCENES = {"without": HERE / "openfield_scene_plain.yaml", "with": HERE / "openfield_scene.yaml"}
IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def generate_set(scene: Path, out: Path, frames: int, seed: int) -> None:
    """``synthmouse generate SCENE -n FRAMES -o OUT -f dlc --seed SEED`` (resumes a finished or partial run)."""
    command = [
        sys.executable,
        "-m",
        "synthmouse",
        "generate",
        str(scene),
        "-n",
        str(frames),
        "-o",
        str(out),
        "-f",
        "dlc",
        "--seed",
        str(seed),
    ]
    subprocess.run(command, check=True)


def read_set(out: Path, camera: str = "top") -> tuple[np.ndarray, np.ndarray]:
    """``(n, H, W) uint8`` grey frames of a generated set and ``(n, 2)`` animal centres from its labels
    (``body_middle``; the mean of the visible keypoints where it is hidden)."""
    folder = out / "labeled-data" / f"synth_{camera}"
    labels = pd.read_csv(folder / "CollectedData_synthmouse.csv", header=[0, 1, 2], index_col=[0, 1, 2])
    frames, centres = [], []
    for key, row in labels.iterrows():
        frames.append(cv2.imread(str(folder / key[2]), cv2.IMREAD_GRAYSCALE))
        points = row.to_numpy(float).reshape(-1, 2)
        names = row.index.get_level_values(1)[::2]
        middle = points[list(names).index("body_middle")]
        centres.append(middle if np.all(np.isfinite(middle)) else np.nanmean(points, axis=0))
    return np.stack(frames), np.nan_to_num(np.array(centres), nan=320.0)


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
        math.sqrt(math.pi / 2) / 6 * np.abs(cv2.filter2D(f.astype(np.float32), -1, IMMERKAER)[2:-2, 2:-2]).mean()
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
        tiles = [cv2.resize(f, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) for f in frames[:columns]]
        line = np.hstack(tiles)
        cv2.rectangle(line, (0, 0), (8 + 8 * len(label), 18), 0, -1)
        cv2.putText(line, label, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.45, 255, 1, cv2.LINE_AA)
        lines.append(line)
    return np.vstack(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", default="/tmp/synthmouse-realism", help="where the two datasets go")
    parser.add_argument("--profile", default=str(HERE / "openfield_profile"), help="its plate finds real mice")
    args = parser.parse_args()
    work = Path(args.work)
    sets = {}
    for name, scene in SCENES.items():
        generate_set(scene, work / f"{name}_{args.frames}_{args.seed}", args.frames, args.seed)
        sets[name] = read_set(work / f"{name}_{args.frames}_{args.seed}")
    video = REAL / "videos" / "m3v1mp4.mp4"
    real_video = read_frames(video, 200)[..., 0]
    real_labelled = read_frames(REAL / "labeled-data" / "m4s1", 200)[..., 0]
    plate = load_profile(args.profile).plate[..., 0]
    reals = {
        "video_m3v1": (real_video, real_centres(real_video, plate)),
        "labelled_m4s1": (real_labelled, real_centres(real_labelled, np.median(real_labelled, 0))),
    }
    report: dict = {
        "frames": args.frames,
        "seed": args.seed,
        "path": "synthmouse generate",
        "scenes": {k: v.name for k, v in SCENES.items()},
        "metrics": {},
    }
    for real_name, (real, rc) in reals.items():
        full_r, crop_r = stats(real), stats(crops(real, rc))
        for name, (syn, sc) in sets.items():
            report["metrics"][f"{real_name}/{name}/full"] = distance(stats(syn), full_r)
            report["metrics"][f"{real_name}/{name}/animal_window"] = distance(stats(crops(syn, sc)), crop_r)
    for key, value in report["metrics"].items():
        print(key, {k: round(v, 4) for k, v in value.items()})
    (HERE / "realism.json").write_text(json.dumps(report, indent=2) + "\n")
    (syn_without, c_without), (syn_with, c_with) = sets["without"], sets["with"]
    step = max(len(syn_with) // 4, 1)
    picture = grid(
        [real_labelled[::29], syn_without[::step], syn_with[::step]],
        ["real (labelled m4s1)", "without fit (template)", "with fitted camera + profile"],
    )
    cv2.imwrite(str(HERE / "realism_grid.png"), picture)
    step = max(len(syn_with) // 6, 1)
    close = grid(
        [
            crops(real_labelled[::19], reals["labelled_m4s1"][1][::19]),
            crops(syn_without[::step], c_without[::step]),
            crops(syn_with[::step], c_with[::step]),
        ],
        ["real", "without", "with"],
        columns=6,
        scale=0.75,
    )
    cv2.imwrite(str(HERE / "realism_animal.png"), close)


if __name__ == "__main__":
    main()
