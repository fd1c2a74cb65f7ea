"""``synthmouse fit-camera`` and ``synthmouse fit-appearance``: match the user's real camera and video."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

TOP_VIEW_FLAGS = "--free-scale y --focal PX"
"""What a top view of a flat arena needs (see ``docs/appearance/README.md``)."""


def register(app: typer.Typer) -> None:
    """Add ``fit-camera`` and ``fit-appearance`` to the main app."""
    app.command("fit-camera")(fit_camera_command)
    app.command("fit-appearance")(fit_appearance_command)


class _Progress:
    """Rich progress bars, one per step (``"step: stage"`` updates the step's bar and shows the stage)."""

    def __enter__(self) -> _Progress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("{task.description:<44}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
        )
        self.progress.__enter__()
        self.tasks: dict[str, int] = {}
        return self

    def __call__(self, step: str, done: int, total: int) -> None:
        key = step.split(":")[0]
        if key not in self.tasks:
            self.tasks[key] = self.progress.add_task(step, total=total)
        self.progress.update(self.tasks[key], completed=done, total=total, description=step)

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)


def fit_camera_command(
    points: Annotated[
        Path,
        typer.Argument(
            help="Points file: where known rig points are in the video, YAML 'points: {floor_nw: [u, v], ...}' "
            "(pixels) or CSV name,u,v[,x,y,z]. Written by --propose (from the video's edges) or --click."
        ),
    ],
    video: Annotated[Path | None, typer.Option("--video", help="Video (its median frame is used).")] = None,
    image: Annotated[Path | None, typer.Option("--image", help="A single frame instead of --video.")] = None,
    scene: Annotated[
        Path | None,
        typer.Option("--scene", help="Scene file: its rig gives the rig points; the fitted camera is written into it."),
    ] = None,
    camera_name: Annotated[str, typer.Option("--camera", help="Camera name in the scene.")] = "top",
    propose: Annotated[
        bool,
        typer.Option(
            "--propose",
            help="Find the arena floor's corners in the median frame and write them to POINTS (plus a PNG "
            "to check them, --overlay or POINTS.png) instead of fitting.",
        ),
    ] = False,
    rig_size: Annotated[
        tuple[float, float] | None,
        typer.Option("--rig-size", help="Open-field inner floor size X Y in metres (without --scene)."),
    ] = None,
    wall_height: Annotated[float, typer.Option("--wall-height", help="Wall height in metres (without --scene).")] = 0.3,
    distortion: Annotated[str, typer.Option("--distortion", help="none, k1, k1k2 or k1k2k3.")] = "k1k2",
    focal: Annotated[
        float | None,
        typer.Option(
            "--focal",
            help="Fix the focal length (pixels): lens focal length / pixel size, e.g. 4 mm / 0.006 mm = 667. A "
            "straight-down view of a flat arena cannot determine it.",
        ),
    ] = None,
    camera_height: Annotated[
        float | None,
        typer.Option(
            "--camera-height",
            help="The lens's measured height above the floor (metres); settles what --focal settles.",
        ),
    ] = None,
    principal_point: Annotated[
        bool, typer.Option("--principal-point/--centred", help="Estimate cx, cy (else the image centre).")
    ] = False,
    free_scale: Annotated[
        str,
        typer.Option(
            "--free-scale",
            help="World axes whose scale is fitted, e.g. 'y' (the arena's aspect; x stays the scene's size) or 'yz'.",
        ),
    ] = "",
    edges: Annotated[bool, typer.Option("--edges/--no-edges", help="Refine on the median frame's edges.")] = True,
    segments: Annotated[
        str, typer.Option("--segments", help="Rig segments to align with edges (comma-separated).")
    ] = "floor_n,floor_e,floor_s,floor_w",
    click: Annotated[bool, typer.Option("--click", help="Click the rig points in a window (needs a display).")] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Write a fit that fails the plausibility checks (with a warning); with --propose, overwrite POINTS.",
        ),
    ] = False,
    out_scene: Annotated[
        Path | None,
        typer.Option("--out-scene", help="Write the updated scene here (default: update --scene in place)."),
    ] = None,
    calibration: Annotated[
        Path | None,
        typer.Option("--calibration", help="Also write an Anipose .toml or OpenCV .yaml calibration."),
    ] = None,
    overlay: Annotated[
        Path | None, typer.Option("--overlay", help="PNG of the rig (or the proposed points) over the frame.")
    ] = None,
    frames: Annotated[int, typer.Option("--frames", help="Video frames for the median.")] = 100,
) -> None:
    """Recover the real camera (intrinsics, radial distortion, pose) from rig points and the video's edges.

    First `--propose` the arena's corners (check the PNG it writes), then fit; a top view of a flat arena needs
    --free-scale y --focal PX (or --camera-height M). Implausible fits are refused, naming the flag to add.
    """
    import numpy as np

    from ..appearance.camera_fit import (
        Correspondences,
        FitOptions,
        check_fit,
        click_points,
        draw_overlay,
        edge_map,
        fit_camera,
        load_correspondences,
        openfield_features,
        rig_features,
        save_png,
        with_name,
    )
    from ..appearance.profile import AppearanceError

    spec = None
    if scene is not None:
        from ..scene.spec import load_scene_spec

        spec = load_scene_spec(scene)
        features = rig_features(spec.rig)
    elif rig_size is not None:
        features = openfield_features(rig_size, wall_height)
    else:
        features = None
    if propose and points.exists() and not force:
        raise AppearanceError(f"{points}: already exists; --propose overwrites it only with --force")
    if not (propose or click or points.is_file()):
        raise AppearanceError(
            f"{points}: points file not found; it says where known rig points are in the video. Propose it from "
            f"the video's edges: synthmouse fit-camera {points} --propose --video VIDEO --scene SCENE (then check "
            "the PNG it writes), or write it by hand: 'points: {floor_nw: [u, v], ...}' (docs/appearance)"
        )
    with _Progress() as progress:
        frame, source = _reference_frame(video, image, frames, progress)
    height, width = frame.shape[:2]
    if propose:
        _propose(points, frame, source, spec, features, camera_name, overlay, video, image, scene)
        return
    rig_points = features.points if features is not None else {}
    if click:
        clicked = click_points(frame, list(rig_points))
        _write_points(points, clicked, (width, height))
        typer.echo(f"wrote {len(clicked)} points to {points}")
    corr: Correspondences = load_correspondences(points, rig_points)
    if corr.image_size is not None and tuple(corr.image_size) != (width, height):
        raise AppearanceError(f"{points}: image_size {list(corr.image_size)} differs from the frame {width}x{height}")
    options = FitOptions(
        distortion=distortion,
        principal_point=principal_point,
        free_scale=tuple(free_scale),
        focal=focal,
        camera_height=camera_height,
    )
    segs = None
    emap = None
    if edges and features is not None:
        segs = features.segment_array([s.strip() for s in segments.split(",") if s.strip()])
        emap = edge_map(frame)
    with _Progress() as progress:
        fit = fit_camera(corr, width, height, options, emap, segs, name=camera_name, progress=progress)
    cam = with_name(fit.camera, camera_name)
    typer.echo(f"camera {cam.name}: fx={cam.fx:.2f} fy={cam.fy:.2f} cx={cam.cx:.2f} cy={cam.cy:.2f}")
    typer.echo("  distortion k1 k2 p1 p2 k3: " + " ".join(f"{v:.5f}" for v in cam.dist))
    typer.echo(
        "  position (m): "
        + " ".join(f"{v:.4f}" for v in cam.position)
        + f" ({float(np.linalg.norm(cam.position - (corr.world * fit.scale).mean(axis=0))):.3f} m from the points)"
    )
    typer.echo(f"  points rms {fit.rms_px:.3f} px, max {float(np.max(fit.errors_px)):.3f} px")
    for name, err in zip(corr.names, fit.errors_px, strict=True):
        typer.echo(f"    {name}: {err:.3f} px")
    if emap is not None:
        typer.echo(f"  edges rms {fit.edge_rms_px:.3f} px over {fit.edge_matches} samples")
    if options.free_scale:
        typer.echo("  fitted world scale x y z: " + " ".join(f"{v:.4f}" for v in fit.scale))
    new_size = new_height = None
    if spec is not None and options.free_scale and getattr(spec.rig, "type", None) == "openfield":
        new_size = (spec.rig.size[0] * fit.scale[0], spec.rig.size[1] * fit.scale[1])
        new_height = spec.rig.wall_height * fit.scale[2] if "z" in options.free_scale else None
        typer.echo(f"  rig size {new_size[0]:.4f} x {new_size[1]:.4f} m (x is the scene's; fix one length)")

    view = []
    if scene is not None:
        from ..appearance.camera_fit import scene_text_with_camera

        with _Progress() as progress:
            progress("checking the view (builds the scene)", 0, 1)
            view = _view_problems(scene_text_with_camera(scene, cam, new_size, new_height), scene, out_scene, cam)
            progress("checking the view (builds the scene)", 1, 1)
    check = check_fit(fit, corr, segs, extra=view)
    target = str(out_scene or scene or calibration or "the calibration")
    if overlay is not None:
        drawn = (
            segs if segs is not None else (features.segment_array() if features is not None else np.zeros((0, 2, 3)))
        )
        title = None if check.ok else f"NOT PLAUSIBLE: points rms {fit.rms_px:.1f} px, fx {cam.fx:.0f} px"
        save_png(overlay, draw_overlay(frame, fit, drawn, corr, title=title))
        typer.echo(f"wrote overlay {overlay}")
    if not check.ok:
        for problem in check.problems:
            typer.secho(f"  implausible: {problem.text}", fg=typer.colors.YELLOW, err=True)
        if not force:
            raise AppearanceError(check.message(target))
        typer.secho(
            f"warning: --force: writing a camera that fails the plausibility checks: {check.summary()}",
            fg=typer.colors.YELLOW,
            err=True,
        )
    if scene is not None:
        from ..appearance.camera_fit import write_camera_to_scene

        path = write_camera_to_scene(scene, cam, out_scene, new_size, new_height)
        typer.echo(f"wrote camera {cam.name!r} into {path} (the rest of the file unchanged)")
    if calibration is not None:
        from ..scene.calibration import save_cameras

        save_cameras([cam], calibration, metadata={"source": "synthmouse fit-camera"})
        typer.echo(f"wrote calibration {calibration}")


def _view_problems(text: str, scene: Path, out_scene: Path | None, camera) -> list:
    """Would the fitted camera see the mouse? Builds the updated scene (problems building it are left to
    ``scene check``)."""
    from ..appearance.camera_fit import scene_view_problems
    from ..errors import SynthmouseError
    from ..scene.build import build_scene
    from ..scene.spec import parse_scene_spec

    try:
        spec = parse_scene_spec(text, source=out_scene or scene, base_dir=scene.parent)
        built = build_scene(spec)
    except SynthmouseError as exc:
        typer.echo(f"  (view check skipped: the updated scene does not build: {exc})", err=True)
        return []
    for other in built.cameras:  # the rig may have changed size under the scene's other cameras
        if other.name != camera.name:
            for problem in scene_view_problems(built, other):
                typer.secho(
                    f"note: camera {other.name!r} (not fitted) in the updated scene: {problem.text}; move or remove it",
                    fg=typer.colors.YELLOW,
                    err=True,
                )
    return scene_view_problems(built, built.camera(camera.name))


def _propose(points, frame, source, spec, features, camera_name, overlay, video, image, scene) -> None:
    from ..appearance.camera_fit import save_png
    from ..appearance.corners import FLOOR_CORNERS, draw_proposal, propose_floor_corners, write_points_file
    from ..appearance.profile import AppearanceError

    if features is None or not all(n in features.points for n in FLOOR_CORNERS):
        raise AppearanceError(
            "fit-camera --propose finds an open-field arena's floor corners: give --scene with an openfield rig "
            "(or --rig-size X Y); for other rigs write the points file by hand (docs/appearance)"
        )
    height, width = frame.shape[:2]
    expected = _expected_corners(spec, camera_name, features, (width, height))
    proposal = propose_floor_corners(frame, expected)
    picture = overlay or points.with_suffix(".png")
    write_points_file(points, proposal, (width, height), source, features.points, picture)
    save_png(picture, draw_proposal(frame, proposal))
    typer.echo(f"proposed {len(proposal.points)} floor corners (named by {proposal.naming}):")
    for name, (u, v) in proposal.points.items():
        typer.echo(f"  {name}: [{u:.2f}, {v:.2f}]")
    typer.echo(
        "  side fits: "
        + ", ".join(
            f"{r:.2f} px rms over {n} edge points"
            for r, n in zip(proposal.side_rms_px, proposal.side_points, strict=True)
        )
    )
    typer.echo(f"wrote {points} and {picture}")
    where = f"--video {video}" if video is not None else f"--image {image}"
    typer.echo(
        f"next: open {picture} and check that each red cross sits where the floor meets the walls (edit {points} "
        f"if not), then fit; a top view of a flat arena needs the focal length in pixels (or --camera-height M):\n"
        f"  synthmouse fit-camera {points} {where} --scene {scene or 'SCENE'} --free-scale y --focal PX"
    )


def _expected_corners(spec, camera_name: str, features, size: tuple[int, int]) -> dict | None:
    """The floor corners projected through the scene's camera (its guess), in the video's pixel frame."""
    from ..appearance.corners import FLOOR_CORNERS

    if spec is None:
        return None
    entry = next((c for c in spec.cameras if c.name == camera_name), None)
    if entry is None:
        return None
    from ..scene.build import camera_from_spec

    try:
        cam = camera_from_spec(entry)
    except Exception:  # noqa: BLE001 - only a naming hint: fall back to compass names
        return None
    import numpy as np

    world = np.array([features.points[n] for n in FLOOR_CORNERS])
    if not cam.projectable(world).all():
        return None
    pix = cam.project(world) * [size[0] / cam.width, size[1] / cam.height]
    return {n: tuple(p) for n, p in zip(FLOOR_CORNERS, pix, strict=True)}


def fit_appearance_command(
    video: Annotated[Path, typer.Argument(help="The real video (or a folder of frames).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Profile folder to write (profile.yaml, plate.png).")] = Path(
        "appearance"
    ),
    scene: Annotated[
        Path | None,
        typer.Option(
            "--scene", help="Also write 'appearance: PROFILE' into this scene file (the rest kept as written)."
        ),
    ] = None,
    camera_name: Annotated[
        str | None,
        typer.Option("--camera", help="The scene camera the profile belongs to (needed with several cameras)."),
    ] = None,
    frames: Annotated[int, typer.Option("--frames", help="Frames to sample, evenly spread.")] = 200,
    backgrounds: Annotated[
        int, typer.Option("--backgrounds", help="Real frames (animal removed) to keep for background swaps.")
    ] = 8,
    threshold: Annotated[
        float | None,
        typer.Option("--threshold", help="Foreground threshold in grey levels (default automatic)."),
    ] = None,
) -> None:
    """Measure the video's look: background plate, animal intensities, noise, blur, vignetting,
    compression; with --scene, point the scene at the profile."""
    from ..appearance.estimate import fit_appearance, read_frames
    from ..appearance.profile import save_profile

    if scene is not None:
        from ..scene.spec import load_scene_spec

        spec = load_scene_spec(scene)  # fail before the long part
        camera_name = _profile_camera(spec, scene, camera_name)
    with _Progress() as progress:
        data = read_frames(video, frames, progress=progress)
        profile = fit_appearance(
            data, source=str(video), backgrounds=backgrounds, threshold=threshold, progress=progress
        )
    path = save_profile(profile, out)
    s = profile.stats
    typer.echo(f"profile: {path} ({s.frames_used} frames, {s.width}x{s.height}, {s.channels} channel(s))")
    typer.echo(
        f"  floor level {s.floor_level:.1f}, mean {s.levels.mean:.1f}, contrast {s.levels.std:.1f}, "
        f"gamma {s.levels.gamma:.2f}"
    )
    typer.echo(
        f"  animal: mean {s.animal.mean:.1f} std {s.animal.std:.1f}, area {s.animal.area_px:.0f} px "
        f"({s.animal.frames_with_animal} frames)"
    )
    typer.echo(
        f"  noise sigma^2 = {s.noise.a:.3f} + {s.noise.b:.4f} I; blur defocus {s.blur.defocus_sigma:.2f} "
        f"px, motion {s.blur.motion_sigma:.2f} px"
    )
    typer.echo(
        f"  vignetting k1 {s.vignetting.k1:.3f} k2 {s.vignetting.k2:.3f}; compression blockiness "
        f"{s.compression.blockiness:.3f} (JPEG ~{s.compression.jpeg_quality}); shadow "
        f"{s.shadow.strength:.3f} over {s.shadow.radius_px:.1f} px"
    )
    if scene is None:
        typer.echo(f"to use it, add this line to your scene file: appearance: {path}")
        typer.echo("  (a path relative to the scene file's folder; with several cameras {CAMERA: PATH})")
        return
    from ..appearance.scene_edit import write_appearance_to_scene

    line, size_note = write_appearance_to_scene(scene, path, camera_name, (s.width, s.height))
    typer.echo(f"wrote '{line}' into {scene} (the rest of the file unchanged)")
    if size_note:
        typer.secho(f"note: {size_note}", fg=typer.colors.YELLOW, err=True)


def _profile_camera(spec, scene: Path, camera_name: str | None) -> str | None:
    """The camera the profile goes to: ``--camera``, the only camera, or an error naming the choices."""
    from ..appearance.profile import AppearanceError

    names = [c.name for c in spec.cameras]
    if camera_name is not None:
        if camera_name not in names:
            raise AppearanceError(f"{scene}: no camera named {camera_name!r}; cameras: {', '.join(names)}")
        return camera_name
    if len(names) == 1:
        return None
    raise AppearanceError(
        f"{scene}: the scene has {len(names)} cameras ({', '.join(names)}); name the one this video is from "
        "with --camera (a profile matches one camera's view)"
    )


def _reference_frame(video: Path | None, image: Path | None, frames: int, progress=None):
    """The median frame of the video, or the image, as ``(H, W, 3) uint8`` RGB, and a description of it."""
    import cv2
    import numpy as np

    from ..appearance.estimate import read_frames
    from ..appearance.profile import AppearanceError

    if (video is None) == (image is None):
        raise AppearanceError("fit-camera: give exactly one of --video or --image")
    if video is not None:
        data = read_frames(video, frames, progress=progress)
        median = np.median(data, axis=0).astype(np.uint8)
        source = f"{video} (median of {len(data)} frames)"
    else:
        raw = cv2.imread(str(image), cv2.IMREAD_COLOR)
        if raw is None:
            raise AppearanceError(f"{image}: not a readable image")
        median = cv2.cvtColor(raw, cv2.COLOR_BGR2RGB)
        source = str(image)
    if median.shape[-1] == 1:
        median = np.repeat(median, 3, axis=-1)
    return median, source


def _write_points(path: Path, points: dict, size: tuple[int, int]) -> None:
    import yaml

    from ..fileio import atomic_open

    data = {
        "image_size": list(size),
        "points": {k: [round(u, 2), round(v, 2)] for k, (u, v) in points.items()},
    }
    with atomic_open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle, sort_keys=False, default_flow_style=None)
