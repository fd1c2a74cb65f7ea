"""Play fitted (retargeted) motion in a mix: the ``clip`` generator.

A fit file (``synthmouse motion retarget --out fit.npz``, or ``motion sample``) holds ``angles (N, J, 3)``,
``root (N, 4, 4)``, ``fps`` and ``joints``. A ``clip`` bout plays a window of it:

* the window starts at a file frame drawn from the bout's generator and is resampled to the mix's frame rate
  (angles linearly, root position linearly and rotation by slerp; exact file frames when the rates agree);
* angles are clipped into the body's limits; the file's joint names must be the body's;
* root on a floor (no head fixation): the recorded horizontal path relative to its first frame is turned about
  the vertical and moved to start at the bout's start anchor, keeping the recorded height and tilt (the file's
  world is taken as z up with the floor at z = 0, as in synthmouse scenes). The first turn tried faces the
  clip's first heading along the anchor's heading; then ``tries - 1`` turns drawn from the bout's generator;
  the first that keeps the root inside the arena is used, else the clip plays in place (horizontal translation
  removed). The bout ends where its path ends: the mix starts the next bout there;
* on a treadmill or wheel the clip plays in place at the start state on the support's top; with a head
  fixation the root hangs from the head bar (:func:`synthmouse.motion.base.head_fixed_root`), as for the other
  generators.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field, PrivateAttr, ValidationInfo, field_validator
from scipy.spatial.transform import Rotation

from ..body.rotations import rigid
from ..errors import SceneError
from .base import Clip, RootState, Stage, head_fixed_root, yaw_matrix
from .rig import MotionRig
from .spec import GeneratorSpec

FIT_ARRAYS = ("angles", "root", "fps", "joints")


@dataclass(frozen=True, eq=False)
class FittedMotion:
    """A recorded motion: ``angles (N, J, 3)`` radians, ``root (N, 4, 4)`` metres, ``fps``, ``joints`` names."""

    angles: np.ndarray
    root: np.ndarray
    fps: float
    joints: tuple[str, ...]
    source: str

    @property
    def n_frames(self) -> int:
        return self.angles.shape[0]

    @property
    def seconds(self) -> float:
        """Time from the first to the last frame."""
        return (self.n_frames - 1) / self.fps


def load_fitted_motion(path: str | Path) -> FittedMotion:
    """Read a fit file (``.npz`` with ``angles``, ``root``, ``fps``, ``joints``); errors name the file and array."""
    path = Path(path)
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise SceneError(f"{path}: clip file not found") from None
    except (OSError, ValueError) as exc:
        raise SceneError(f"{path}: not a readable .npz fit file ({exc})") from None
    with data:
        missing = [k for k in FIT_ARRAYS if k not in data.files]
        if missing:
            raise SceneError(
                f"{path}: a clip file needs arrays {list(FIT_ARRAYS)}; missing {missing} "
                f"(write it with 'synthmouse motion retarget' or 'motion sample')"
            )
        angles = np.asarray(data["angles"], dtype=np.float64)
        root = np.asarray(data["root"], dtype=np.float64)
        fps = float(data["fps"])
        joints = tuple(str(j) for j in data["joints"])
    n = angles.shape[0]
    if angles.ndim != 3 or angles.shape[1:] != (len(joints), 3) or root.shape != (n, 4, 4) or n < 2:
        raise SceneError(
            f"{path}: angles {angles.shape} and root {root.shape} must be (N, J, 3) and (N, 4, 4) with "
            f"N >= 2 frames and J = {len(joints)} joints"
        )
    if not (np.isfinite(angles).all() and np.isfinite(root).all()) or not fps > 0:
        raise SceneError(f"{path}: angles and root must be finite and fps > 0 (got fps {fps})")
    return FittedMotion(angles, root, fps, joints, str(path))


class ClipSpec(GeneratorSpec):
    """Play a window of a fitted motion file (see the module docstring).

    Attributes:
        path: the ``.npz`` fit file; relative paths start at the mix file's (or scene file's) folder.
        tries: turns tried to keep the recorded path inside the arena before playing in place.
        in_place: always remove the recorded horizontal translation.
    """

    type: Literal["clip"] = "clip"
    path: str
    tries: int = Field(8, ge=1, le=64)
    in_place: bool = False

    follows_path: ClassVar[bool] = True  # on a floor the bout ends where its recorded path ends
    _motion: FittedMotion | None = PrivateAttr(default=None)

    @field_validator("path")
    @classmethod
    def _resolve(cls, value: str, info: ValidationInfo) -> str:
        path = Path(value).expanduser()
        base = (info.context or {}).get("base_dir")
        if not path.is_absolute() and base is not None:
            path = Path(base) / path
        if path.suffix.lower() != ".npz":
            raise ValueError(f"clip file must be a .npz fit file, got {value!r}")
        if not path.is_file():
            raise ValueError(f"clip file not found: {path} (from {value!r})")
        return str(path)

    def motion(self) -> FittedMotion:
        """The fit file, read once per spec."""
        if self._motion is None:
            self._motion = load_fitted_motion(self.path)
        return self._motion

    def check_body(self, rig: MotionRig) -> None:
        """Refuse a file whose joints are not the body's, or shorter than the longest bout."""
        motion = self.check_joints(rig)
        if self.duration[1] > motion.seconds + 1e-9:
            raise SceneError(
                f"{self.path}: generator {self.label!r}: duration max {self.duration[1]:g} s is longer "
                f"than the recording ({motion.seconds:.3g} s)"
            )

    def check_joints(self, rig: MotionRig) -> FittedMotion:
        """The fit file, refused when its joints are not the body's."""
        motion = self.motion()
        names = tuple(rig.skeleton.names)
        if motion.joints != names:
            diff = [
                f"{i}: {a!r} vs {b!r}" for i, (a, b) in enumerate(zip(motion.joints, names, strict=False)) if a != b
            ][:3]
            raise SceneError(
                f"{self.path}: generator {self.label!r}: the clip's {len(motion.joints)} joints do not "
                f"match body {rig.body.name!r} ({len(names)} joints)"
                + (f"; first differences (file vs body) {diff}" if diff else "")
                + "; retarget the recording onto this body (--model)"
            )
        return motion

    def generate(
        self,
        rig: MotionRig,
        n_frames: int,
        fps: float,
        rng: np.random.Generator,
        stage: Stage | None = None,
        start: RootState | None = None,
        end: RootState | None = None,
    ) -> Clip:
        stage = stage or Stage()
        start = start or RootState()
        motion = self.check_joints(rig)
        angles, root = resample_window(motion, n_frames, fps, rng)
        angles = rig.clamp(angles)
        support = stage.support
        if stage.head_fixed is not None:
            root = head_fixed_root(rig, angles, stage.head_bar(rig))
        else:
            arena = stage.arena if support.kind == "floor" else None
            moving = support.kind == "floor" and not self.in_place
            root = place_path(root, start, support.top, arena, moving, self.tries, rng)
        speed = np.zeros(n_frames)
        speed[1:] = np.linalg.norm(np.diff(root[:, :2, 3], axis=0), axis=1) * fps
        return Clip(angles, root, np.zeros((n_frames, 4), bool), np.zeros(n_frames), support, speed)


def resample_window(
    motion: FittedMotion, n_frames: int, fps: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``(angles (n, J, 3), root (n, 4, 4))``: ``n_frames`` frames at ``fps`` from a window whose first file frame
    is drawn uniformly among those that leave room for the whole window (one integer draw from ``rng``)."""
    step = motion.fps / fps
    span = (n_frames - 1) * step  # file frames covered
    if span > motion.n_frames - 1 + 1e-9:
        raise SceneError(
            f"{motion.source}: a bout of {n_frames / fps:.3g} s is longer than the recording "
            f"({motion.seconds:.3g} s); shorten the generator's duration"
        )
    last_start = int(np.floor(motion.n_frames - 1 - span + 1e-9))
    first = int(rng.integers(0, last_start + 1))
    u = np.minimum(first + np.arange(n_frames) * step, motion.n_frames - 1)
    i0 = np.minimum(np.floor(u + 1e-9).astype(np.int64), motion.n_frames - 1)
    w = np.clip(u - i0, 0.0, 1.0)
    i1 = np.minimum(i0 + 1, motion.n_frames - 1)
    angles = (1.0 - w)[:, None, None] * motion.angles[i0] + w[:, None, None] * motion.angles[i1]
    pos = (1.0 - w)[:, None] * motion.root[i0, :3, 3] + w[:, None] * motion.root[i1, :3, 3]
    r0 = Rotation.from_matrix(motion.root[i0, :3, :3])
    delta = (r0.inv() * Rotation.from_matrix(motion.root[i1, :3, :3])).as_rotvec()
    rot = (r0 * Rotation.from_rotvec(delta * w[:, None])).as_matrix()
    rot = np.where((w == 0.0)[:, None, None], motion.root[i0, :3, :3], rot)  # exact file frames
    return angles, rigid(rot, pos)


def heading_of(root: np.ndarray) -> np.ndarray:
    """``(...)`` yaw (radians about +z) of the body's forward axis (x) of root transforms ``(..., 4, 4)``."""
    return np.arctan2(root[..., 1, 0], root[..., 0, 0])


def place_path(
    root: np.ndarray, start: RootState, floor: float, arena, moving: bool, tries: int, rng: np.random.Generator
) -> np.ndarray:
    """``(n, 4, 4)`` recorded roots turned about +z and moved so the path starts at ``start``: heights above the
    recorded floor (z = 0) are kept over ``floor``. With ``moving``, the turn aligning the first heading with
    ``start.heading`` is tried first, then ``tries - 1`` turns drawn from ``rng``; the first keeping the path in
    ``arena`` (any, when None) wins; otherwise (or without ``moving``) the horizontal translation is removed."""
    aligned = start.heading - float(heading_of(root[0]))
    candidates = np.concatenate([[aligned], rng.uniform(-np.pi, np.pi, size=max(0, tries - 1))])
    rel = root[:, :2, 3] - root[0, :2, 3]
    origin = np.array([start.x, start.y])
    turn, path = aligned, None
    if moving:
        for angle in candidates:
            c, s = np.cos(angle), np.sin(angle)
            xy = origin + rel @ np.array([[c, s], [-s, c]])
            if arena is None or arena.contains(xy).all():
                turn, path = float(angle), xy
                break
    if path is None:
        path = np.broadcast_to(origin, rel.shape)
    out = np.empty_like(root)
    out[:] = np.eye(4)
    out[:, :3, :3] = yaw_matrix(turn) @ root[:, :3, :3]
    out[:, :2, 3] = path
    out[:, 2, 3] = floor + root[:, 2, 3]
    return out


def end_state(clip: Clip, frame: int) -> RootState:
    """The root state (position on the floor, heading) of a clip's frame: where the next bout starts."""
    r = clip.root[frame]
    return RootState(float(r[0, 3]), float(r[1, 3]), float(heading_of(r)))
