"""``synthmouse scene``: check scene files, start one from a template, render a preview."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from ..errors import OutputError, SceneError

TEMPLATES = ("wheel", "openfield", "treadmill", "platform")


def register(app: typer.Typer) -> None:
    """Add the ``scene`` command group to the main app."""
    scene_app = typer.Typer(help="Scene files: validate, start from a template, preview.", no_args_is_help=True)
    scene_app.command("check")(check)
    scene_app.command("new")(new)
    scene_app.command("render")(render)
    app.add_typer(scene_app, name="scene")


def check(
    file: Annotated[Path, typer.Argument(help="Scene file (YAML).")],
    build: Annotated[
        bool, typer.Option("--build/--no-build", help="Also load the body, rig meshes and calibration files.")
    ] = True,
) -> None:
    """Validate a scene file (the motion mix too) and print a summary of what it describes.

    Every problem is one ``error:`` line naming the file, line, field, value and what is allowed (exit code 2).
    """
    from ..scene.spec import load_scene_spec

    spec = load_scene_spec(file)
    check_motion_section(spec)
    if not build:
        typer.echo(f"{file}: valid ({len(spec.cameras)} cameras, rig {spec.rig.type}, body {spec.body.model})")
        return
    from ..errors import SynthmouseError
    from ..scene.build import build_scene

    try:
        scene = build_scene(spec)
        provider = build_scene_motion(scene)
    except SynthmouseError:
        raise
    except Exception as exc:  # a scene that validates but cannot be built: say so on one line, not a traceback
        from ..io.yamlio import one_line

        raise SceneError(
            one_line(
                f"{file}: the scene validates but cannot be built: {type(exc).__name__}: {exc} (run "
                "`synthmouse --debug scene check` for the traceback, and please report it)"
            )
        ) from exc
    for line in scene_summary(scene) + motion_summary(provider.mix, spec.motion):
        typer.echo(line)
    typer.echo(f"{file}: OK")


def check_motion_section(spec):
    """The scene's motion mix: the inline one (validated with the scene), or its mix file read and validated
    (:func:`synthmouse.scene.spec.motion_mix`); None without ``motion:``.

    Raises:
        SceneError: for a mix file, the scene's ``motion`` line followed by the file's own error.
    """
    from ..scene.spec import motion_mix  # the CLI loads command modules lazily (start-up time)

    return motion_mix(spec)


def build_scene_motion(scene):
    """The scene's motion mix bound to its body and stage (:func:`synthmouse.scene.motion_binding.scene_motion`, as
    ``generate`` builds it), with frame 0 sampled once so a mix the body or rig cannot play fails here.

    Raises:
        SceneError: naming the scene file and ``motion`` (sections filled in from the rig included).
    """
    from ..errors import SynthmouseError
    from ..scene.motion_binding import scene_motion

    spec = scene.spec
    try:
        provider = scene_motion(scene, spec.seed)
        provider.sample(0)
    except SynthmouseError as exc:
        source = "the default mix for the rig" if spec.motion is None else "the mix"
        raise spec.error("motion", f"{source} cannot be built for this scene: {exc}") from None
    return provider


def motion_summary(mix, written) -> list[str]:
    """Lines describing a mix bound to a scene (a :class:`~synthmouse.motion.mix.MotionMix`; ``written``: the
    scene's ``motion`` value, None for the default)."""
    source = "default mix for the rig" if written is None else (written if isinstance(written, Path) else "inline")
    generators, stage = mix.spec.generators, mix.stage
    total = sum(g.weight for g in generators)
    head = f"motion: {source}, {mix.spec.fps:g} fps, support {stage.support.kind}"
    head += ", head-fixed" if stage.head_fixed is not None else ""
    gens = ", ".join(f"{g.label} ({g.type}, {g.weight / total:.0%})" for g in generators)
    return [head, f"  {len(generators)} generators: {gens}"]


def scene_summary(scene) -> list[str]:
    """Human-readable lines describing a built scene."""
    body = scene.body
    lines = [
        f"body: {body.name} ({body.source or scene.spec.body.model}), {body.mesh.n_vertices} vertices, "
        f"length {body.length * 1000:.1f} mm, fur {scene.spec.body.fur}",
        f"keypoints: {scene.keypoint_set.name} ({len(scene.keypoint_set)}): " + ", ".join(scene.keypoint_set.names),
        f"body origin: {_fmt(scene.body_root[:3, 3])} m",
        f"rig: {scene.spec.rig.type}, {len(scene.rig)} parts: "
        + ", ".join(f"{m.name} [{m.material}]" for m in scene.rig),
    ]
    for cam in scene.cameras:
        dist = "" if not cam.has_distortion else f", distortion {_fmt(cam.dist)}"
        lines.append(
            f"camera {cam.name}: {cam.width}x{cam.height}, fx {cam.fx:.1f} fy {cam.fy:.1f}, "
            f"centre ({cam.cx:.1f}, {cam.cy:.1f}), at {_fmt(cam.position)} m{dist}"
            f"{', grayscale' if cam.grayscale else ''}"
        )
    for sm in scene.mirrors:
        lines.append(
            f"mirror {sm.name}: {len(sm.mirror.corners)} corners, normal {_fmt(sm.mirror.normal)}, "
            f"keypoint suffix {sm.suffix!r}"
        )
    for light in scene.lights:
        lines.append(f"light {light.kind}: intensity {light.intensity:g}{', shadows' if light.shadows else ''}")
    out = scene.spec.outputs
    lines.append(f"outputs: {out.format}, ground truth {', '.join(out.ground_truth)}")
    return lines


def _fmt(values) -> str:
    return "[" + ", ".join(f"{float(v):.4g}" for v in values) + "]"


def new(
    rig: Annotated[
        str | None,
        typer.Option("--rig", help=f"Starter rig: {', '.join(TEMPLATES)} (default openfield, or the guess of --like)."),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the file here instead of printing it.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing --out file.")] = False,
    like: Annotated[
        Path | None,
        typer.Option(
            "--like",
            help="A DeepLabCut project, SLEAP .slp or Lightning Pose CSV: its keypoint names, cameras "
            "(count, image size) and a rig guessed from its view, so report/train/evaluate need no --map.",
        ),
    ] = None,
) -> None:
    """Print (or write) a commented starter scene file that renders as it is."""
    if like is not None:
        from ..dataset.like import new_scene_like

        for line in new_scene_like(like, out, rig=rig, force=force):
            typer.echo(line)
        return
    text = template_text(rig or "openfield")
    if out is None:
        typer.echo(text, nl=False)
        return
    if out.exists() and not force:
        raise OutputError(f"{out}: exists; pass --force to overwrite it")
    from ..fileio import atomic_open

    with atomic_open(out, "w", encoding="utf-8") as handle:
        handle.write(text)
    typer.echo(f"wrote {out}")


def template_text(rig: str) -> str:
    """The starter scene file for ``rig``."""
    if rig not in TEMPLATES:
        raise SceneError(f"--rig {rig!r}: no such template; allowed: {', '.join(TEMPLATES)}")
    return resources.files("synthmouse.scene").joinpath("templates", f"{rig}.yaml").read_text(encoding="utf-8")


def render(
    file: Annotated[Path, typer.Argument(help="Scene file (YAML).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the images.")] = Path("."),
    body: Annotated[str | None, typer.Option("--body", help="Use this body model instead of the file's.")] = None,
    overlay: Annotated[bool, typer.Option("--overlay/--no-overlay", help="Draw the keypoints.")] = True,
    prefix: Annotated[str, typer.Option("--prefix", help="File name prefix.")] = "",
    pose: Annotated[
        str,
        typer.Option(
            "--pose",
            help="'motion': a frame of the scene's motion (head-fixed on a "
            "wheel, walking in an open field ...); 'rest': the model's rest pose.",
        ),
    ] = "motion",
    frame: Annotated[int, typer.Option("--frame", min=0, help="Motion frame to render.")] = 0,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Motion seed.")] = 0,
) -> None:
    """Render one pose from every camera (a preview) and write ``<camera>.png`` files."""
    import cv2

    from ..fileio import atomic_path
    from ..render.gl import GLRenderer
    from ..scene.build import build_scene
    from ..scene.spec import load_scene_spec

    spec = load_scene_spec(file)
    if body is not None:
        spec.body.model = body
    if pose not in ("motion", "rest"):
        raise SceneError(f"--pose {pose!r}: allowed values are 'motion' and 'rest'")
    scene = build_scene(spec)
    if pose == "rest":
        shown = scene.rest_pose()
    else:
        from ..scene.motion_binding import scene_motion

        shown = scene.place(scene_motion(scene, seed).sample(frame)[0])
    with GLRenderer() as renderer:
        result = renderer.render(scene, shown)
    out.mkdir(parents=True, exist_ok=True)
    for view in result.views:
        kset = scene.keypoint_set
        image = draw_keypoints(view, len(kset), kset.edge_indices) if overlay else view.rgb
        path = out / f"{prefix}{view.camera}.png"
        with atomic_path(path) as tmp:
            cv2.imwrite(str(tmp), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        typer.echo(f"wrote {path} ({int(view.visible.sum())}/{len(view.visible)} keypoints visible)")


def draw_keypoints(view, n_keypoints: int | None = None, edges=None, radius: int = 3):
    """``view.rgb`` with the keypoints drawn: visible ones filled (green; mirror keypoints cyan), occluded
    ones as red (mirror: orange) rings, keypoints outside the image skipped; skeleton ``edges (E, 2)``
    (indices into the first ``n_keypoints``, repeated for each mirror's block) in grey between visible
    ends."""
    import cv2
    import numpy as np

    image = np.ascontiguousarray(view.rgb.copy())
    pts = np.asarray(view.keypoints, dtype=np.float64)
    k = len(pts)
    n_base = k if n_keypoints is None else n_keypoints
    h, w = image.shape[:2]
    inside = (
        np.all(np.isfinite(pts), axis=1)
        & (pts[:, 0] >= -0.5)
        & (pts[:, 1] >= -0.5)
        & (pts[:, 0] < w - 0.5)
        & (pts[:, 1] < h - 0.5)
    )
    shift = 4
    scaled = np.rint(np.nan_to_num(pts) * (1 << shift)).astype(np.int64)
    if edges is not None and len(edges):
        for offset in range(0, k, n_base):
            for a, b in np.asarray(edges) + offset:
                if b < k and view.visible[a] and view.visible[b]:
                    cv2.line(
                        image,
                        tuple(map(int, scaled[a])),
                        tuple(map(int, scaled[b])),
                        (200, 200, 200),
                        1,
                        cv2.LINE_AA,
                        shift,
                    )
    for i in np.flatnonzero(inside):
        mirror = i >= n_base
        centre = tuple(map(int, scaled[i]))
        if view.visible[i]:
            colour = (40, 220, 255) if mirror else (60, 230, 60)
            cv2.circle(image, centre, radius << shift, colour, -1, cv2.LINE_AA, shift)
        else:
            colour = (255, 140, 40) if mirror else (235, 50, 50)
            cv2.circle(image, centre, radius << shift, colour, 1, cv2.LINE_AA, shift)
    return image
