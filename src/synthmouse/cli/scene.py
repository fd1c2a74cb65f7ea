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
    scene_app.command("fit-head")(fit_head)
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
    for line in scene_summary(scene) + motion_summary(provider.mix, spec.motion) + head_placement_lines(scene):
        typer.echo(line)
    typer.echo(f"{file}: OK")


def head_placement_lines(scene) -> list[str]:
    """Where the head bar, head and nose are at the rest stance of a head-fixed scene (world mm, pixels per
    camera; :func:`synthmouse.scene.head_fit.head_placement`), or no lines when the mouse is not held."""
    from ..scene.head_fit import head_placement, placement_lines

    placement = head_placement(scene)
    return [] if placement is None else placement_lines(placement)


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
    seed: Annotated[
        int | None,
        typer.Option("--seed", min=0, help="Motion seed (default 0; with --as-generated the scene's seed)."),
    ] = None,
    as_generated: Annotated[
        bool,
        typer.Option(
            "--as-generated",
            help="Render frame --frame exactly as `generate` makes it (motion, randomization, appearance "
            "profile): <camera>.png (or .jpg) has the dataset image's bytes; the overlay goes to "
            "<camera>.keypoints.png.",
        ),
    ] = False,
) -> None:
    """Render one pose from every camera (a preview) and write ``<camera>.png`` files; for a head-fixed rig,
    print where the head bar, head and nose are at the rest stance (world mm and pixels)."""
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
    if as_generated:
        if pose != "motion":
            raise SceneError("--as-generated renders the scene's motion: leave out --pose rest")
        render_as_generated(spec, file.stem, frame, seed, out, prefix, overlay)
        return
    seed = 0 if seed is None else seed
    scene = build_scene(spec)
    for line in head_placement_lines(scene):
        typer.echo(line)
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


def render_as_generated(spec, name: str, frame: int, seed: int | None, out: Path, prefix: str, overlay: bool) -> None:
    """Frame ``frame`` of the scene rendered by the frame source ``generate`` uses
    (:meth:`synthmouse.dataset.scene_source.SceneFrameSource.render`), so each ``<prefix><camera>.<format>`` has
    the bytes of the dataset's image for the same scene and seed (the scene's ``outputs.format`` and
    ``jpeg_quality``); with ``overlay`` the keypoints are drawn into ``<prefix><camera>.keypoints.png``."""
    import cv2

    from ..dataset.generation import check_seed
    from ..dataset.images import encode_image, write_image
    from ..dataset.scene_source import source_from_spec
    from ..fileio import atomic_path

    seed = check_seed(spec.seed if seed is None else seed)
    fmt, quality = str(spec.outputs.format), int(spec.outputs.jpeg_quality)
    source = source_from_spec(spec, name, seed)
    try:
        result = source.render(frame)
    finally:
        source.close()
    scene = source.scene
    for line in head_placement_lines(scene) + [frame_params_line(frame, seed, result.params)]:
        typer.echo(line)
    out.mkdir(parents=True, exist_ok=True)
    kset = scene.keypoint_set
    for view in result.views:
        path = out / f"{prefix}{view.camera}.{fmt}"
        write_image(path, encode_image(view.rgb, fmt, quality))
        typer.echo(f"wrote {path} ({int(view.visible.sum())}/{len(view.visible)} keypoints visible)")
        if overlay:
            marked = out / f"{prefix}{view.camera}.keypoints.png"
            with atomic_path(marked) as tmp:
                image = draw_keypoints(view, len(kset), kset.edge_indices)
                cv2.imwrite(str(tmp), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
            typer.echo(f"wrote {marked}")


def frame_params_line(frame: int, seed: int, params: dict) -> str:
    """One line with the values frame ``frame`` was made with (its ``frames.csv`` row: motion generator,
    segment, randomized values)."""
    values = ", ".join(f"{k} {_value(v)}" for k, v in params.items())
    return f"frame {frame} (seed {seed}): {values}"


def _value(value) -> str:
    import numpy as np

    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    if isinstance(value, (list, tuple, np.ndarray)):
        return _fmt(value)
    return str(value)


def fit_head(
    file: Annotated[Path, typer.Argument(help="Scene file (YAML) of a head-fixed rig.")],
    real: Annotated[
        Path, typer.Option("--real", help="Labelled frames of the camera (DeepLabCut, SLEAP, Lightning Pose).")
    ],
    mapping: Annotated[
        list[str] | None,
        typer.Option("--map", help="REAL=SYNTHETIC keypoint names where they differ (repeat, or comma-separated)."),
    ] = None,
    camera: Annotated[
        str | None, typer.Option("--camera", help="The scene camera the labels are in (default: the only one).")
    ] = None,
    write: Annotated[
        bool, typer.Option("--write", help="Write motion.head_fixed {position, pitch} into the scene file.")
    ] = False,
) -> None:
    """Fit ``motion.head_fixed`` (position and pitch) so that the rest stance's keypoints project onto the
    median labelled positions (least squares); print the values, and with --write put them into the scene."""
    from ..io.labels import read_labels
    from ..io.mapping import match_keypoints, parse_mapping
    from ..scene.build import build_scene
    from ..scene.head_fit import fit_head as fit
    from ..scene.head_fit import head_placement
    from ..scene.spec import load_scene_spec

    spec = load_scene_spec(file)
    scene = build_scene(spec)
    cam = scene.camera(camera) if camera is not None else only_camera(scene)
    labels = read_labels(real)
    pairs = match_keypoints(labels.names, scene.keypoint_names, parse_mapping(mapping), synthetic_what="the scene")
    targets = median_targets(labels, pairs)
    result = fit(scene, cam, targets, head_placement(scene))
    position = [round(float(v), 5) for v in result.position]
    pitch = round(result.pitch_deg, 2)
    typer.echo(f"fitted on {len(targets)} keypoints (medians of {len(labels)} labelled frames) in camera {cam.name}")
    for name, error in zip(result.names, result.residuals_px, strict=True):
        typer.echo(f"  {name}: {error:.1f} px")
    typer.echo(f"rms {result.rms_px:.2f} px")
    typer.echo(f"motion.head_fixed: {{position: {position}, pitch: {pitch}}}")
    if write:
        typer.echo(write_head_fixed(file, scene, {"position": position, "pitch": pitch}))


def only_camera(scene):
    """The scene's camera when it has one; else a SceneError asking for --camera."""
    if len(scene.cameras) != 1:
        names = ", ".join(c.name for c in scene.cameras)
        raise SceneError(f"{scene.spec.source}: {len(scene.cameras)} cameras ({names}); choose one with --camera")
    return scene.cameras[0]


def median_targets(labels, pairs) -> dict:
    """Synthetic name -> ``(2,)`` median labelled pixel over the frames, for the ``(real, synthetic)`` pairs
    labelled at least once.

    Raises:
        SceneError: no keypoint of the labels matches the scene's.
    """
    import numpy as np

    index = {n: i for i, n in enumerate(labels.names)}
    targets = {}
    for real_name, synthetic in pairs:
        xy = labels.xy[:, index[real_name]]
        xy = xy[np.all(np.isfinite(xy), axis=1)]
        if len(xy):
            targets[synthetic] = np.median(xy, axis=0)
    if not targets:
        raise SceneError(
            f"{labels.source}: no labelled keypoint matches the scene's keypoints ({', '.join(labels.names)}); "
            "name them with --map REAL=SYNTHETIC"
        )
    return targets


def write_head_fixed(file: Path, scene, values: dict) -> str:
    """Put ``head_fixed`` ``values`` into the scene file's inline motion mix (the default mix's generators
    written out when the scene has no ``motion:``); the rest of the file as written. Returns what was done.

    Raises:
        SceneError: the scene's motion is a mix file (edit that file).
    """
    from ..fileio import atomic_path
    from ..motion.mix import default_mix
    from ..scene.camera_fit.scene_edit import edit_mapping, find_node
    from ..scene.spec import parse_scene_spec

    text = file.read_text(encoding="utf-8")
    motion = scene.spec.motion
    if isinstance(motion, Path):
        raise SceneError(f"{file}: motion is the mix file {motion}; write head_fixed: {values} into that file")
    if motion is None or find_node(text, ["motion"], str(file)) is None:
        text = text.rstrip("\n") + "\n" + default_motion_block(default_mix(scene.stage)["generators"], values)
    else:
        text = edit_mapping(text, ["motion"], {"head_fixed": values}, source=str(file))
    parse_scene_spec(text, source=file)  # validated before it is written
    with atomic_path(file) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return f"wrote motion.head_fixed into {file}"


def default_motion_block(generators: list, head_fixed: dict) -> str:
    """A ``motion:`` section (YAML text) with the rig's default ``generators`` and ``head_fixed``."""
    from ..scene.camera_fit.scene_edit import format_value

    lines = [
        "motion:  # written by scene fit-head: the rig's default mix, with the fitted head fixation",
        "  generators:",
    ]
    lines += [f"    - {format_value(g)}" for g in generators]
    lines.append(f"  head_fixed: {format_value(head_fixed)}")
    return "\n".join(lines) + "\n"


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
