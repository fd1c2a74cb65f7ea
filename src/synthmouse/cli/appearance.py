"""``synthmouse fit-camera`` and ``synthmouse fit-appearance``: match the user's real camera and video."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from ..scene.camera_fit import Notice, ReferenceFrame

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
    camera_name: Annotated[
        str | None,
        typer.Option(
            "--camera",
            help="The scene camera to fit (the fitted camera replaces it; default: the scene's only camera), or "
            "without --scene the fitted camera's name (default: top).",
        ),
    ] = None,
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
        str | None,
        typer.Option(
            "--segments",
            help="Rig segments to align with edges (comma-separated; default: an open field's floor_n,floor_e,"
            "floor_s,floor_w, a wheel's rim on the face nearer the camera: rim_left or rim_right).",
        ),
    ] = None,
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
    from functools import partial

    from ..scene.camera_fit import CameraFitRequest, FitOptions, fit_camera

    request = CameraFitRequest(
        points=points,
        frame=partial(_reference_frame, video, image, frames),
        scene=scene,
        camera_name=camera_name,
        propose=propose,
        click=click,
        rig_size=rig_size,
        wall_height=wall_height,
        options=FitOptions(
            distortion=distortion,
            principal_point=principal_point,
            free_scale=tuple(free_scale),
            focal=focal,
            camera_height=camera_height,
        ),
        edges=edges,
        segments=tuple(s.strip() for s in segments.split(",") if s.strip()) if segments is not None else None,
        force=force,
        out_scene=out_scene,
        calibration=calibration,
        overlay=overlay,
    )
    with _Progress() as progress:
        result = fit_camera(request, progress=progress, notify=_print_notice)
    if result.proposal is not None:
        where = f"--video {video}" if video is not None else f"--image {image}"
        typer.echo(
            f"next: open {result.overlay} and check that each red cross sits where the floor meets the walls (edit "
            f"{points} if not), then fit; a top view of a flat arena needs the focal length in pixels (or "
            f"--camera-height M):\n  synthmouse fit-camera {points} {where} --scene {scene or 'SCENE'} --free-scale y "
            "--focal PX"
        )


def _print_notice(notice: Notice) -> None:
    """Print a :class:`synthmouse.scene.camera_fit.Notice`: results on stdout, notes and warnings on stderr."""
    if notice.level == "warning":
        typer.secho(notice.text, fg=typer.colors.YELLOW, err=True)
    else:
        typer.echo(notice.text, err=notice.level == "note")


def fit_appearance_command(
    video: Annotated[
        Path,
        typer.Argument(
            help="The real video, a folder of frames, or a labelled project (DeepLabCut, SLEAP .slp, Lightning "
            "Pose): for an animal that never leaves the frame, the labels mask it out of the plate.",
            metavar="PROJECT_OR_VIDEO",
        ),
    ],
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
    mask_radius: Annotated[
        float | None,
        typer.Option(
            "--mask-radius",
            help="Labelled projects: grow each frame's labelled keypoints' hull by this many pixels to mask the "
            "animal (default: half the keypoint spread, at least 3 % of the image diagonal).",
        ),
    ] = None,
    keypoints: Annotated[
        str | None,
        typer.Option(
            "--keypoints",
            help="Labelled projects: the keypoints on the animal, comma-separated (default all; leave out rig "
            "points such as a joystick's).",
        ),
    ] = None,
) -> None:
    """Measure the video's look: background plate, animal intensities, noise, blur, vignetting,
    compression; with --scene, point the scene at the profile.

    A labelled project gives the plate of an animal that never leaves the frame: the animal masked by its labels
    and what moves, the median of the rest, what is masked in every frame inpainted."""
    from ..appearance.estimate import (
        fit_appearance,
        fit_appearance_labelled,
        is_labelled_source,
        read_frames,
        read_labelled_frames,
    )
    from ..appearance.profile import save_profile

    if scene is not None:
        from ..scene.spec import load_scene_spec

        spec = load_scene_spec(scene)  # fail before the long part
        camera_name = _profile_camera(spec, scene, camera_name)
    with _Progress() as progress:
        if is_labelled_source(video):
            names = [k.strip() for k in keypoints.split(",") if k.strip()] if keypoints else None
            labelled = read_labelled_frames(video, frames, names, progress=progress)
            if labelled.left_out:
                typer.secho(
                    f"note: {labelled.left_out} labelled image(s) of another size than the "
                    f"{labelled.frames.shape[2]}x{labelled.frames.shape[1]} of the others left out",
                    fg=typer.colors.YELLOW,
                    err=True,
                )
            profile = fit_appearance_labelled(
                labelled, str(video), backgrounds, threshold, mask_radius, progress=progress
            )
        else:
            data = read_frames(video, frames, progress=progress)
            profile = fit_appearance(
                data, source=str(video), backgrounds=backgrounds, threshold=threshold, progress=progress
            )
    path = save_profile(profile, out)
    s = profile.stats
    typer.echo(f"profile: {path} ({s.frames_used} frames, {s.width}x{s.height}, {s.channels} channel(s))")
    if s.plate_fit is not None:
        typer.echo(
            f"  plate: animal masked by its labels (radius {s.plate_fit.mask_radius_px:.0f} px, "
            f"{100 * s.plate_fit.masked_share:.1f} % of a frame), {100 * s.plate_fit.inpainted_share:.1f} % "
            "inpainted (masked in every frame)"
        )
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
    from ..scene.camera_fit.scene_edit import write_appearance_to_scene

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


def _reference_frame(video: Path | None, image: Path | None, frames: int, progress=None) -> ReferenceFrame:
    """The median frame of the video, or the image, as a :class:`synthmouse.scene.camera_fit.ReferenceFrame`
    (``(H, W, 3) uint8`` RGB and a description of it)."""
    import cv2
    import numpy as np

    from ..appearance.estimate import read_frames
    from ..appearance.profile import AppearanceError
    from ..scene.camera_fit import ReferenceFrame

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
    return ReferenceFrame(median, source)
