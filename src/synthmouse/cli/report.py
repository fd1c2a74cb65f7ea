"""``synthmouse report``: is the simulation good enough? KID/FID, a realism classifier, pose coverage and image
statistics of a synthetic dataset against real data, as one HTML page and a JSON file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .pose import MAP_HELP


def register(app: typer.Typer) -> None:
    """Add the ``report`` command to the main app."""
    app.command("report")(report)


def report(
    synthetic: Annotated[Path, typer.Option("--synthetic", "-s", help="A dataset made by synthmouse generate.")],
    real: Annotated[
        Path, typer.Option("--real", "-r", help="Real data: a labelled DeepLabCut project or image folder, or a video.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML report (the JSON goes beside it).")] = Path(
        "report.html"
    ),
    mapping: Annotated[list[str] | None, typer.Option("--map", help=MAP_HELP)] = None,
    camera: Annotated[str | None, typer.Option("--camera", help="Synthetic camera (when there are several).")] = None,
    real_labels: Annotated[
        Path | None,
        typer.Option(
            "--real-labels", help="Keypoints for the real frames: DeepLabCut predictions for the video (.h5/.csv)."
        ),
    ] = None,
    translated: Annotated[
        Path | None, typer.Option("--translated", help="Folder of translated renders (same file names) for SSIM.")
    ] = None,
    max_frames: Annotated[int, typer.Option("--max-frames", help="At most this many frames per set.")] = 400,
    radius: Annotated[
        float, typer.Option("--radius", help="Pose-coverage radius (RMS keypoint offset / pose size).")
    ] = 0.15,
    coverage: Annotated[
        bool, typer.Option("--coverage/--no-coverage", help="Measure pose coverage (needs labels).")
    ] = True,
    fid: Annotated[bool, typer.Option("--fid/--no-fid", help="Measure KID/FID with InceptionV3.")] = True,
    inception_weights: Annotated[
        Path | None, typer.Option("--inception-weights", help="Local weights-inception-2015-12-05-6726825d.pth.")
    ] = None,
    download: Annotated[
        bool, typer.Option("--download/--no-download", help="Download missing InceptionV3 weights.")
    ] = True,
    width: Annotated[int, typer.Option("--classifier-width", help="Classifier input width (pixels).")] = 128,
    epochs: Annotated[int, typer.Option("--epochs", help="Classifier epochs per fold.")] = 12,
    budget: Annotated[float, typer.Option("--time-budget", help="Classifier training time limit (s).")] = 180.0,
    summary: Annotated[Path | None, typer.Option("--summary-png", help="Also write the summary figure here.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every random choice.")] = 0,
) -> None:
    """Measure how real a synthetic dataset looks and which real poses it misses; write an HTML report."""
    from ..io.mapping import parse_mapping
    from ..metrics.classifier import ClassifierConfig
    from ..metrics.report import ReportOptions, build_report, write_report

    options = ReportOptions(
        camera=camera,
        max_frames=max_frames,
        real_labels=real_labels,
        mapping=parse_mapping(mapping),
        radius=radius,
        coverage=coverage,
        fidelity=fid,
        inception_weights=inception_weights,
        download=download,
        translated=translated,
        seed=seed,
        classifier=ClassifierConfig(width=width, epochs=epochs, max_seconds=budget, seed=seed),
    )
    with _Progress() as progress:
        result = build_report(synthetic, real, options, progress=progress.update, log=progress.log)
    written = write_report(result, out, summary)
    for key, verdict in result.numbers["verdicts"].items():
        typer.echo(f"{key}: [{verdict['level']}] {verdict['verdict']}")
    typer.echo("wrote " + ", ".join(str(p) for p in written.values()))


class _Progress:
    """Rich progress bars, one per long step (reading frames, features, training, statistics)."""

    def __enter__(self):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("{task.description:<32}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            transient=False,
        )
        self.progress.__enter__()
        self.tasks: dict[str, int] = {}
        return self

    def update(self, step: str, done: int, total: int) -> None:
        if step not in self.tasks:
            self.tasks[step] = self.progress.add_task(step, total=total)
        self.progress.update(self.tasks[step], completed=done, total=total)

    def log(self, message: str) -> None:
        from rich.text import Text

        self.progress.console.print(Text("note: ", style="yellow") + Text(message), highlight=False)

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)
