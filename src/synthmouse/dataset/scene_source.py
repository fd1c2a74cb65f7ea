"""The real frame source: a scene file, its motion mix, per-frame randomization and the GL renderer.

Frame ``i`` is made from (scene, seed, i) only (DESIGN.md's flow)::

    pose, motion params = motion.sample(i)                    # the segment holding frame i, seeded by seed
    draw                = randomize.draw(spec, frame_rng(seed, i))
    cameras             = scene cameras jittered by the draw's camera.* keys
    FrameResult         = GLRenderer.render(scene, FrameState(i, scene.place(pose), params + draw, cameras))

``FrameResult.params`` then holds the motion generator, the segment id and every randomized value, which the
dataset writes into ``frames.csv``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..errors import SynthmouseError
from ..render.base import FrameResult
from .meta import CameraInfo, DatasetMeta

DEFAULT_FPS = 30.0

DEMO_SCENE: dict[str, Any] = {
    "seed": 0,
    "body": {"model": "parametric", "keypoints": "mouse22", "fur": "black"},
    "rig": {"type": "wheel"},
    "cameras": [
        {"name": "side", "width": 320, "height": 240, "fov_deg": 38,
         "look_at": {"eye": [0.0, -0.27, 0.04], "target": [-0.005, 0.0, 0.02]}},
        {"name": "front", "width": 320, "height": 240, "fov_deg": 38,
         "look_at": {"eye": [0.19, -0.15, 0.09], "target": [0.0, 0.0, 0.02]}},
    ],
}


class PoseProvider(Protocol):
    """Poses by frame index: ``sample(i) -> (pose, params)``; params hold ``motion`` and ``segment``."""

    fps: float

    def sample(self, index: int):  # -> tuple[Pose, dict]
        ...


def scene_hash(spec) -> str:
    """sha256 of the validated scene (canonical JSON of every field, defaults included)."""
    data = spec.model_dump(mode="json")
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(eq=False)
class SceneFrameSource:
    """Frames of a built scene (see the module docstring). ``seed`` is the dataset seed."""

    scene: Any
    seed: int
    motion: PoseProvider
    renderer: Any = None
    name: str = "scene"

    def __post_init__(self) -> None:
        if self.renderer is None:
            from ..render import GLRenderer

            self.renderer = GLRenderer()
        self._randomization = _randomization_spec(self.scene)
        self.meta = scene_meta(self.scene, self.name, self.motion.fps)

    # defaults the CLI uses when options are not given
    @property
    def default_seed(self) -> int:
        return int(self.scene.spec.seed)

    @property
    def default_image_format(self) -> str:
        return str(self.scene.spec.outputs.format)

    @property
    def default_jpeg_quality(self) -> int:
        return int(self.scene.spec.outputs.jpeg_quality)

    def render(self, index: int) -> FrameResult:
        from ..appearance.randomize import draw, frame_rng, jitter_camera
        from ..render import FrameState

        pose, params = self.motion.sample(index)
        params = dict(params)
        cameras = None
        if self._randomization is not None:
            values = draw(self._randomization, frame_rng(self.seed, index))
            params.update(values)
            if any(k.startswith("camera.") for k in values):
                cameras = [jitter_camera(c, values) for c in self.scene.cameras]
        return self.renderer.render(self.scene, FrameState(index, self.scene.place(pose), params, cameras))

    def write_calibration(self, path: Path) -> None:
        """The scene's (nominal, un-jittered) cameras as an Anipose ``calibration.toml``."""
        from ..scene.calibration import save_cameras

        save_cameras(self.scene.cameras, path, metadata={"source": "synthmouse", "scene": self.name})

    def close(self) -> None:
        if self.renderer is not None:
            self.renderer.close()
            self.renderer = None


def scene_meta(scene, name: str, fps: float) -> DatasetMeta:
    """Dataset metadata of a scene: cameras with their keypoint names (the scene's, then each mirror's)."""
    names = tuple(scene.keypoint_names)
    per_camera = names + sum((tuple(m.keypoint_names(names)) for m in scene.mirrors), ())
    edges = list(scene.keypoint_set.edges)
    for m in scene.mirrors:
        mirrored = dict(zip(names, m.keypoint_names(names), strict=True))
        edges += [(mirrored[a], mirrored[b]) for a, b in scene.keypoint_set.edges]
    spec = scene.spec
    return DatasetMeta(
        scene_name=name,
        scene_hash=scene_hash(spec),
        cameras=tuple(CameraInfo(c.name, int(c.width), int(c.height), per_camera) for c in scene.cameras),
        keypoint_names=names,
        edges=tuple(edges),
        fps=float(fps),
        extra={"body": scene.body.name, "keypoint_set": scene.keypoint_set.name,
               "rig": getattr(spec.rig, "type", ""), "scene_file": str(spec.source or "")},
    )


def _randomization_spec(scene):
    """The scene's randomization ranges as the appearance module's spec (None when the scene sets none)."""
    if not scene.randomization:
        return None
    from ..appearance.randomize import parse_randomization

    try:
        return parse_randomization({k: list(v) for k, v in scene.randomization.items()})
    except SynthmouseError as exc:
        raise scene.spec.error("randomization", str(exc)) from None


def open_scene_source(path: str | Path, seed: int | None = None, renderer=None) -> SceneFrameSource:
    """Load, validate and build a scene file; its motion mix is seeded by ``seed`` (default: the file's)."""
    from ..scene.spec import load_scene_spec

    spec = load_scene_spec(path)
    return source_from_spec(spec, Path(path).stem, seed, renderer)


def demo_source(seed: int = 0, size: tuple[int, int] | None = None, renderer=None) -> SceneFrameSource:
    """The built-in demo: the wheel rig with the parametric mouse, a side and a front-oblique camera (``size``
    overrides their image size)."""
    from ..scene.spec import parse_scene_spec

    data = json.loads(json.dumps(DEMO_SCENE))
    if size is not None:
        for cam in data["cameras"]:
            cam["width"], cam["height"] = int(size[0]), int(size[1])
    return source_from_spec(parse_scene_spec(data, source=None), "demo", seed, renderer)


def source_from_spec(spec, name: str, seed: int | None = None, renderer=None) -> SceneFrameSource:
    """Build a validated scene spec into a frame source named ``name`` (the DeepLabCut task)."""
    from ..scene.build import build_scene

    scene = build_scene(spec)
    seed = int(spec.seed if seed is None else seed)
    return SceneFrameSource(scene=scene, seed=seed, motion=motion_provider(scene, seed), renderer=renderer,
                            name=name)


def motion_provider(scene, seed: int) -> PoseProvider:
    """The scene's motion mix (:func:`synthmouse.motion.mix.scene_motion`) as a :class:`PoseProvider`."""
    from ..motion.mix import scene_motion

    return scene_motion(scene, seed)
