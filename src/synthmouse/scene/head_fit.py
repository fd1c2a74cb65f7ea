"""Where a head-fixed mouse's head is, and fitting it to labelled frames.

The *rest stance* of a head-fixed scene is the body's standing posture
(:attr:`synthmouse.motion.rig.MotionRig.standing`) hung from the head bar the scene's motion holds the head at
(:meth:`synthmouse.motion.base.Stage.head_bar` of the mix's stage): the pose head-fixed motion starts from.

- :func:`head_placement` / :func:`placement_lines`: the reference ``scene render`` and ``scene check`` print:
  the head joint (``motion.head_fixed.position``) and pitch in effect, the head bar, ``head_centre`` and
  ``nose`` in world millimetres and in each camera's pixels.
- :func:`fit_head`: ``motion.head_fixed`` (position and pitch) whose rest-stance keypoints project onto given
  pixels in one camera (least squares, :func:`scipy.optimize.least_squares`), for ``scene fit-head``.

The head bar frame of ``head_fixed: {position: p, pitch: a}`` is ``rigid(pitch_matrix(a), p)``
(:meth:`synthmouse.motion.mix.MotionMixSpec.stage`); without ``position`` it is the standing posture's head on
the support, whose pitch is the posture's own (about 22 degrees nose down for the parametric mouse), not 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from ..body import Pose
from ..body.keypoints import KeypointSet
from ..body.rotations import rigid
from ..errors import SceneError
from ..motion.base import HeadFixed, Stage, head_fixed_root, pitch_matrix
from ..motion.rig import motion_rig
from .build import Scene
from .camera import Camera
from .motion_binding import scene_mix

REFERENCE_LANDMARKS = ("head_centre", "nose")
HEAD_BAR_MESH = "headbar"
PITCH_LIMIT_DEG = 60.0  # motion.head_fixed.pitch is validated to -60..60 degrees


@dataclass(frozen=True)
class HeadPlacement:
    """The rest stance of a head-fixed scene.

    Attributes:
        position: ``(3,)`` world metres of the head joint (``motion.head_fixed.position``).
        pitch_deg: pitch of the head bar frame about +y, degrees, nose down positive (``motion.head_fixed.pitch``).
        written: True when the scene's motion mix writes ``head_fixed.position`` (else the standing default).
        points: name -> ``(3,)`` world metres: ``head bar`` (the drawn bar, when the rig has one), then the
            :data:`REFERENCE_LANDMARKS` the body defines.
        pixels: camera name -> name -> ``(2,)`` pixels, or None where the point is behind the camera or outside
            its image.
    """

    position: np.ndarray
    pitch_deg: float
    written: bool
    points: Mapping[str, np.ndarray]
    pixels: Mapping[str, Mapping[str, np.ndarray | None]]


@dataclass(frozen=True)
class HeadFit:
    """A fitted ``motion.head_fixed``: ``position (3,)`` metres, ``pitch_deg``; ``names`` the keypoints used,
    ``residuals_px (K,)`` their reprojection errors and ``rms_px`` the root mean square."""

    position: np.ndarray
    pitch_deg: float
    names: tuple[str, ...]
    residuals_px: np.ndarray
    rms_px: float


def head_fixed_stage(scene: Scene) -> Stage:
    """The stage the scene's motion runs on: the mix's sections over the rig's (as ``generate`` binds it)."""
    return scene_mix(scene).stage(scene.stage)


def head_fixed_transform(position: Sequence[float], pitch_deg: float) -> np.ndarray:
    """``(4, 4)`` head bar frame of ``head_fixed: {position, pitch}``."""
    return rigid(pitch_matrix(np.radians(float(pitch_deg))), np.asarray(position, dtype=np.float64))


def transform_pitch_deg(transform: np.ndarray) -> float:
    """Pitch (degrees, nose down positive) of a head bar frame: the angle of its x axis below the horizontal."""
    rot = np.asarray(transform, dtype=np.float64)[:3, :3]
    return float(np.degrees(np.arctan2(-rot[2, 0], np.hypot(rot[0, 0], rot[1, 0]))))


def rest_stance(scene: Scene, head_bar: np.ndarray) -> Pose:
    """The standing posture with its head joint held at ``head_bar (4, 4)`` (world coordinates)."""
    rig = motion_rig(scene.body)
    angles = rig.standing.angles[None]
    root = head_fixed_root(rig, angles, np.asarray(head_bar, dtype=np.float64))
    return Pose(root, rig.standing.pose(1).rotations)


def head_placement(scene: Scene) -> HeadPlacement | None:
    """The rest stance of a head-fixed scene (see the module docstring); None when the mouse is not held."""
    stage = head_fixed_stage(scene)
    if stage.head_fixed is None:
        return None
    bar = stage.head_bar(motion_rig(scene.body))
    points = dict(_head_bar_point(scene))
    names = tuple(n for n in REFERENCE_LANDMARKS if n in scene.body.landmarks)
    if names:
        world = landmark_positions(scene, rest_stance(scene, bar), names)
        points.update(zip(names, world, strict=True))
    pixels = {cam.name: {n: _pixel(cam, p) for n, p in points.items()} for cam in scene.cameras}
    return HeadPlacement(
        position=bar[:3, 3].copy(),
        pitch_deg=transform_pitch_deg(bar),
        written=stage.head_fixed.transform is not None,
        points=points,
        pixels=pixels,
    )


def landmark_positions(scene: Scene, pose: Pose, names: Sequence[str]) -> np.ndarray:
    """``(K, 3)`` world metres of the body landmarks (or scene keypoints) ``names`` in a one-frame ``pose``."""
    defs = {k.name: k for k in scene.keypoint_set.keypoints} | dict(scene.body.landmarks)
    missing = [n for n in names if n not in defs]
    if missing:
        raise SceneError(f"no keypoint or landmark named {missing}; keypoints: {', '.join(scene.keypoint_names)}")
    kset = KeypointSet("head_fit", tuple(defs[n] for n in names))
    return scene.body.keypoints(pose, kset)[0]


def _head_bar_point(scene: Scene) -> list[tuple[str, np.ndarray]]:
    """``[("head bar", centre)]`` of the drawn head bar mesh, or ``[]`` when the rig has none."""
    for mesh in scene.rig:
        if mesh.name == HEAD_BAR_MESH:
            vertices = np.asarray(mesh.vertices, dtype=np.float64)
            return [("head bar", 0.5 * (vertices.min(0) + vertices.max(0)))]
    return []


def _pixel(camera: Camera, point: np.ndarray) -> np.ndarray | None:
    """The pixel of ``point`` in ``camera``, or None when behind it or outside its image."""
    if not bool(camera.projectable(point)):
        return None
    pixel = camera.project(point)
    return pixel if bool(camera.in_image(pixel)) else None


def placement_lines(placement: HeadPlacement) -> list[str]:
    """Lines describing a :class:`HeadPlacement` (world millimetres, pixels per camera)."""
    source = "motion.head_fixed" if placement.written else "default: the standing posture's head on the support"
    lines = [
        f"head-fixed ({source}): position {_mm(placement.position)} mm, pitch {placement.pitch_deg:.1f} deg "
        "(nose down positive); rest stance:"
    ]
    for name, point in placement.points.items():
        where = ", ".join(f"{cam} {_px(px[name])}" for cam, px in placement.pixels.items())
        lines.append(f"  {name}: {_mm(point)} mm" + (f"; {where}" if where else ""))
    return lines


def _mm(point: np.ndarray) -> str:
    return "[" + ", ".join(f"{1000 * float(v):.1f}" for v in point) + "]"


def _px(pixel: np.ndarray | None) -> str:
    return "outside the image" if pixel is None else f"({pixel[0]:.1f}, {pixel[1]:.1f}) px"


def fit_head(
    scene: Scene,
    camera: Camera,
    targets: Mapping[str, Sequence[float]],
    start: HeadPlacement | None = None,
) -> HeadFit:
    """``motion.head_fixed`` position and pitch whose rest-stance keypoints ``targets`` (name -> ``(u, v)``
    pixels in ``camera``; scene keypoint or body landmark names) project onto those pixels (least squares over
    the position in metres and the pitch, within the allowed -60..60 degrees).

    Args:
        scene: a head-fixed scene (any scene: the standing posture is hung from the fitted head bar).
        camera: the camera the pixels are in.
        targets: at least two keypoints (four numbers to fit need four residuals).
        start: where to start (default: the scene's current placement, else the standing default).

    Raises:
        SceneError: fewer than two targets, or a name that is not a keypoint or landmark.
    """
    names = tuple(targets)
    if len(names) < 2:
        raise SceneError(f"fitting the head needs at least 2 labelled keypoints, got {len(names)}: {list(names)}")
    wanted = np.asarray([targets[n] for n in names], dtype=np.float64)
    in_head = _keypoints_in_head_frame(scene, names)
    x0 = _start_vector(scene, start if start is not None else head_placement(scene))

    def residuals(x: np.ndarray) -> np.ndarray:
        world = in_head @ head_fixed_transform(x[:3], x[3])[:3].T
        return (camera.project(world) - wanted).ravel()

    limit = PITCH_LIMIT_DEG
    bounds = ([-np.inf, -np.inf, -np.inf, -limit], [np.inf, np.inf, np.inf, limit])
    solution = least_squares(residuals, x0, bounds=bounds, x_scale=[0.01, 0.01, 0.01, 10.0], method="trf")
    errors = np.linalg.norm(solution.fun.reshape(-1, 2), axis=1)
    return HeadFit(
        position=solution.x[:3].copy(),
        pitch_deg=float(solution.x[3]),
        names=names,
        residuals_px=errors,
        rms_px=float(np.sqrt(np.mean(errors**2))),
    )


def _keypoints_in_head_frame(scene: Scene, names: Sequence[str]) -> np.ndarray:
    """``(K, 4)`` homogeneous positions of ``names`` in the head bar frame at the rest stance."""
    points = landmark_positions(scene, rest_stance(scene, np.eye(4)), names)
    return np.concatenate([points, np.ones((len(points), 1))], axis=1)


def _start_vector(scene: Scene, start: HeadPlacement | None) -> np.ndarray:
    """``[x, y, z, pitch_deg]`` to start the fit from: ``start``, else the standing head on the support."""
    if start is None:
        stage = Stage(scene.stage.support, None, HeadFixed(None))
        bar = stage.head_bar(motion_rig(scene.body))
        return np.array([*bar[:3, 3], transform_pitch_deg(bar)])
    pitch = float(np.clip(start.pitch_deg, -PITCH_LIMIT_DEG + 1e-6, PITCH_LIMIT_DEG - 1e-6))
    return np.array([*start.position, pitch])
