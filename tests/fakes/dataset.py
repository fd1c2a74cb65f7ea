"""TEST DOUBLE: a tiny fake frame source for the dataset loop and exporter tests (no GL, no body, no motion).

``FakeSource`` renders an ellipse "mouse" on a seeded noisy background with keypoints on the ellipse; some
keypoints are occluded and some fall outside the image, so every visibility case is exercised. Frame ``i``
depends only on (seed, i), like the real renderer. It is not a renderer: it exists so the exporters can be
tested on their own.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import cv2
import numpy as np

from synthmouse.dataset.meta import CameraInfo, DatasetMeta
from synthmouse.render.base import CameraView, FrameResult

NAMES = ("nose", "left_ear", "right_ear", "tail_root", "tail_end")
EDGES = (("nose", "left_ear"), ("nose", "right_ear"), ("nose", "tail_root"), ("tail_root", "tail_end"))
SEGMENT_LENGTH = 4


class FakeSource:
    """Deterministic fake frames: ``cameras`` of ``size`` pixels; ``delay`` seconds of sleep per frame."""

    def __init__(
        self,
        seed: int = 0,
        cameras=("top", "side"),
        size=(48, 40),
        delay: float = 0.0,
        scene_hash: str = "f" * 64,
        label_images: tuple[str, ...] = (),
    ):
        width, height = size
        self.seed = seed
        self.delay = delay
        self.meta = DatasetMeta(
            scene_name="fake",
            scene_hash=scene_hash,
            cameras=tuple(CameraInfo(c, width, height, NAMES) for c in cameras),
            keypoint_names=NAMES,
            edges=EDGES,
            fps=30.0,
            extra={"source": "test double"},
            label_images=label_images,
        )
        self.closed = False

    def render(self, index: int) -> FrameResult:
        if self.delay:
            time.sleep(self.delay)
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, index, 0]))
        kp3d = rng.normal(size=(len(NAMES), 3))
        views = [self._view(cam, rng, index) for cam in self.meta.cameras]
        params = {
            "motion": "fake_walk" if (index // SEGMENT_LENGTH) % 2 == 0 else "fake_groom",
            "segment": index // SEGMENT_LENGTH,
            "light_intensity": float(rng.uniform(0.5, 1.5)),
            "camera_jitter_deg": float(rng.normal()),
        }
        return FrameResult(index=index, views=views, keypoints3d=kp3d, keypoint_names=NAMES, params=params)

    def _view(self, cam: CameraInfo, rng: np.random.Generator, index: int) -> CameraView:
        w, h = cam.width, cam.height
        rgb = rng.integers(0, 60, size=(h, w, 3), dtype=np.uint8)
        centre = np.array([rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h])
        axes = (int(w * 0.2), int(h * 0.12))
        mask = np.zeros((h, w), np.uint8)
        cv2.ellipse(mask, (int(centre[0]), int(centre[1])), axes, 0, 0, 360, 1, -1)
        rgb[mask.astype(bool)] = (200, 180, 170)
        keypoints = centre + rng.uniform(-0.25, 0.25, size=(len(NAMES), 2)) * [w, h]
        keypoints[-1] = [w + 5.0, h / 2] if index % 3 == 0 else keypoints[-1]  # tail end leaves the image
        visible = rng.uniform(size=len(NAMES)) > 0.25
        # depth: a tilted plane 0.3 m + 1 mm per frame away on the ellipse, nothing hit elsewhere (no rng draws)
        ramp = 0.3 + 0.001 * index + 0.0005 * np.arange(w, dtype=np.float32)[None, :]
        depth = np.where(mask.astype(bool), ramp, np.inf).astype(np.float32)
        return CameraView(
            camera=cam.name,
            rgb=rgb,
            depth=depth,
            mask=mask.astype(bool),
            parts=mask * np.uint8(1 + index % 3),
            keypoints=keypoints,
            visible=visible,
            names=cam.keypoint_names,
        )

    def close(self) -> None:
        self.closed = True


def image_path(root: Path, camera: str, index: int, ext: str = "png") -> Path:
    """Where the dataset layout puts a camera's image of one frame."""
    return Path(root) / "labeled-data" / f"synth_{camera}" / f"img{index:05d}.{ext}"


def dlc_h5(root: Path, camera: str) -> Path:
    return Path(root) / "labeled-data" / f"synth_{camera}" / "CollectedData_synthmouse.h5"


def make_dataset(
    root: Path, frames: int = 10, seed: int = 3, formats=("dlc", "sleap", "coco", "lp"), **options
) -> Path:
    """Generate a complete fake dataset in ``root`` (tiny images, all default formats); return ``root``."""
    from synthmouse.dataset.generation import GenerateOptions, generate

    source_args = {k: options.pop(k) for k in ("cameras", "size", "scene_hash", "label_images") if k in options}
    report = generate(
        FakeSource(seed=seed, **source_args),
        root,
        GenerateOptions(n_frames=frames, formats=tuple(formats), **options),
    )
    assert report.complete
    return Path(root)


def tree_digest(root: Path, skip_state: bool = True) -> dict[str, str]:
    """sha256 of every file under ``root`` (relative posix paths), optionally without the ``.synthmouse``
    folder."""
    import hashlib

    out = {}
    for path in sorted(Path(root).rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not (skip_state and rel.startswith(".synthmouse/")):
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def run_fake_generate(out: str, frames: int, seed: int, delay: float = 0.0, formats=("dlc", "coco")) -> None:
    """Entry point for subprocess tests (kill and resume)."""
    from synthmouse.dataset.generation import GenerateOptions, generate

    source = FakeSource(seed=seed, delay=delay)
    generate(source, out, GenerateOptions(n_frames=frames, formats=tuple(formats)))


if __name__ == "__main__":  # python tests/fakes/dataset.py OUT FRAMES SEED DELAY
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    run_fake_generate(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
