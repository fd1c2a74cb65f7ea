"""``synthmouse motion``: check a motion mix, sample poses from it, preview it as a contact sheet, and retarget
tracked keypoints (DeepLabCut, SLEAP, 3D CSV) onto the body."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

MODEL_HELP = "Body: parametric, sam, a SAM text folder, or a .gltf/.glb file."


def register(app: typer.Typer) -> None:
    """Add the ``motion`` command group to the main app."""
    motion_app = typer.Typer(help="Motion mixes: validate, sample and preview pose sequences.", no_args_is_help=True)
    motion_app.command("validate")(validate)
    motion_app.command("sample")(sample)
    motion_app.command("preview")(preview)
    motion_app.command("retarget")(retarget)
    app.add_typer(motion_app, name="motion")


def validate(mix: Annotated[Path, typer.Argument(help="Motion mix YAML file.")]) -> None:
    """Validate a motion mix file and list its generators."""
    from ..motion.mix import load_mix_spec

    spec = load_mix_spec(mix)
    total = sum(g.weight for g in spec.generators)
    typer.echo(f"{mix}: ok, support {spec.support.type}, {len(spec.generators)} generators:")
    for g in spec.generators:
        typer.echo(
            f"  {g.label:<16} {g.type:<11} weight {g.weight / total:5.1%}  "
            f"duration {g.duration[0]:g}-{g.duration[1]:g} s"
        )


def sample(
    mix: Annotated[Path, typer.Argument(help="Motion mix YAML file.")],
    out: Annotated[Path, typer.Option("--out", help="Output .npz (root, rotations, angles, segment, name).")],
    frames: Annotated[int, typer.Option("--frames", min=1, help="Number of frames.")] = 300,
    fps: Annotated[float | None, typer.Option("--fps", help="Frame rate (default: the mix's fps).")] = None,
    seed: Annotated[int, typer.Option("--seed", min=0)] = 0,
    start: Annotated[int, typer.Option("--start", min=0, help="First frame index.")] = 0,
    model: Annotated[str, typer.Option("--model", help=MODEL_HELP)] = "parametric",
) -> None:
    """Sample frames ``start .. start + frames - 1`` of a mix and save them (atomic write)."""
    import numpy as np

    from ..body import load_body
    from ..fileio import atomic_path
    from ..motion.mix import MotionMix

    body = load_body(model)
    m = MotionMix.from_yaml(mix, body)
    rate = fps or m.spec.fps
    angles, root, ids, names = m.frames(start, start + frames, rate, seed)
    with atomic_path(out) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(
            handle,
            root=root,
            angles=angles,
            segment=ids,
            name=np.array(names),
            fps=rate,
            seed=seed,
            start=start,
            joints=np.array(body.skeleton.names),
        )
    typer.echo(f"{out}: {frames} frames at {rate:g} fps, {len(set(ids.tolist()))} segments")


def preview(
    mix: Annotated[Path, typer.Argument(help="Motion mix YAML file.")],
    out: Annotated[Path, typer.Option("--out", help="Output PNG contact sheet.")] = Path("motion_preview.png"),
    seconds: Annotated[float, typer.Option("--seconds", help="Length of the clip shown.")] = 4.0,
    start: Annotated[float, typer.Option("--start", help="Start time (seconds) in the mix.")] = 0.0,
    panels: Annotated[int, typer.Option("--panels", min=1, max=30, help="Frames shown.")] = 10,
    fps: Annotated[float | None, typer.Option("--fps", help="Frame rate (default: the mix's fps).")] = None,
    seed: Annotated[int, typer.Option("--seed", min=0)] = 0,
    generator: Annotated[
        str | None,
        typer.Option("--generator", help="Show one generator of the mix alone (its name or type) instead of the mix."),
    ] = None,
    model: Annotated[str, typer.Option("--model", help=MODEL_HELP)] = "parametric",
) -> None:
    """Render a contact sheet (side and top views, following the animal, in the mix's rig) of a stretch of a mix."""
    import numpy as np

    from ..body import load_body
    from ..errors import SceneError
    from ..motion.mix import MotionMix
    from ..motion.preview import contact_sheet

    body = load_body(model)
    m = MotionMix.from_yaml(mix, body)
    rate = fps or m.spec.fps
    n = max(2, int(round(seconds * rate)))
    if generator is not None:
        match = [g for g in m.spec.generators if generator in (g.label, g.type)]
        if not match:
            raise SceneError(f"{mix}: no generator {generator!r}; the mix has {m.names}")
        clip = match[0].generate(m.rig, n, rate, np.random.default_rng(seed), m.stage)
        pose, title = clip.pose(), f"{match[0].label} ({body.name})"
    else:
        first = int(round(start * rate))
        pose, ids, names = m.sample(first + n, rate, seed)
        pose = pose[first:]
        title = f"{mix.name} seed {seed}: " + ", ".join(dict.fromkeys(names[first:]))
    start_time = first / rate if generator is None else 0.0
    try:
        from ..render.gl import GLUnavailableError
        from ..render.sheet import motion_sheet

        motion_sheet(
            body,
            pose,
            out,
            support=m.stage.support,
            frames=panels,
            fps=rate,
            start_time=start_time,
            title=title,
            follow=m.stage.head_fixed is None,
        )
    except (ImportError, GLUnavailableError) as exc:  # no OpenGL here: the flat matplotlib drawing instead
        typer.echo(f"no OpenGL renderer ({exc}); drawing the sheet with matplotlib", err=True)
        floor = m.stage.support.top if m.stage.support.kind != "wheel" else None
        contact_sheet(body, pose, out, frames=panels, fps=rate, title=title, floor=floor)
    typer.echo(f"{out}: {panels} panels over {n / rate:.2f} s")


# ---------------------------------------------------------------------------------------------- retarget
PREDICTION_SUFFIXES = (".h5", ".hdf5", ".csv", ".slp")


def retarget(
    inputs: Annotated[
        list[Path],
        typer.Argument(
            help="2D predictions, one file per camera (DeepLabCut .h5/.csv, "
            "SLEAP .slp), or one 3D keypoints .csv (metres)."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Output fit file (.npz).")],
    calibration: Annotated[
        Path | None,
        typer.Option(
            "--calibration", help="Camera calibration for 2D inputs (Anipose .toml, OpenCV .yaml/.yml/.json/.xml)."
        ),
    ] = None,
    camera: Annotated[
        list[str] | None,
        typer.Option(
            "--camera",
            help="Calibration camera of each input file, repeated in file order (default: calibration order).",
        ),
    ] = None,
    unit: Annotated[str, typer.Option("--unit", help="Unit of the calibration's translations: m, cm or mm.")] = "m",
    map_file: Annotated[
        Path | None,
        typer.Option(
            "--map", help="YAML map of body landmarks (or a keypoint set's names) to the files' body-part names."
        ),
    ] = None,
    model: Annotated[str, typer.Option("--model", help=MODEL_HELP)] = "parametric",
    min_confidence: Annotated[
        float, typer.Option("--min-confidence", min=0.0, max=1.0, help="Drop detections below this likelihood.")
    ] = 0.1,
    frames: Annotated[str | None, typer.Option("--frames", help="Frame range A:B of the files (B exclusive).")] = None,
    fps: Annotated[float | None, typer.Option("--fps", help="Frame rate (default: the file's, else 30).")] = None,
    individual: Annotated[str | None, typer.Option("--individual", help="Animal in multi-animal files.")] = None,
    chunk: Annotated[int, typer.Option("--chunk", min=1, help="Frames fitted (and saved) per chunk.")] = 50,
    stop_after: Annotated[
        int | None, typer.Option("--stop-after", hidden=True, help="Testing: stop after fitting this many chunks.")
    ] = None,
) -> None:
    """Fit body poses to tracked keypoints (one file per camera, or 3D) and save them as a fit file.

    Resumable: finished chunks are kept in OUT.partial/ and a rerun with the same inputs continues there.
    """
    from ..body import load_body
    from ..errors import KeypointError
    from ..motion.retarget import PoseFitter
    from ..motion.retarget_run import (
        error_summary,
        fingerprint_of,
        fit_chunked,
        remove_partial,
        save_fit,
    )

    if out.suffix.lower() != ".npz":
        raise KeypointError(f"--out: {out} must end in .npz")
    kind = _input_kind(inputs, calibration)
    body = load_body(model)
    if kind == "3d":
        obs, kmap, rate, cam_names = _observations_3d(inputs[0], body, map_file, frames)
    else:
        obs, kmap, rate, cam_names = _observations_2d(
            inputs, body, map_file, frames, calibration, camera, unit, individual
        )
    rate = float(fps) if fps else (rate or 30.0)
    fitter = PoseFitter(body, kmap.kset)
    files = [*inputs, *([calibration] if calibration else []), *([map_file] if map_file else [])]
    fingerprint = fingerprint_of(
        files,
        {
            "kind": kind,
            "cameras": cam_names,
            "unit": unit,
            "map": kmap.mapping,
            "model": model,
            "joints": body.skeleton.names,
            "min_confidence": min_confidence,
            "frames": [int(obs.frames[0]), int(obs.frames[-1])],
            "chunk": chunk,
            "individual": individual,
        },
    )
    partial = out.with_name(out.name + ".partial")
    typer.echo(
        f"{len(kmap.kset)} keypoints ({kmap.origin}): "
        + ", ".join(f"{k}<-{p}" if k != p else k for k, p in zip(kmap.kset.names, kmap.parts, strict=True))
    )
    with _ChunkProgress(obs.n_frames) as bar:
        result = fit_chunked(fitter, obs, partial, fingerprint, chunk, min_confidence, bar.update, stop_after)
    if result is None:
        typer.echo(f"stopped after {stop_after} chunk(s); finished chunks are in {partial}")
        return
    save_fit(out, body, kmap, obs, result, rate, [str(p) for p in inputs], cam_names, str(calibration or ""), model)
    remove_partial(partial)
    typer.echo(f"{out}: {obs.n_frames} frames at {rate:g} fps")
    for line in error_summary(result, obs.frames, kind):
        typer.echo("  " + line)


def _input_kind(inputs: list[Path], calibration: Path | None) -> str:
    """``"3d"`` for one CSV whose header starts with ``frame``; ``"2d"`` for prediction files."""
    from ..errors import KeypointError

    for path in inputs:
        if path.suffix.lower() not in PREDICTION_SUFFIXES:
            raise KeypointError(
                f"{path}: unknown input type {path.suffix!r}; allowed: .h5, .csv (DeepLabCut), "
                ".slp (SLEAP), or a 3D keypoints .csv"
            )
        if not path.is_file():
            raise KeypointError(f"{path}: file not found")
    first = inputs[0]
    if len(inputs) == 1 and first.suffix.lower() == ".csv":
        with open(first, encoding="utf-8", errors="replace") as handle:
            if handle.readline().split(",")[0].strip().lower() == "frame":
                return "3d"
    if calibration is None:
        raise KeypointError(
            f"{first}: 2D predictions need --calibration (Anipose .toml or OpenCV .yaml/.json/.xml)"
            "; a 3D keypoints CSV starts with a 'frame' column"
        )
    return "2d"


def _observations_3d(path: Path, body, map_file, frames):
    import numpy as np

    from ..motion.keypoint_io import read_keypoints3d
    from ..motion.retarget_run import Observations, parse_frame_range, resolve_keypoint_map

    data = read_keypoints3d(path)
    kmap = resolve_keypoint_map(body, data.names, map_file, str(path))
    sel = data.select(kmap.parts)
    a, b = parse_frame_range(frames, sel.xyz.shape[0])
    obs = Observations("3d", np.arange(a, b), sel.confidence[a:b], targets=sel.xyz[a:b])
    return obs, kmap, None, []


def _observations_2d(inputs, body, map_file, frames, calibration, camera, unit, individual):
    import numpy as np

    from ..io.labels import recorded_fps
    from ..motion.keypoint_io import read_predictions
    from ..motion.retarget_run import Observations, parse_frame_range, resolve_keypoint_map, stack_views

    cameras = _pick_cameras(calibration, camera, unit, len(inputs))
    views = [read_predictions(p, individual) for p in inputs]
    parts = [n for v in views for n in v.names]
    where = ", ".join(str(p) for p in inputs)
    kmap = resolve_keypoint_map(body, parts, map_file, where)
    pixels, conf = stack_views([v.select(kmap.kset.names, kmap.mapping) for v in views])
    a, b = parse_frame_range(frames, pixels.shape[1])
    obs = Observations("2d", np.arange(a, b), conf[:, a:b], pixels=pixels[:, a:b], cameras=tuple(cameras))
    rates = [r for r in (recorded_fps(p) for p in inputs) if r]
    return obs, kmap, (rates[0] if rates else None), [c.name for c in cameras]


def _pick_cameras(calibration: Path, names: list[str] | None, unit: str, n_files: int):
    """The calibration's cameras for the input files: by ``--camera`` names in file order, else the first ones."""
    from ..errors import KeypointError
    from ..scene.calibration import load_cameras

    cameras = load_cameras(calibration, unit)
    available = [c.name for c in cameras]
    if names:
        if len(names) != n_files:
            raise KeypointError(
                f"--camera: {len(names)} names for {n_files} input files; give one per file, "
                f"in file order (calibration {calibration} has {', '.join(available)})"
            )
        missing = [n for n in names if n not in available]
        if missing:
            raise KeypointError(f"--camera: {calibration} has no camera {missing[0]!r}; it has {', '.join(available)}")
        return [cameras[available.index(n)] for n in names]
    if n_files > len(cameras):
        raise KeypointError(
            f"{calibration}: {len(cameras)} cameras ({', '.join(available)}) for {n_files} input "
            "files; name the camera of each file with --camera"
        )
    return cameras[:n_files]


class _ChunkProgress:
    """A rich progress bar over frames, advanced after each chunk."""

    def __init__(self, total: int):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True
        )
        self.task = self.progress.add_task("fitting frames", total=total)

    def __enter__(self) -> _ChunkProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def update(self, done: int, total: int, resumed: bool) -> None:
        self.progress.update(
            self.task, completed=done, description="resuming (saved chunks)" if resumed else "fitting frames"
        )
