"""``synthmouse generate``, ``demo``, ``preview`` and ``verify``: make, look at and check datasets."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

FORMAT_HELP = "Label formats, repeat or comma-separate: dlc, sleap, coco, lp, nwb (default: all)."


def register(app: typer.Typer) -> None:
    """Add the dataset commands to the main app."""
    app.command("generate")(generate)
    app.command("demo")(demo)
    app.command("preview")(preview)
    app.command("verify")(verify)


Formats = Annotated[list[str] | None, typer.Option("--format", "-f", help=FORMAT_HELP)]


def generate(
    scene: Annotated[Path, typer.Argument(help="Scene file (YAML).")],
    frames: Annotated[int, typer.Option("--frames", "-n", help="Number of frames in the dataset.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (new, empty, or this dataset).")],
    seed: Annotated[int | None, typer.Option("--seed", "-s", help="Seed (default: the scene's).")] = None,
    formats: Formats = None,
    video: Annotated[bool, typer.Option("--video", help="Also write one H.264 mp4 per camera.")] = False,
    video_crf: Annotated[int, typer.Option("--video-crf", help="0: lossless RGB; >0: yuv420p CRF.")] = 0,
    image_format: Annotated[str | None, typer.Option("--image-format", help="png or jpg.")] = None,
    jpeg_quality: Annotated[int | None, typer.Option("--jpeg-quality", help="JPEG quality 1..100.")] = None,
    shard: Annotated[str | None, typer.Option("--shard", help="Only shard k of n (k/n).")] = None,
    frames_range: Annotated[str | None, typer.Option("--frames-range", help="Only frames a..b-1.")] = None,
    split: Annotated[str, typer.Option("--split", help="Train,val,test fractions.")] = "0.8,0.1,0.1",
) -> None:
    """Render a labelled dataset from a scene file; rerun the same command to resume an interrupted run.

    Image format and JPEG quality default to the scene's ``outputs``. Shards (--shard, --frames-range) of one
    dataset can run in parallel on the same folder; run the command once more without them to merge.
    """
    from ..dataset.generation import check_seed, identity_of
    from ..dataset.scene_source import scene_hash, source_from_spec
    from ..dataset.state import check_output_folder
    from ..scene.spec import load_scene_spec

    spec = load_scene_spec(scene)  # a broken scene file fails here, before anything is built or written
    seed = check_seed(spec.seed if seed is None else seed)  # the source's seed: the dataset's only one
    quality = jpeg_quality if jpeg_quality is not None else spec.outputs.jpeg_quality
    options = _options(
        frames,
        formats,
        video,
        video_crf,
        image_format or spec.outputs.format,
        quality,
        shard,
        frames_range,
        split,
    )
    check_output_folder(out, identity_of(scene.stem, scene_hash(spec), seed, options))  # fail fast, write nothing
    _run(source_from_spec(spec, scene.stem, seed), out, options)


def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("synthmouse-demo"),
    frames: Annotated[int, typer.Option("--frames", "-n", help="Number of frames.")] = 200,
    seed: Annotated[int, typer.Option("--seed", "-s", help="Dataset seed.")] = 0,
    formats: Formats = None,
) -> None:
    """A labelled dataset from the built-in wheel rig and parametric mouse: no files needed."""
    from ..dataset.generation import check_seed
    from ..dataset.scene_source import demo_source

    options = _options(frames, formats, False, 0, "png", 95, None, None, "0.8,0.1,0.1")
    report = _run(demo_source(seed=check_seed(seed)), out, options)
    if report.complete:
        from ..dataset.preview import contact_sheet

        sheet = contact_sheet(out)
        typer.echo(f"preview: {sheet}")
        typer.echo(
            f"open {sheet} to see the labelled frames; {out / 'config.yaml'} is a DeepLabCut project, "
            f"{out / 'sleap' / 'labels.slp'} opens in SLEAP, {out / 'coco' / 'annotations.json'} is COCO, "
            f"{out}/CollectedData_<camera>.csv are Lightning Pose labels (see docs/dataset.md)"
        )


def preview(
    dataset: Annotated[Path, typer.Argument(help="A dataset folder made by generate or demo.")],
    tiles: Annotated[int, typer.Option("--tiles", help="Frames on the contact sheet.")] = 16,
    camera: Annotated[
        list[str] | None,
        typer.Option("--camera", help="Camera of the overlay video (repeat for several; default: every camera)."),
    ] = None,
    video: Annotated[bool, typer.Option("--video/--no-video", help="Also write the overlay videos.")] = True,
) -> None:
    """Write a contact sheet of labelled frames (skeleton drawn) and one overlay video per camera into
    DATASET/preview."""
    from ..dataset.preview import contact_sheet, overlay_videos

    typer.echo(f"contact sheet: {contact_sheet(dataset, tiles)}")
    if video:
        from ..dataset.video import video_missing

        if (reason := video_missing()) is not None:
            typer.echo(f"overlay video skipped: {reason}")
        else:
            for path in overlay_videos(dataset, camera or None):
                typer.echo(f"overlay video: {path}")


def verify(
    dataset: Annotated[Path, typer.Argument(help="A finished dataset folder (it has a manifest.json).")],
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Remove the damaged files and frames (and the manifest) so that rerunning the generate "
            "command makes them again.",
        ),
    ] = False,
    limit: Annotated[int, typer.Option("--limit", help="Problems listed per kind (0: all).")] = 20,
) -> None:
    """Check a dataset: every file against manifest.json (sha256: missing, changed, extra) and the labels
    against the images (image sizes from their headers, every label inside its image).

    Exit status: 0 intact (extra files are listed, not counted as damage), 1 damaged (listed), 2 cannot be
    checked (not a finished dataset, unreadable manifest).
    """
    from ..dataset.verify import repair as repair_dataset
    from ..dataset.verify import verify_dataset

    if sys.stdout.isatty():
        with _Progress(transient=True) as progress:
            report = verify_dataset(dataset, progress=progress.update)
    else:
        report = verify_dataset(dataset)
    for kind, items in (("missing", report.missing), ("changed", report.changed), ("label", report.labels)):
        _list(kind, items, limit, total=report.n_labels if kind == "label" else len(items))
    _list("extra (not in the manifest, left alone)", report.extra, limit, len(report.extra))
    for note in report.notes:
        typer.echo(f"note: {note}")
    if report.ok:
        labels = "" if report.notes else "; the labels fit the images"
        typer.echo(f"{dataset}: intact ({report.checked} files match manifest.json{labels})")
        return
    typer.echo(f"{dataset}: damaged: {report.summary()}")
    if repair:
        removed, frames = repair_dataset(report)
        typer.echo(
            f"repair: removed {len(removed)} files and the label rows of {len(frames)} frames"
            + (f" ({_shorten([str(i) for i in frames], 10)})" if frames else "")
            + "; rerun the generate command that made the dataset to make them again"
        )
    else:
        typer.echo(
            f"`synthmouse verify {dataset} --repair` removes what is damaged; then rerun the generate "
            "command that made the dataset to make it again"
        )
    raise typer.Exit(1)


def _list(kind: str, items: list[str], limit: int, total: int) -> None:
    shown = items if limit <= 0 else items[:limit]
    for item in shown:
        typer.echo(f"{kind}: {item}")
    if total > len(shown):
        typer.echo(f"{kind}: ... and {total - len(shown)} more" + (" (--limit 0 lists all)" if limit > 0 else ""))


def _shorten(items: list[str], n: int) -> str:
    return ", ".join(items[:n]) + (f", ... ({len(items) - n} more)" if len(items) > n else "")


def _options(
    frames: int,
    formats,
    video: bool,
    video_crf: int,
    image_format: str,
    jpeg_quality: int,
    shard: str | None,
    frames_range: str | None,
    split: str,
):
    """Validated generation options (unknown formats, bad shards ... fail here, before any work)."""
    from ..dataset.exporters import resolve_formats
    from ..dataset.generation import GenerateOptions, parse_range, parse_shard
    from ..dataset.splits import parse_fractions

    return GenerateOptions(
        n_frames=frames,
        formats=resolve_formats(formats),
        image_format=image_format,
        jpeg_quality=jpeg_quality,
        video=video,
        video_crf=video_crf,
        shard=parse_shard(shard) if shard else None,
        frames=parse_range(frames_range) if frames_range else None,
        split=parse_fractions(split),
    )


def _run(source, out: Path, options):
    """Run the generation with progress bars, print the outcome."""
    from ..dataset.generation import generate

    try:
        start = time.perf_counter()
        with _Progress() as progress:
            report = generate(source, out, options, progress=progress.update)
    finally:
        source.close()
    elapsed = time.perf_counter() - start
    typer.echo(
        f"{out}: {report.rendered} frames rendered this run ({report.fps:.1f} frames/s), "
        f"{report.done}/{report.n_frames} done, {elapsed:.1f} s in all"
    )
    if report.complete:
        formats_done = ", ".join(options.formats)
        typer.echo(f"dataset complete: formats {formats_done}; manifest {out / 'manifest.json'}")
        images = source.meta.label_images
        if images:
            typer.echo(f"ground-truth images: {', '.join(f'{k}/<camera>/' for k in images)} (see manifest.json)")
    else:
        typer.echo(
            f"{report.missing} frames still missing: run the other shards, then this command without "
            "--shard/--frames-range to merge"
        )
    return report


class _Progress:
    """Rich progress bars: one for rendering (frames/s, time left), one for the export steps."""

    def __init__(self, transient: bool = False):
        self.transient = transient

    def __enter__(self):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            transient=self.transient,
        )
        self.progress.__enter__()
        self.tasks: dict[str, int] = {}
        return self

    def update(self, stage: str, done: int, total: int) -> None:
        key = stage if stage in ("render", "verify") else "export"
        if key not in self.tasks:
            self.tasks[key] = self.progress.add_task(key, total=total, rate="")
        task = self.tasks[key]
        rate = ""
        if key == "render":
            speed = self.progress.tasks[task].speed
            rate = f"{speed:.1f} frames/s" if speed else ""
        self.progress.update(task, completed=done, total=total, rate=rate, description=stage)

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)
