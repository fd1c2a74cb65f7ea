"""The whole ``fit-camera`` job behind one call: :func:`fit_camera` takes a :class:`CameraFitRequest` (what the
command line says) and either proposes the floor corners (``propose``) or fits the camera, checks it, and writes
the scene, the calibration and the overlay. Messages go to a ``notify`` callback as they happen (the CLI prints
them); nothing here reads a video: the caller gives the frame, or a function that reads it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from synthmouse.errors import SynthmouseError
from synthmouse.scene.build import build_scene, camera_from_spec, head_fixed_anchors, load_scene_body, rig_stage
from synthmouse.scene.calibration import save_cameras
from synthmouse.scene.camera import Camera
from synthmouse.scene.rigs import Anchors, floor_region
from synthmouse.scene.spec import SceneSpec, load_scene_spec, parse_scene_spec

from .check import FitCheck, FitProblem, check_fit, scene_view_problems
from .clicks import click_points
from .edges import EdgeMap, edge_map
from .errors import CameraFitError
from .features import (
    FLOOR_CORNERS,
    CornerProposal,
    RigFeatures,
    openfield_features,
    propose_floor_corners,
    rig_features,
)
from .figures import draw_overlay, draw_proposal, save_png
from .fit import CameraFit, FitOptions, ProgressFn, fit_points_and_edges, refine_to_edges, with_name
from .points import Correspondences, load_correspondences, write_clicked_points, write_points_file
from .scene_edit import scene_text_with_camera, write_camera_to_scene

DEFAULT_SEGMENTS = ("floor_n", "floor_e", "floor_s", "floor_w")
"""The open-field rig's segments aligned with the image edges unless the request names others."""
DEFAULT_CAMERA = "top"
"""The fitted camera's name when neither ``--scene`` nor ``--camera`` names it."""
VIEW_STEP = "checking the view (builds the scene)"
RIM_MIN_TILT = 0.25
"""The wheel's rim is used for edges only when its face is turned at least this much (cosine) to the camera."""
RIM_MIN_INSIDE = 0.8
"""... and at least this share of the rim projects inside the image."""


@dataclass(frozen=True)
class ReferenceFrame:
    """The picture the rig points are found in.

    Attributes:
        image: ``(H, W, 3) uint8`` RGB (the video's median frame, or a single image).
        source: what it is, for the points file (``"video.mp4 (median of 100 frames)"``).
    """

    image: np.ndarray
    source: str


FrameReader = Callable[[ProgressFn | None], ReferenceFrame]
"""Reads the reference frame when the fit needs it (after the quick input checks)."""


@dataclass(frozen=True)
class Notice:
    """One message for the user.

    Attributes:
        text: the message.
        level: ``info`` (a result), ``note`` (a side remark) or ``warning`` (something to act on).
    """

    text: str
    level: Literal["info", "note", "warning"] = "info"


NoticeFn = Callable[[Notice], None]


@dataclass(frozen=True)
class CameraFitRequest:
    """Everything ``synthmouse fit-camera`` is asked to do.

    Attributes:
        points: the points file (read, or written by ``propose`` / ``click``).
        frame: the reference frame, or a :data:`FrameReader` called once the inputs are checked.
        scene: scene file whose rig gives the rig points and which receives the fitted camera.
        camera_name: the scene's camera to fit (the fitted camera replaces it); None: the scene's only camera,
            or ``top`` without a scene.
        propose: find the floor corners and write ``points`` (and a PNG) instead of fitting.
        click: click the rig points in a window first (needs a display).
        rig_size, wall_height: an open-field rig's inner floor size and wall height (without ``scene``).
        options: what is estimated (:class:`FitOptions`).
        edges: refine on the frame's edges (when the rig has segments the camera sees; else points only).
        segments: rig segments (or groups, e.g. a wheel's ``rim_left``) aligned with the edges; None: the rig's
            default (an open field's floor edges; a wheel's rim on the face nearer the camera).
        force: write a fit that fails the checks; with ``propose``, overwrite ``points``.
        out_scene: write the updated scene here instead of updating ``scene`` in place.
        calibration: also write this calibration file (Anipose ``.toml`` or OpenCV ``.yaml``).
        overlay: PNG of the rig (or the proposed points) over the frame.
    """

    points: Path
    frame: ReferenceFrame | FrameReader
    scene: Path | None = None
    camera_name: str | None = None
    propose: bool = False
    click: bool = False
    rig_size: tuple[float, float] | None = None
    wall_height: float = 0.3
    options: FitOptions = FitOptions()
    edges: bool = True
    segments: tuple[str, ...] | None = None
    force: bool = False
    out_scene: Path | None = None
    calibration: Path | None = None
    overlay: Path | None = None


@dataclass(frozen=True)
class CameraFitResult:
    """What :func:`fit_camera` did.

    Attributes:
        points: the points file used (or written by ``propose``).
        frame: the reference frame.
        proposal: the proposed corners (``propose`` only).
        camera: the fitted camera, named as asked (None after ``propose``).
        fit: the fit (scale, residuals, parameter vector).
        check: the plausibility verdict.
        correspondences: the points fitted.
        rig_size, wall_height: the rig's new size when a world scale was fitted (None otherwise).
        overlay: the PNG written (the proposal's picture after ``propose``).
        scene: the scene file written.
        calibration: the calibration file written.
    """

    points: Path
    frame: ReferenceFrame
    proposal: CornerProposal | None = None
    camera: Camera | None = None
    fit: CameraFit | None = None
    check: FitCheck | None = None
    correspondences: Correspondences | None = None
    rig_size: tuple[float, float] | None = None
    wall_height: float | None = None
    overlay: Path | None = None
    scene: Path | None = None
    calibration: Path | None = None


def fit_camera(
    request: CameraFitRequest, progress: ProgressFn | None = None, notify: NoticeFn | None = None
) -> CameraFitResult:
    """Do what ``synthmouse fit-camera`` does: propose the floor corners, or fit, check and write the camera.

    Args:
        request: what to do (:class:`CameraFitRequest`).
        progress: ``progress(step, done, total)`` as long steps advance.
        notify: receives every message for the user, in order.

    Returns:
        :class:`CameraFitResult`.

    Raises:
        CameraFitError: bad points or rig, no converging fit, or (without ``force``) an implausible fit, with
            the flags that would help; nothing is written into the scene then.
    """
    say = notify or _ignore
    spec = load_scene_spec(request.scene) if request.scene is not None else None
    name = fitted_camera_name(spec, request.scene, request.camera_name)
    if request.camera_name is None and (spec is None or len(spec.cameras) > 1) and not request.propose:
        say(Notice(_default_name_note(spec), "note"))
    request = dataclasses.replace(request, camera_name=name)
    features = _rig_features(spec, request, say)
    _check_points_file(request)
    frame = request.frame if isinstance(request.frame, ReferenceFrame) else request.frame(progress)
    if request.propose:
        return _propose(request, frame, spec, features, say)
    return _fit(request, frame, spec, features, progress, say)


def _ignore(notice: Notice) -> None:  # noqa: ARG001 - the default for callers that want no messages
    return None


def fitted_camera_name(spec: SceneSpec | None, scene: Path | None, requested: str | None) -> str:
    """The fitted camera's name: with a scene, ``requested`` (one of its cameras), its only camera, or of several
    the one named :data:`DEFAULT_CAMERA`; without a scene, ``requested`` or :data:`DEFAULT_CAMERA`.

    Raises:
        CameraFitError: the scene has no camera ``requested``, or several cameras, none of them named in the
            request or :data:`DEFAULT_CAMERA`.
    """
    if spec is None:
        return requested or DEFAULT_CAMERA
    names = [c.name for c in spec.cameras]
    if requested is not None:
        if requested not in names:
            raise CameraFitError(
                f"{scene}: no camera named {requested!r}; cameras: {', '.join(names) or 'none'} (the fitted camera "
                "replaces the one named by --camera)"
            )
        return requested
    if len(names) == 1:
        return names[0]
    if DEFAULT_CAMERA in names:
        return DEFAULT_CAMERA
    raise CameraFitError(
        f"{scene}: {len(names) or 'no'} cameras ({', '.join(names) or 'none'}): name the one to fit with --camera "
        "NAME (the fitted camera replaces it)"
    )


def _default_name_note(spec: SceneSpec | None) -> str:
    """What the fitted camera is named for want of ``--camera`` (no scene, or a scene with several cameras, one
    of them :data:`DEFAULT_CAMERA`)."""
    if spec is None:
        return f"naming the fitted camera {DEFAULT_CAMERA!r} (name it with --camera NAME)"
    others = ", ".join(c.name for c in spec.cameras if c.name != DEFAULT_CAMERA)
    return f"fitting the scene's camera {DEFAULT_CAMERA!r} (not {others}: choose with --camera NAME)"


def _rig_features(spec: SceneSpec | None, request: CameraFitRequest, say: NoticeFn) -> RigFeatures | None:
    """The scene rig's features, or an open-field box of ``rig_size``; None without either."""
    if spec is not None:
        return rig_features(spec.rig, _rig_anchors(spec, say))
    if request.rig_size is not None:
        return openfield_features(request.rig_size, request.wall_height)
    return None


def _rig_anchors(spec: SceneSpec, say: NoticeFn) -> Anchors | None:
    """Where a wheel rig's head bar and lick spout are (they sit on the placed mouse); None for other rigs, or
    when the scene's body does not load (then those points are not defined, said as a note)."""
    rig = spec.rig
    if rig.type != "wheel" or not (rig.headbar or rig.lick_spout):
        return None
    try:
        body = load_scene_body(spec)
        stage = rig_stage(rig, floor_region(rig), body)
    except SynthmouseError as exc:
        say(Notice(f"  (head bar and spout points left out: the scene's body does not load: {exc})", "note"))
        return None
    return head_fixed_anchors(body, stage) if stage.head_fixed is not None else None


def _check_points_file(request: CameraFitRequest) -> None:
    """Refuse to overwrite a points file by ``propose`` (without ``force``), or to fit without one."""
    points = request.points
    if request.propose and points.exists() and not request.force:
        raise CameraFitError(f"{points}: already exists; --propose overwrites it only with --force")
    if not (request.propose or request.click or points.is_file()):
        raise CameraFitError(
            f"{points}: points file not found; it says where known rig points are in the video. Propose it from "
            f"the video's edges: synthmouse fit-camera {points} --propose --video VIDEO --scene SCENE (then check "
            "the PNG it writes), or write it by hand: 'points: {floor_nw: [u, v], ...}' (docs/appearance)"
        )


# ---------------------------------------------------------------------- propose
def _propose(
    request: CameraFitRequest,
    frame: ReferenceFrame,
    spec: SceneSpec | None,
    features: RigFeatures | None,
    say: NoticeFn,
) -> CameraFitResult:
    """Find the floor corners, write the points file and the picture to check them."""
    if features is None or not all(n in features.points for n in FLOOR_CORNERS):
        raise CameraFitError(
            "fit-camera --propose finds an open-field arena's floor corners: give --scene with an openfield rig "
            "(or --rig-size X Y); for other rigs write the points file by hand (docs/appearance)"
        )
    height, width = frame.image.shape[:2]
    expected = expected_corners(spec, request.camera_name or DEFAULT_CAMERA, features, (width, height))
    proposal = propose_floor_corners(frame.image, expected)
    picture = request.overlay or request.points.with_suffix(".png")
    write_points_file(request.points, proposal, (width, height), frame.source, features.points, picture)
    save_png(picture, draw_proposal(frame.image, proposal))
    say(Notice(f"proposed {len(proposal.points)} floor corners (named by {proposal.naming}):"))
    for name, (u, v) in proposal.points.items():
        say(Notice(f"  {name}: [{u:.2f}, {v:.2f}]"))
    fits = zip(proposal.side_rms_px, proposal.side_points, strict=True)
    say(Notice("  side fits: " + ", ".join(f"{r:.2f} px rms over {n} edge points" for r, n in fits)))
    say(Notice(f"wrote {request.points} and {picture}"))
    return CameraFitResult(request.points, frame, proposal=proposal, overlay=picture)


def expected_corners(
    spec: SceneSpec | None, camera_name: str, features: RigFeatures, size: tuple[int, int]
) -> dict[str, tuple[float, float]] | None:
    """The floor corners projected through the scene's camera (its guess), in the video's pixel frame; None
    when the scene has no such camera or it does not see them all."""
    if spec is None:
        return None
    entry = next((c for c in spec.cameras if c.name == camera_name), None)
    if entry is None:
        return None
    try:
        cam = camera_from_spec(entry)
    except Exception:  # noqa: BLE001 - only a naming hint: fall back to compass names
        return None
    world = np.array([features.points[n] for n in FLOOR_CORNERS])
    if not cam.projectable(world).all():
        return None
    pix = cam.project(world) * [size[0] / cam.width, size[1] / cam.height]
    return {n: tuple(p) for n, p in zip(FLOOR_CORNERS, pix, strict=True)}


# ---------------------------------------------------------------------- fit
def _fit(
    request: CameraFitRequest,
    frame: ReferenceFrame,
    spec: SceneSpec | None,
    features: RigFeatures | None,
    progress: ProgressFn | None,
    say: NoticeFn,
) -> CameraFitResult:
    """Fit, report, check and write the camera."""
    corr = _correspondences(request, frame, features, say)
    name = request.camera_name or DEFAULT_CAMERA
    options = request.options
    fit, segs, emap = _fit_camera(request, frame, features, corr, progress, say)
    cam = with_name(fit.camera, name)
    for line in fit_summary(cam, fit, corr, edges=emap is not None, free_scale=bool(options.free_scale)):
        say(Notice(line))
    new_size, new_height = _fitted_rig(spec, options, fit)
    if new_size is not None:
        say(Notice(f"  rig size {new_size[0]:.4f} x {new_size[1]:.4f} m (x is the scene's; fix one length)"))
    view: list[FitProblem] = []
    if request.scene is not None:
        if progress is not None:
            progress(VIEW_STEP, 0, 1)
        text = scene_text_with_camera(request.scene, cam, new_size, new_height)
        view = _view_problems(text, request.scene, request.out_scene, cam, say)
        if progress is not None:
            progress(VIEW_STEP, 1, 1)
    check = check_fit(fit, corr, segs, extra=view)
    if request.overlay is not None:
        _write_overlay(request.overlay, frame, fit, cam, corr, segs, features, check)
        say(Notice(f"wrote overlay {request.overlay}"))
    _refuse_implausible(request, check, say)
    scene_path = calibration = None
    if request.scene is not None:
        scene_path = write_camera_to_scene(request.scene, cam, request.out_scene, new_size, new_height)
        say(Notice(f"wrote camera {cam.name!r} into {scene_path} (the rest of the file unchanged)"))
    if request.calibration is not None:
        save_cameras([cam], request.calibration, metadata={"source": "synthmouse fit-camera"})
        calibration = request.calibration
        say(Notice(f"wrote calibration {calibration}"))
    return CameraFitResult(
        request.points,
        frame,
        camera=cam,
        fit=fit,
        check=check,
        correspondences=corr,
        rig_size=new_size,
        wall_height=new_height,
        overlay=request.overlay,
        scene=scene_path,
        calibration=calibration,
    )


def _fit_camera(
    request: CameraFitRequest,
    frame: ReferenceFrame,
    features: RigFeatures | None,
    corr: Correspondences,
    progress: ProgressFn | None,
    say: NoticeFn,
) -> tuple[CameraFit, np.ndarray | None, EdgeMap | None]:
    """The fit from the points, refined on the frame's edges along the rig's segments when there are any to use
    (a wheel's near rim is chosen once the points have placed the camera). Returns the fit, the segments used
    (None: points only) and the edge map."""
    height, width = frame.image.shape[:2]
    name, options = request.camera_name or DEFAULT_CAMERA, request.options
    if not request.edges:
        return fit_points_and_edges(corr, width, height, options, name=name, progress=progress), None, None
    names = _default_segments(features) if request.segments is None or features is None else request.segments
    if names is not None:
        if not names:
            say(Notice(f"  points only: {_no_segments(features)}", "note"))
            return fit_points_and_edges(corr, width, height, options, name=name, progress=progress), None, None
        segs, emap = features.segment_array(names), edge_map(frame.image)
        fit = fit_points_and_edges(corr, width, height, options, emap, segs, name=name, progress=progress)
        return fit, segs, emap
    fit = fit_points_and_edges(corr, width, height, options, name=name, progress=progress)
    face, why = near_rim(features, fit.camera, fit.scale)
    if face is None:
        say(Notice(f"  points only: {why}", "note"))
        return fit, None, None
    segs = features.segment_array([face])
    try:
        emap = edge_map(frame.image)
        refined = refine_to_edges(fit, segs, emap, corr)
    except CameraFitError as exc:
        say(Notice(f"  points only: refining on the {face} edges failed ({exc})", "note"))
        return fit, None, None
    say(Notice(f"  edges: the wheel's {face} (the face nearer the camera)"))
    return refined, segs, emap


def _no_segments(features: RigFeatures | None) -> str:
    """Why there are no edges to align with."""
    if features is None:
        return "no rig (--scene or --rig-size) gives segments to align with the image edges"
    return f"the {features.rig} rig has no built-in segments to align with the image edges"


def _default_segments(features: RigFeatures | None) -> tuple[str, ...] | None:
    """The segments aligned with edges unless named: the rig's default; None for a wheel (its near rim is
    chosen after the point fit); empty when there are none."""
    if features is None:
        return ()
    if features.rig == "wheel":
        return None
    return features.default_segments


def near_rim(features: RigFeatures, camera: Camera, scale: np.ndarray) -> tuple[str | None, str]:
    """The wheel rim group (``rim_left`` or ``rim_right``) on the face nearer ``camera``, or None and why not:
    the face seen edge-on (turned less than :data:`RIM_MIN_TILT`), or less than :data:`RIM_MIN_INSIDE` of the
    rim in the image."""
    centre = np.asarray(features.points["wheel_centre"], dtype=np.float64) * scale
    towards = camera.position - centre
    face = "rim_left" if towards[1] >= 0 else "rim_right"
    tilt = abs(towards[1]) / max(float(np.linalg.norm(towards)), 1e-12)
    if tilt < RIM_MIN_TILT:
        return None, f"the camera sees the wheel's faces edge-on (cos {tilt:.2f} < {RIM_MIN_TILT}); no rim ellipse"
    ring = features.segment_array([face])[:, 0] * scale
    inside = camera.projectable(ring)
    if inside.any():
        uv = camera.project(ring[inside])
        inside[inside] = (
            (uv[:, 0] >= 0) & (uv[:, 1] >= 0) & (uv[:, 0] <= camera.width - 1) & (uv[:, 1] <= camera.height - 1)
        )
    share = float(inside.mean())
    if share < RIM_MIN_INSIDE:
        return None, f"only {share:.0%} of the wheel's {face} is in the image (needs {RIM_MIN_INSIDE:.0%})"
    return face, ""


def _correspondences(
    request: CameraFitRequest, frame: ReferenceFrame, features: RigFeatures | None, say: NoticeFn
) -> Correspondences:
    """The points to fit: clicked first when asked, then read from the points file (its image size checked)."""
    height, width = frame.image.shape[:2]
    rig_points: Mapping[str, np.ndarray] = features.points if features is not None else {}
    if request.click:
        clicked = click_points(frame.image, list(rig_points))
        write_clicked_points(request.points, clicked, (width, height))
        say(Notice(f"wrote {len(clicked)} points to {request.points}"))
    corr = load_correspondences(request.points, rig_points, features.rig if features is not None else None)
    if corr.image_size is not None and tuple(corr.image_size) != (width, height):
        raise CameraFitError(
            f"{request.points}: image_size {list(corr.image_size)} differs from the frame {width}x{height}"
        )
    return corr


def fit_summary(camera: Camera, fit: CameraFit, corr: Correspondences, edges: bool, free_scale: bool) -> list[str]:
    """The fitted camera in a few lines: intrinsics, distortion, position, residuals per point, edges, scale."""
    distance = float(np.linalg.norm(camera.position - (corr.world * fit.scale).mean(axis=0)))
    lines = [
        f"camera {camera.name}: fx={camera.fx:.2f} fy={camera.fy:.2f} cx={camera.cx:.2f} cy={camera.cy:.2f}",
        "  distortion k1 k2 p1 p2 k3: " + " ".join(f"{v:.5f}" for v in camera.dist),
        "  position (m): " + " ".join(f"{v:.4f}" for v in camera.position) + f" ({distance:.3f} m from the points)",
        f"  points rms {fit.rms_px:.3f} px, max {float(np.max(fit.errors_px)):.3f} px",
    ]
    lines += [f"    {name}: {err:.3f} px" for name, err in zip(corr.names, fit.errors_px, strict=True)]
    if edges:
        lines.append(f"  edges rms {fit.edge_rms_px:.3f} px over {fit.edge_matches} samples")
    if free_scale:
        lines.append("  fitted world scale x y z: " + " ".join(f"{v:.4f}" for v in fit.scale))
    return lines


def _fitted_rig(
    spec: SceneSpec | None, options: FitOptions, fit: CameraFit
) -> tuple[tuple[float, float] | None, float | None]:
    """The open-field rig's size (and wall height when z was freed) scaled by the fitted world scale."""
    if spec is None or not options.free_scale or getattr(spec.rig, "type", None) != "openfield":
        return None, None
    size = (spec.rig.size[0] * fit.scale[0], spec.rig.size[1] * fit.scale[1])
    height = spec.rig.wall_height * fit.scale[2] if "z" in options.free_scale else None
    return size, height


def _view_problems(text: str, scene: Path, out_scene: Path | None, camera: Camera, say: NoticeFn) -> list[FitProblem]:
    """Would the fitted camera see the mouse? Builds the updated scene (problems building it are left to
    ``scene check``); the scene's other cameras are checked too, as the rig may have changed size under them."""
    try:
        spec = parse_scene_spec(text, source=out_scene or scene, base_dir=scene.parent)
        built = build_scene(spec)
    except SynthmouseError as exc:
        say(Notice(f"  (view check skipped: the updated scene does not build: {exc})", "note"))
        return []
    for other in built.cameras:
        if other.name != camera.name:
            for problem in scene_view_problems(built, other):
                say(
                    Notice(
                        f"note: camera {other.name!r} (not fitted) in the updated scene: {problem.text}; "
                        "move or remove it",
                        "warning",
                    )
                )
    return scene_view_problems(built, built.camera(camera.name))


def _write_overlay(
    path: Path,
    frame: ReferenceFrame,
    fit: CameraFit,
    camera: Camera,
    corr: Correspondences,
    segments: np.ndarray | None,
    features: RigFeatures | None,
    check: FitCheck,
) -> None:
    """The rig over the frame, titled NOT PLAUSIBLE when the check failed."""
    if segments is None:
        segments = features.segment_array() if features is not None else np.zeros((0, 2, 3))
    title = None if check.ok else f"NOT PLAUSIBLE: points rms {fit.rms_px:.1f} px, fx {camera.fx:.0f} px"
    save_png(path, draw_overlay(frame.image, fit, segments, corr, title=title))


def _refuse_implausible(request: CameraFitRequest, check: FitCheck, say: NoticeFn) -> None:
    """Name each failed check; raise unless ``force`` (then warn)."""
    if check.ok:
        return
    for problem in check.problems:
        say(Notice(f"  implausible: {problem.text}", "warning"))
    if not request.force:
        target = str(request.out_scene or request.scene or request.calibration or "the calibration")
        raise CameraFitError(check.message(target))
    say(Notice(f"warning: --force: writing a camera that fails the plausibility checks: {check.summary()}", "warning"))
