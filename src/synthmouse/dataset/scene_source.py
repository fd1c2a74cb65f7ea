"""The real frame source: a scene file, its motion mix, per-frame randomization and the GL renderer.

Frame ``i`` is made from (scene, seed, i) only (docs/architecture.md's flow), in six steps::

    sample   pose, motion = provider.sample(i)                   # motion generator and segment of frame i
    draw     draw = randomize.draw(spec, frame_rng(seed, i))     # a typed FrameDraw
                    .with_body_shape(draw_body_shape(spec, seed, segment))   # one body shape per segment
    frame    scene_i = frame_scene(scene, draw)                  # lights, fur, cameras, body (cached reshape)
             scene_i = place_objects(scene_i, i / fps)            # rig objects where they are at frame i
    render   result = renderer.render(scene_i, FrameState(i, scene_i.place(pose)))
    composite view c = apply_profile(view c, profile of c, rng([seed, i, STREAM_APPEARANCE, c]), draw.image)
    row      result.params = motion | draw.as_params()           # written into frames.csv

The renderer renders ``scene_i`` as it is; ``apply_profile`` (for cameras with an appearance profile) applies
the image, background and distractor values. ``FrameResult.params`` holds the motion generator, the segment
id and every value used. Without an appearance profile the background and distractor draws are left out
(:meth:`FrameDraw.without_compositing`), as nothing uses them, and the image values (noise, blur, tone, JPEG)
apply to each camera's render (``apply_image``). Reshaped scenes are cached here (a few body
shapes, one per motion segment), not globally.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..appearance.composite import apply_image, apply_profile, has_image_effects
from ..appearance.profile import load_profile
from ..appearance.randomize import STREAM_APPEARANCE, draw, draw_body_shape, frame_rng
from ..errors import SynthmouseError
from ..io.yamlio import load_yaml
from ..render import FrameState
from ..render.base import CameraView, FrameResult
from ..render.visibility import label_names
from ..scene.build import Scene, build_scene, reshape_scene
from ..scene.calibration import save_cameras
from ..scene.draw import FrameDraw, frame_scene, place_objects
from ..scene.metadata import keypoint_oks_sigmas, session_metadata
from ..scene.motion_binding import scene_motion
from ..scene.spec import load_scene_spec, parse_scene_spec
from .meta import LABEL_IMAGES, CameraInfo, DatasetMeta

DEFAULT_FPS = 30.0
SHAPE_CACHE_SIZE = 4  # reshaped scenes kept (frames are made in order, so one segment's shape is reused)

DEMO_SCENE: dict[str, Any] = {
    "seed": 0,
    "body": {"model": "parametric", "keypoints": "mouse22", "fur": "black"},
    "rig": {"type": "wheel", "screens": 0},
    "cameras": [
        {
            "name": "side",
            "width": 640,
            "height": 480,
            "fov_deg": 36,
            "look_at": {"eye": [0.01, -0.25, 0.045], "target": [0.008, 0.0, 0.016]},
        },
        {
            "name": "front",
            "width": 640,
            "height": 480,
            "fov_deg": 36,
            "look_at": {"eye": [0.2, -0.07, 0.005], "target": [0.015, 0.0, 0.012]},
        },
    ],
    "background": "#5b6068",
    "lights": [
        {"type": "ambient", "colour": "white", "intensity": 0.45},
        {"type": "directional", "colour": "#fff4e6", "intensity": 0.9, "direction": [-0.3, 0.4, -1.0], "shadows": True},
        {"type": "point", "colour": "#e6eeff", "intensity": 0.35, "position": [0.1, -0.25, 0.2]},
    ],
    "randomization": {
        "light": {"intensity_scale": [0.8, 1.2]},
        "camera": {"position_m": [-0.003, 0.003], "rotation_deg": [-1.0, 1.0]},
        "body": {"fur_albedo_scale": [0.8, 1.3]},
    },
}


class PoseProvider(Protocol):
    """Poses by frame index: ``sample(i) -> (pose, params)``; params hold ``motion`` and ``segment``."""

    fps: float

    def sample(self, index: int):  # -> tuple[Pose, dict]
        ...


def scene_hash(spec) -> str:
    """sha256 of the validated scene (canonical JSON of every field, defaults included) and of the files it
    refers to: its appearance profiles (``profile.yaml`` and the PNGs beside it), its motion mix file and the
    fitted sequences its ``clip`` generators play, so that a changed file is a different dataset (a resumed run
    refuses it)."""
    data = spec.model_dump(mode="json")
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(text.encode("utf-8"))
    for path in _appearance_files(spec) + _motion_files(spec):
        digest.update(path.name.encode("utf-8"))
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _motion_files(spec) -> list[Path]:
    """The motion mix file (when ``motion:`` names one) and the fitted sequences its ``clip`` generators play."""
    motion = getattr(spec, "motion", None)
    base = Path(getattr(spec, "base_dir", None) or ".")
    files: list[Path] = []
    if isinstance(motion, (str, Path)):
        mix = Path(motion) if Path(motion).is_absolute() else base / motion
        if not mix.is_file():
            return files
        files.append(mix)
        base = mix.resolve().parent
        motion = load_yaml(mix, what="motion mix")
    if hasattr(motion, "model_dump"):  # an inline mix, validated with the scene (clip paths resolved)
        motion = motion.model_dump()
    generators = motion.get("generators", []) if isinstance(motion, dict) else []
    for generator in generators:
        if isinstance(generator, dict) and generator.get("type") == "clip" and generator.get("path"):
            clip = Path(generator["path"])
            clip = clip if clip.is_absolute() else base / clip
            if clip.is_file():
                files.append(clip)
    return files


def _appearance_files(spec) -> list[Path]:
    """The profile files and the images in their folders, in a fixed order."""
    appearance = getattr(spec, "appearance", None)
    if not appearance:
        return []
    profiles = [appearance] if isinstance(appearance, (str, Path)) else [appearance[k] for k in sorted(appearance)]
    files: list[Path] = []
    for profile in profiles:
        profile = Path(profile)
        if profile.is_file():
            files += [profile, *sorted(profile.parent.glob("*.png"))]
    return files


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
            from ..render.gl import GLRenderer  # moderngl and an EGL context, only when rendering

            self.renderer = GLRenderer()
        self._randomization = _randomization_spec(self.scene)
        self._profiles = load_scene_profiles(self.scene)
        self._shaped: OrderedDict = OrderedDict()
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
        """Frame ``index``: sample -> draw -> frame scene -> render -> composite -> row values (see the module
        docstring)."""
        pose, motion = self.motion.sample(index)
        frame_draw = self.frame_draw(index, int(motion.get("segment", index)))
        scene = self.scene if frame_draw is None else frame_scene(self.scene, frame_draw, self._reshaped)
        scene = place_objects(scene, index / float(self.motion.fps))
        result = self.renderer.render(scene, FrameState(index, scene.place(pose)))
        views = self._composite(result.views, index, frame_draw) if self._composites(frame_draw) else result.views
        params = {**motion, **(frame_draw.as_params() if frame_draw is not None else {})}
        return dataclasses.replace(result, views=views, params=params)

    def frame_draw(self, index: int, segment: int) -> FrameDraw | None:
        """The randomized values of frame ``index`` in motion segment ``segment`` (its body shape is the
        segment's), or None when the scene randomizes nothing."""
        if self._randomization is None:
            return None
        values = draw(self._randomization, frame_rng(self.seed, index))
        if not self._profiles:
            values = values.without_compositing()
        return values.with_body_shape(draw_body_shape(self._randomization, self.seed, segment))

    def _composites(self, frame_draw: FrameDraw | None) -> bool:
        """True when some view of the frame changes in image space: the scene has appearance profiles, or it has
        none and the frame draws image effects (applied to the render itself, :func:`apply_image`)."""
        return bool(self._profiles) or (frame_draw is not None and has_image_effects(frame_draw.image))

    def _composite(self, views: list[CameraView], index: int, frame_draw: FrameDraw | None) -> list[CameraView]:
        """Every view with an appearance profile composited over it (:func:`apply_profile`), each with its
        own generator ``SeedSequence([seed, index, STREAM_APPEARANCE, view])``. In a scene without profiles the
        frame's image effects apply to every view's render (:func:`apply_image`); in a scene with profiles the
        cameras without one are left as rendered (as before)."""
        image = frame_draw.image if frame_draw is not None else None
        out = []
        for c, view in enumerate(views):
            profile = self._profiles.get(view.camera)
            seq = np.random.SeedSequence([int(self.seed), int(index), STREAM_APPEARANCE, c])
            if profile is not None:
                view = apply_profile(view, profile, np.random.Generator(np.random.PCG64(seq)), image)
            elif not self._profiles:
                view = apply_image(view, np.random.Generator(np.random.PCG64(seq)), image)
            out.append(view)
        return out

    def _reshaped(self, scene: Scene, length_scale: float, girth_scale: float) -> Scene:
        """:func:`reshape_scene` through a small LRU cache (frames are made in order, so one segment's body
        shape is reused)."""
        key = (scene, length_scale, girth_scale)
        if key in self._shaped:
            self._shaped.move_to_end(key)
            return self._shaped[key]
        shaped = reshape_scene(scene, length_scale, girth_scale)
        self._shaped[key] = shaped
        if len(self._shaped) > SHAPE_CACHE_SIZE:
            self._shaped.popitem(last=False)
        return shaped

    def write_calibration(self, path: Path) -> None:
        """The scene's (nominal, un-jittered) cameras as an Anipose ``calibration.toml``."""
        save_cameras(self.scene.cameras, path, metadata={"source": "synthmouse", "scene": self.name})

    def close(self) -> None:
        if self.renderer is not None:
            self.renderer.close()
            self.renderer = None


def scene_meta(scene, name: str, fps: float) -> DatasetMeta:
    """Dataset metadata of a scene: cameras with their keypoint names (the scene's body keypoints and rig-object
    keypoints, then each mirror's), the session metadata of its ``metadata:`` section and the OKS sigma of every
    keypoint (a mirror-view keypoint takes the sigma of the keypoint it mirrors); the rig objects' keypoints
    (and their mirror names) are listed as ``rig_keypoints``."""
    names = label_names(scene)
    rig_names = tuple(getattr(scene, "rig_keypoint_names", ()))
    per_camera = names + sum((tuple(m.keypoint_names(names)) for m in scene.mirrors), ())
    edges = list(scene.keypoint_set.edges)
    spec = scene.spec
    metadata = getattr(spec, "metadata", None)
    sigmas = keypoint_oks_sigmas(names, str(spec.body.keypoints), getattr(metadata, "oks_sigmas", None), spec)
    for m in scene.mirrors:
        mirrored = dict(zip(names, m.keypoint_names(names), strict=True))
        edges += [(mirrored[a], mirrored[b]) for a, b in scene.keypoint_set.edges]
        sigmas.update({mirrored[n]: sigmas[n] for n in names})
    labelled_hidden = set(getattr(scene.keypoint_set, "label_hidden", ()))  # labelled when occluded (DLC export)
    hidden = [n for n in names if n in labelled_hidden] + [
        mn for m in scene.mirrors for n, mn in zip(names, m.keypoint_names(names), strict=True) if n in labelled_hidden
    ]
    rig_keypoints = rig_names + tuple(n for m in scene.mirrors for n in m.keypoint_names(rig_names))
    extra_rig = {"rig_keypoints": list(rig_keypoints)} if rig_keypoints else {}  # manifest.json's provenance
    return DatasetMeta(
        scene_name=name,
        scene_hash=scene_hash(spec),
        cameras=tuple(CameraInfo(c.name, int(c.width), int(c.height), per_camera) for c in scene.cameras),
        keypoint_names=names,
        edges=tuple(edges),
        fps=float(fps),
        label_images=tuple(k for k in spec.outputs.ground_truth if k in LABEL_IMAGES),
        session=session_metadata(
            metadata, str(scene.body.name), str(spec.body.model), str(spec.body.fur), spec.body.fur_colour
        ),
        oks_sigmas=sigmas,
        rig_keypoints=rig_keypoints,
        extra={
            "body": scene.body.name,
            "keypoint_set": scene.keypoint_set.name,
            "label_hidden": hidden,
            "rig": getattr(spec.rig, "type", ""),
            "scene_file": str(spec.source or ""),
            "appearance": {k: str(v) for k, v in getattr(scene, "appearance", {}).items()},
            **extra_rig,
        },
    )


def _randomization_spec(scene):
    """The scene's randomization ranges (None when the scene randomizes nothing: no draw, no columns)."""
    spec = scene.randomization
    return None if spec is None or spec.is_empty else spec


def load_scene_profiles(scene) -> dict:
    """Camera name -> loaded :class:`~synthmouse.appearance.profile.AppearanceProfile` of the scene.

    Raises:
        SceneError: naming the scene file, the ``appearance`` field and what is wrong with the profile.
    """
    if not getattr(scene, "appearance", None):
        return {}
    profiles = {}
    for camera, path in scene.appearance.items():
        try:
            profiles[camera] = load_profile(path)
        except SynthmouseError as exc:
            raise scene.spec.error("appearance", str(exc)) from None
    return profiles


def open_scene_source(path: str | Path, seed: int | None = None, renderer=None) -> SceneFrameSource:
    """Load, validate and build a scene file; its motion mix is seeded by ``seed`` (default: the file's)."""
    spec = load_scene_spec(path)
    return source_from_spec(spec, Path(path).stem, seed, renderer)


def demo_spec(size: tuple[int, int] | None = None):
    """The built-in demo scene, validated: the wheel rig with the parametric mouse, a side and a front-oblique
    camera (``size`` ``(width, height)`` overrides their image size)."""
    data = json.loads(json.dumps(DEMO_SCENE))
    if size is not None:
        for cam in data["cameras"]:
            cam["width"], cam["height"] = int(size[0]), int(size[1])
    return parse_scene_spec(data, source=None)


def demo_source(seed: int = 0, size: tuple[int, int] | None = None, renderer=None) -> SceneFrameSource:
    """The built-in demo (:func:`demo_spec`) as a frame source."""
    return source_from_spec(demo_spec(size), "demo", seed, renderer)


def source_from_spec(spec, name: str, seed: int | None = None, renderer=None) -> SceneFrameSource:
    """Build a validated scene spec into a frame source named ``name`` (the DeepLabCut task)."""
    scene = build_scene(spec)
    seed = int(spec.seed if seed is None else seed)
    return SceneFrameSource(scene=scene, seed=seed, motion=scene_motion(scene, seed), renderer=renderer, name=name)
