"""Contact sheets and GIFs of motion clips rendered by the GL renderer in a real rig scene.

A sheet has one column per sampled frame (evenly spaced over the clip) and one row per view. The cameras follow
the animal (:func:`follow_cameras`): a side view from the animal's right at about body height and a top view
looking straight down, both turned with the root's heading so the mouse always faces image-right, with a field
of view about 1.6 body lengths wide. The environment is a scene built from the rig templates
(:func:`sheet_scene`: ``openfield`` for a floor, ``treadmill``, ``wheel``, ``platform``), so the floor, belt or
wheel is rendered and the light casts shadows that ground the mouse.

Poses: motion clips (:mod:`synthmouse.motion`) give world roots for their own
:class:`~synthmouse.motion.base.Support` (floor or belt at ``z = support.top``; wheel axis along y through
``(0, 0, support.axis_z)``). The rigs put the running surface at ``z = 0`` (the wheel's axis at ``z = -radius``),
so :func:`place_clip` shifts the roots by the difference, expresses them relative to the scene's ``body_root``
(as :func:`synthmouse.scene.motion_binding.scene_motion` does) and composes them back with
:meth:`Scene.place`. Poses that already come relative to ``body_root`` (a ``scene_motion`` provider) pass
``root_frame="body_root"``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
import yaml

from ..body import Body, KeypointSet, Pose
from ..errors import SynthmouseError
from ..fileio import atomic_path
from ..motion.base import Support
from ..scene.build import Scene, build_scene
from ..scene.camera import Camera
from ..scene.spec import parse_scene_spec
from . import FrameState

SUPPORT_RIGS = {"floor": "openfield", "treadmill": "treadmill", "wheel": "wheel", "platform": "platform"}
PANEL_SIZE = (360, 270)  # width, height in pixels
FIELD_BODY_LENGTHS = 1.7  # horizontal field of view at the body centre, in body lengths
CAMERA_DISTANCE_M = 0.35  # from the body centre (perspective stays mild)
FLOOR_FRACTION = 0.3  # the side camera looks at this fraction of the panel height above the running surface
TITLE_HEIGHT = 26
SHEET_FUR = "agouti"
SHEET_BACKGROUND = "#c4ccd2"
PALETTE_COLOURS = 160
VIEWS = ("side", "top")


@dataclass
class SheetPanels:
    """The rendered panels of a sheet.

    Attributes:
        frames: ``(C,) int`` the frame indices of ``pose`` shown, one per column.
        views: the view names, one per row.
        rgb: ``(R, C, H, W, 3) uint8`` panel images.
        mask: ``(R, C, H, W) bool`` mouse silhouettes.
        cameras: ``cameras[c][r]`` the :class:`Camera` of column ``c``, view ``r``.
        pose: the placed pose of the shown frames (``C`` frames, world roots of the scene).
        scene: the scene rendered.
    """

    frames: np.ndarray
    views: tuple[str, ...]
    rgb: np.ndarray
    mask: np.ndarray
    cameras: list[list[Camera]]
    pose: Pose
    scene: Scene


# ---------------------------------------------------------------------------------------------- scene
def sheet_scene(
    body: Body,
    support: str = "floor",
    wheel_radius: float = 0.09,
    fur: str = SHEET_FUR,
    background: str = SHEET_BACKGROUND,
    headbar: bool | None = None,
) -> Scene:
    """A scene from the rig template of ``support`` with ``body`` in it, for looking at motion.

    ``floor`` is the open field enlarged to 0.8 m without walls (they would hide a following side camera),
    ``treadmill`` and ``platform`` are their templates, ``wheel`` the wheel template with ``wheel_radius``,
    no screens, and a head bar and lick spout when ``headbar`` (default: on the wheel, whose mouse is head-fixed;
    the rig places them where head-fixed motion holds the head); the head bar's posts are always left out (from
    the side they hide the face). The coat is
    ``fur`` and the background a light grey, so a dark or light mouse shows against both floor and background.

    Raises:
        SynthmouseError: an unknown ``support``.
    """
    if support not in SUPPORT_RIGS:
        raise SynthmouseError(f"motion sheet: support {support!r} is not one of {', '.join(SUPPORT_RIGS)}")
    rig_name = SUPPORT_RIGS[support]
    text = resources.files("synthmouse.scene").joinpath("templates", f"{rig_name}.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    data["body"]["fur"] = fur
    data["body"]["keypoints"] = "mouse22"
    data["background"] = background
    data.pop("appearance", None)
    rig = data["rig"]
    if rig_name == "openfield":
        rig["size"] = [0.8, 0.8]
    if rig_name == "wheel":
        rig["radius"] = float(wheel_radius)
        rig["screens"] = 0
    if rig_name in ("wheel", "treadmill"):
        rig["headbar"] = bool(rig_name == "wheel" if headbar is None else headbar)
        if rig_name == "wheel":
            rig["lick_spout"] = rig["headbar"]
    scene = build_scene(parse_scene_spec(data, source=f"<{rig_name} template>"), body=body)
    hidden = ("wall_", "headbar_posts")  # walls and head-bar posts would stand between the side camera and the mouse
    return dataclasses.replace(scene, rig=[m for m in scene.rig if not m.name.startswith(hidden)])


def rig_support(scene: Scene):
    """The :class:`~synthmouse.motion.base.Support` a scene's rig provides (surface at ``z = 0``)."""
    return scene.stage.support


def place_clip(scene: Scene, pose: Pose, support=None, root_frame: str = "world") -> Pose:
    """World poses for ``scene`` (``(F, 4, 4)`` roots) of a motion clip.

    Args:
        scene: the scene (its rig surface at ``z = 0``).
        pose: the clip's pose, ``F`` frames.
        support: the clip's :class:`~synthmouse.motion.base.Support` (its floor height or wheel axis height);
            None: the rig's own (no shift).
        root_frame: ``"world"`` (motion clips: roots in the support's world) or ``"body_root"`` (roots relative
            to ``scene.body_root``, as :func:`synthmouse.scene.motion_binding.scene_motion` returns them).
    """
    if root_frame == "body_root":
        return scene.place(pose)
    if root_frame != "world":
        raise SynthmouseError(f"motion sheet: root_frame {root_frame!r} is not 'world' or 'body_root'")
    shift = np.eye(4)
    if support is not None:
        target = rig_support(scene)
        if support.kind == "wheel":
            shift[2, 3] = target.axis_z - support.axis_z
        else:
            shift[2, 3] = target.top - support.top
    relative = np.linalg.inv(scene.body_root) @ (shift @ pose.root)
    return scene.place(Pose(relative, pose.rotations))


# ---------------------------------------------------------------------------------------------- cameras
def body_centres(body: Body, pose: Pose) -> tuple[np.ndarray, np.ndarray]:
    """``(F, 3)`` trunk centre (midpoint of nose and tail root) and ``(F,)`` heading (radians about z, of the
    root's x axis) of each frame."""
    names = [n for n in ("nose", "tail_root") if n in body.landmarks]
    if len(names) == 2:
        kps = body.keypoints(pose, KeypointSet("sheet_centre", tuple(body.landmarks[n] for n in names)))
        centre = kps.mean(axis=1)
    else:
        centre = pose.root[:, :3, 3] + pose.root[:, :3, 0] * 0.2 * body.length
    heading = np.arctan2(pose.root[:, 1, 0], pose.root[:, 0, 0])
    return centre, heading


def follow_cameras(
    body: Body,
    pose: Pose,
    views: tuple[str, ...] = VIEWS,
    panel: tuple[int, int] = PANEL_SIZE,
    follow: bool = True,
    surface_z: float = 0.0,
    field_lengths: float = FIELD_BODY_LENGTHS,
) -> list[list[Camera]]:
    """Cameras per frame of a placed ``pose`` (world roots): ``cameras[f][v]`` for ``views`` (``side``: from
    the animal's right at body height, ``top``: straight down), image-right along the heading.

    ``follow=False`` keeps one camera for all frames, on the mean centre and heading (e.g. head-fixed).
    The horizontal field at the body centre is ``field_lengths`` body lengths; the side camera looks at
    :data:`FLOOR_FRACTION` of the panel height above ``surface_z``.
    """
    width, height = panel
    centre, heading = body_centres(body, pose)
    if not follow:
        mean_heading = np.arctan2(np.sin(heading).mean(), np.cos(heading).mean())
        centre = np.broadcast_to(centre.mean(axis=0), centre.shape)
        heading = np.full_like(heading, mean_heading)
    field = field_lengths * body.length
    fx = width * CAMERA_DISTANCE_M / field
    field_h = height / fx * CAMERA_DISTANCE_M
    cameras = []
    for c, h in zip(centre, heading, strict=True):
        forward = np.array([np.cos(h), np.sin(h), 0.0])
        left = np.array([-np.sin(h), np.cos(h), 0.0])
        frame = []
        for view in views:
            if view == "side":
                target = np.array([c[0], c[1], surface_z + FLOOR_FRACTION * field_h])
                eye = target - left * CAMERA_DISTANCE_M
                cam = Camera.look_at("side", eye, target, (0.0, 0.0, 1.0), width, height, fx=fx)
            elif view == "top":
                target = np.array([c[0], c[1], c[2]])
                eye = target + np.array([0.0, 0.0, CAMERA_DISTANCE_M])
                cam = Camera.look_at("top", eye, target, left, width, height, fx=fx)
            elif view == "front":
                target = np.array([c[0], c[1], surface_z + FLOOR_FRACTION * field_h])
                eye = target + forward * CAMERA_DISTANCE_M
                cam = Camera.look_at("front", eye, target, (0.0, 0.0, 1.0), width, height, fx=fx)
            else:
                raise SynthmouseError(f"motion sheet: view {view!r} is not one of side, top, front")
            frame.append(cam)
        cameras.append(frame)
    return cameras


# ---------------------------------------------------------------------------------------------- rendering
def sample_frames(n_frames: int, frames: int) -> np.ndarray:
    """``(C,) int`` up to ``frames`` indices evenly spaced over ``0 .. n_frames - 1`` (first and last included)."""
    return np.unique(np.linspace(0, n_frames - 1, max(int(frames), 1)).round().astype(int))


def _resolve_scene(body: Body, support, wheel_radius: float) -> tuple[Scene, object]:
    """The scene and the clip's Support (None: the rig's) for a ``support`` argument."""
    if isinstance(support, Scene):
        return support, None
    if isinstance(support, Support):
        kind = "floor" if support.kind == "floor" else support.kind
        return sheet_scene(body, kind, wheel_radius=support.radius), support
    if support == "wheel":
        return sheet_scene(body, "wheel", wheel_radius=wheel_radius), Support("wheel", 0.0, float(wheel_radius))
    return sheet_scene(body, str(support)), None


def render_panels(
    body: Body,
    pose: Pose,
    *,
    support="floor",
    wheel_radius: float = 0.09,
    frames: int = 8,
    views: tuple[str, ...] = VIEWS,
    panel: tuple[int, int] = PANEL_SIZE,
    follow: bool = True,
    root_frame: str = "world",
    renderer=None,
) -> SheetPanels:
    """Render ``frames`` evenly spaced frames of ``pose`` in every view (see :func:`motion_sheet`)."""
    scene, clip_support = _resolve_scene(body, support, wheel_radius)
    if scene.body is not body and scene.body.mesh.n_vertices != body.mesh.n_vertices:
        raise SynthmouseError("motion sheet: the scene's body is not the body of the pose")
    idx = sample_frames(pose.n_frames, frames)
    placed = place_clip(scene, pose[idx], clip_support, root_frame)
    cameras = follow_cameras(scene.body, placed, tuple(views), panel, follow)
    own = renderer is None
    if own:
        from .gl import GLRenderer

        renderer = GLRenderer()
    try:
        rgb = np.zeros((len(views), len(idx), panel[1], panel[0], 3), np.uint8)
        mask = np.zeros((len(views), len(idx), panel[1], panel[0]), bool)
        for col in range(len(idx)):
            framed = dataclasses.replace(scene, cameras=tuple(cameras[col]))
            result = renderer.render(framed, FrameState(int(idx[col]), placed[col : col + 1]))
            for row, view in enumerate(result.views):
                rgb[row, col] = view.rgb
                mask[row, col] = view.mask
    finally:
        if own:
            renderer.close()
    return SheetPanels(idx, tuple(views), rgb, mask, cameras, placed, scene)


def _put_text(image: np.ndarray, text: str, origin: tuple[int, int], scale: float = 0.5) -> None:
    """Dark text with a light outline at ``origin`` (left, baseline), in place."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(image, text, origin, font, scale, (255, 255, 255), 3, cv2.LINE_AA)
    cv2.putText(image, text, origin, font, scale, (20, 20, 20), 1, cv2.LINE_AA)


def compose_sheet(panels: SheetPanels, fps: float, title: str = "", start_time: float = 0.0) -> np.ndarray:
    """``(TITLE_HEIGHT + R * H, C * W, 3) uint8`` the panels in a grid with time labels (``start_time`` plus
    frame / fps seconds), view labels and a title line."""
    rows, cols, height, width = panels.rgb.shape[:4]
    grid = panels.rgb.transpose(0, 2, 1, 3, 4).reshape(rows * height, cols * width, 3).copy()
    for row in range(rows):
        for col in range(cols):
            y0, x0 = row * height, col * width
            if row == 0:
                _put_text(grid, f"{start_time + panels.frames[col] / fps:.2f} s", (x0 + 6, y0 + 18))
            if col == 0:
                _put_text(grid, panels.views[row], (x0 + 6, y0 + height - 8))
    grid[:, width - 1 :: width] = 255  # thin separators between columns
    for row in range(1, rows):
        grid[row * height - 1] = 255
    head = np.full((TITLE_HEIGHT, grid.shape[1], 3), 255, np.uint8)
    cv2.putText(head, title, (8, TITLE_HEIGHT - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([head, grid])


def write_png(image: np.ndarray, path: str | Path, colours: int = PALETTE_COLOURS) -> Path:
    """Write ``(H, W, 3) uint8`` as a palette PNG (``colours`` colours, no dithering: small and deterministic)."""
    from PIL import Image

    path = Path(path)
    quantized = Image.fromarray(image).quantize(
        colors=colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    with atomic_path(path) as tmp:
        quantized.save(tmp, format="PNG", optimize=True)
    return path


def motion_sheet(
    body: Body,
    pose: Pose,
    path: str | Path,
    *,
    support="floor",
    wheel_radius: float = 0.09,
    frames: int = 8,
    fps: float = 30.0,
    start_time: float = 0.0,
    title: str = "",
    views: tuple[str, ...] = VIEWS,
    panel: tuple[int, int] = PANEL_SIZE,
    follow: bool = True,
    root_frame: str = "world",
    renderer=None,
) -> Path:
    """Write a PNG contact sheet of a motion clip rendered in a rig scene.

    Args:
        body: the body of the pose.
        pose: ``F`` frames; roots as a motion clip gives them (``root_frame="world"``) or relative to the
            scene's ``body_root`` (``root_frame="body_root"``).
        path: output PNG.
        support: ``"floor"``, ``"treadmill"``, ``"wheel"`` (of ``wheel_radius``), ``"platform"``, the clip's
            :class:`~synthmouse.motion.base.Support` (its height and wheel radius are honoured), or a built
            :class:`Scene` (its rig, lights and body; roots must then be in its world or relative to its
            ``body_root``).
        frames: columns, evenly spaced over the clip (first and last frame included).
        fps: the clip's frame rate (time labels in seconds).
        start_time: the time of ``pose``'s first frame (seconds) in the labels.
        title: a line above the grid.
        views: rows: ``side`` (from the animal's right), ``top``, ``front``.
        panel: ``(width, height)`` pixels of one panel.
        follow: cameras follow the animal's centre and heading; False: one fixed camera on the mean (head-fixed).
        root_frame: see ``pose``.
        renderer: a :class:`~synthmouse.render.gl.GLRenderer` to reuse; None creates and closes one.

    Returns:
        ``path``.
    """
    panels = render_panels(
        body,
        pose,
        support=support,
        wheel_radius=wheel_radius,
        frames=frames,
        views=views,
        panel=panel,
        follow=follow,
        root_frame=root_frame,
        renderer=renderer,
    )
    return write_png(compose_sheet(panels, fps, title, start_time), path)


def motion_gif(
    body: Body,
    pose: Pose,
    path: str | Path,
    *,
    support="floor",
    wheel_radius: float = 0.09,
    fps: float = 30.0,
    start_time: float = 0.0,
    view: str = "side",
    size: tuple[int, int] = (240, 180),
    max_frames: int = 60,
    follow: bool = True,
    root_frame: str = "world",
    renderer=None,
) -> Path:
    """Write an animated GIF of a clip from one view: up to ``max_frames`` frames evenly spaced over the clip,
    played at the clip's real speed (each frame lasts the time to the next shown frame), looping.

    Arguments as in :func:`motion_sheet`.
    """
    from PIL import Image

    panels = render_panels(
        body,
        pose,
        support=support,
        wheel_radius=wheel_radius,
        frames=max_frames,
        views=(view,),
        panel=size,
        follow=follow,
        root_frame=root_frame,
        renderer=renderer,
    )
    steps = np.diff(panels.frames)
    step = float(np.median(steps)) if len(steps) else 1.0
    duration = max(int(round(1000.0 * step / fps)), 20)
    images = []
    for col, frame in enumerate(panels.frames):
        image = panels.rgb[0, col].copy()
        _put_text(image, f"{start_time + frame / fps:.2f} s", (4, 14), 0.4)
        images.append(
            Image.fromarray(image).quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        )
    path = Path(path)
    with atomic_path(path) as tmp:
        images[0].save(
            tmp, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0, optimize=False
        )
    return path


__all__ = [
    "SheetPanels",
    "body_centres",
    "follow_cameras",
    "motion_gif",
    "motion_sheet",
    "place_clip",
    "render_panels",
    "sheet_scene",
]
