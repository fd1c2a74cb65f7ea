"""``synthmouse fit-camera`` and ``synthmouse fit-appearance``: match the user's real camera and video."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add ``fit-camera`` and ``fit-appearance`` to the main app."""
    app.command("fit-camera")(fit_camera_command)
    app.command("fit-appearance")(fit_appearance_command)


def fit_camera_command(
    points: Annotated[
        Path,
        typer.Argument(
            help="Points file: YAML 'points: {floor_nw: [u, v], ...}' or CSV "
            "name,u,v[,x,y,z]. With --click it is written."
        ),
    ],
    video: Annotated[Path | None, typer.Option("--video", help="Video (its median frame is used).")] = None,
    image: Annotated[Path | None, typer.Option("--image", help="A single frame instead of --video.")] = None,
    scene: Annotated[
        Path | None,
        typer.Option(
            "--scene", help="Scene file: its rig gives the rig points; the fitted camera is written into it."
        ),
    ] = None,
    camera_name: Annotated[str, typer.Option("--camera", help="Camera name in the scene.")] = "top",
    rig_size: Annotated[
        tuple[float, float] | None,
        typer.Option("--rig-size", help="Open-field inner floor size X Y in metres (without --scene)."),
    ] = None,
    wall_height: Annotated[
        float, typer.Option("--wall-height", help="Wall height in metres (without --scene).")
    ] = 0.3,
    distortion: Annotated[str, typer.Option("--distortion", help="none, k1, k1k2 or k1k2k3.")] = "k1k2",
    focal: Annotated[
        float | None,
        typer.Option(
            "--focal",
            help="Fix the focal length (pixels); a straight-down view of a flat arena cannot determine it.",
        ),
    ] = None,
    principal_point: Annotated[
        bool, typer.Option("--principal-point/--centred", help="Estimate cx, cy (else the image centre).")
    ] = False,
    free_scale: Annotated[
        str,
        typer.Option(
            "--free-scale", help="World axes whose scale is fitted, e.g. 'y' (arena aspect) or 'yz'."
        ),
    ] = "",
    edges: Annotated[
        bool, typer.Option("--edges/--no-edges", help="Refine on the median frame's edges.")
    ] = True,
    segments: Annotated[
        str, typer.Option("--segments", help="Rig segments to align with edges (comma-separated).")
    ] = "floor_n,floor_e,floor_s,floor_w",
    click: Annotated[
        bool, typer.Option("--click", help="Click the rig points in a window (needs a display).")
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
        Path | None, typer.Option("--overlay", help="PNG of the rig drawn over the frame.")
    ] = None,
    frames: Annotated[int, typer.Option("--frames", help="Video frames for the median.")] = 100,
) -> None:
    """Recover the real camera (intrinsics, radial distortion, pose) from rig points and the video's edges."""
    import numpy as np

    from ..appearance.camera_fit import (
        Correspondences,
        FitOptions,
        click_points,
        draw_overlay,
        edge_map,
        fit_camera,
        load_correspondences,
        openfield_features,
        rig_features,
        save_png,
        with_name,
        write_camera_to_scene,
    )
    from ..appearance.estimate import read_frames
    from ..appearance.profile import AppearanceError

    frame = _reference_frame(video, image, frames, read_frames)
    height, width = frame.shape[:2]
    if scene is not None:
        from ..scene.spec import load_scene_spec

        spec = load_scene_spec(scene)
        features = rig_features(spec.rig)
    elif rig_size is not None:
        features = openfield_features(rig_size, wall_height)
    else:
        features = None
    rig_points = features.points if features is not None else {}
    if click:
        clicked = click_points(frame, list(rig_points))
        _write_points(points, clicked, (width, height))
        typer.echo(f"wrote {len(clicked)} points to {points}")
    corr: Correspondences = load_correspondences(points, rig_points)
    if corr.image_size is not None and tuple(corr.image_size) != (width, height):
        raise AppearanceError(
            f"{points}: image_size {list(corr.image_size)} differs from the frame {width}x{height}"
        )
    options = FitOptions(
        distortion=distortion, principal_point=principal_point, free_scale=tuple(free_scale), focal=focal
    )
    segs = None
    emap = None
    if edges and features is not None:
        segs = features.segment_array([s.strip() for s in segments.split(",") if s.strip()])
        emap = edge_map(frame)
    fit = fit_camera(corr, width, height, options, emap, segs, name=camera_name)
    cam = with_name(fit.camera, camera_name)
    typer.echo(f"camera {cam.name}: fx={cam.fx:.2f} fy={cam.fy:.2f} cx={cam.cx:.2f} cy={cam.cy:.2f}")
    typer.echo("  distortion k1 k2 p1 p2 k3: " + " ".join(f"{v:.5f}" for v in cam.dist))
    typer.echo("  position (m): " + " ".join(f"{v:.4f}" for v in cam.position))
    typer.echo(f"  points rms {fit.rms_px:.3f} px, max {float(np.max(fit.errors_px)):.3f} px")
    for name, err in zip(corr.names, fit.errors_px, strict=True):
        typer.echo(f"    {name}: {err:.3f} px")
    if emap is not None:
        typer.echo(f"  edges rms {fit.edge_rms_px:.3f} px over {fit.edge_matches} samples")
    if options.free_scale:
        typer.echo("  fitted world scale x y z: " + " ".join(f"{v:.4f}" for v in fit.scale))
    new_size = new_height = None
    if scene is not None and options.free_scale and getattr(spec.rig, "type", None) == "openfield":
        new_size = (spec.rig.size[0] * fit.scale[0], spec.rig.size[1] * fit.scale[1])
        new_height = spec.rig.wall_height * fit.scale[2] if "z" in options.free_scale else None
    if scene is not None:
        path = write_camera_to_scene(scene, cam, out_scene, new_size, new_height)
        typer.echo(f"wrote camera {cam.name!r} into {path}")
    if calibration is not None:
        from ..scene.calibration import save_cameras

        save_cameras([cam], calibration, metadata={"source": "synthmouse fit-camera"})
        typer.echo(f"wrote calibration {calibration}")
    if overlay is not None:
        drawn = (
            segs
            if segs is not None
            else (features.segment_array() if features is not None else np.zeros((0, 2, 3)))
        )
        save_png(overlay, draw_overlay(frame, fit, drawn, corr))
        typer.echo(f"wrote overlay {overlay}")


def fit_appearance_command(
    video: Annotated[Path, typer.Argument(help="The real video (or a folder of frames).")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Profile folder to write (profile.yaml, plate.png).")
    ] = Path("appearance"),
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
    compression."""
    from ..appearance.estimate import fit_appearance, read_frames
    from ..appearance.profile import save_profile

    data = read_frames(video, frames)
    profile = fit_appearance(data, source=str(video), backgrounds=backgrounds, threshold=threshold)
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


def _reference_frame(video: Path | None, image: Path | None, frames: int, read_frames):
    """The median frame of the video, or the image, as ``(H, W, 3) uint8`` RGB."""
    import cv2
    import numpy as np

    from ..appearance.profile import AppearanceError

    if (video is None) == (image is None):
        raise AppearanceError("fit-camera: give exactly one of --video or --image")
    if video is not None:
        data = read_frames(video, frames)
        median = np.median(data, axis=0).astype(np.uint8)
    else:
        raw = cv2.imread(str(image), cv2.IMREAD_COLOR)
        if raw is None:
            raise AppearanceError(f"{image}: not a readable image")
        median = cv2.cvtColor(raw, cv2.COLOR_BGR2RGB)
    if median.shape[-1] == 1:
        median = np.repeat(median, 3, axis=-1)
    return median


def _write_points(path: Path, points: dict, size: tuple[int, int]) -> None:
    import yaml

    from ..fileio import atomic_open

    data = {
        "image_size": list(size),
        "points": {k: [round(u, 2), round(v, 2)] for k, (u, v) in points.items()},
    }
    with atomic_open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle, sort_keys=False, default_flow_style=None)
