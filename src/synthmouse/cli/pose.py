"""``synthmouse train / predict / evaluate / benchmark-sim2real``: the baseline pose network."""

from __future__ import annotations

import json
from pathlib import Path

import typer

# The --map help of every command (train, evaluate, benchmark-sim2real, report): one direction everywhere, the one
# of synthmouse.io.mapping.
MAP_HELP = (
    "Keypoint name pairs REAL=SYNTHETIC: a name in your labels = the synthetic (model) name, e.g. "
    "--map snout=nose; repeat or comma-separate. Unnamed keypoints are matched automatically."
)


ROTATION_HELP = (
    "Rotation augmentation range, +- degrees (default: from the dataset's camera view: 180 for top and below "
    "views, 15 for side views, 30 for oblique ones; 180 when the view is unknown)."
)
SCALE_HELP = "Scale augmentation range LO,HI (default 0.8,1.25)."
FLIP_HELP = (
    "Mirror flips with left/right swaps (default: on for top/below views, for side views only where left/right "
    "pairs exist)."
)
CROP_HELP = "Crop side in pixels (multiple of 16; stored in the model, predict and evaluate crop the same way)."
VIEWS_HELP = (
    "Views of one image, each cropped and trained on its own: NAME:X0,Y0,X1,Y1 pixel regions (e.g. --views "
    "cam:0,0,640,240 --views mirror:0,240,640,480), NAME alone (region from the labels of keypoints named "
    "*_NAME), or auto (views from the keypoint names' suffixes)."
)
FLIP_PAIRS_HELP = (
    "Extra left/right pairs A=B,C=D for flips (pairs named left_/right_, _l/_r, paw1LH/paw1RH, LeftEar/RightEar ... "
    "are found by themselves)."
)
RIG_HELP = (
    "Keypoints on rig objects (joystick, lever, bar), comma-separated: never flip-swapped with body parts "
    "(default: those a synthetic dataset's metadata marks)."
)


def register(app: typer.Typer) -> None:
    """Add the pose commands to ``app``."""
    app.command("train")(train)
    app.command("predict")(predict)
    app.command("evaluate")(evaluate)
    app.command("benchmark-sim2real")(benchmark_sim2real)


class _Bar:
    """A rich progress bar fed by ``progress(stage, step, total, loss)`` callbacks."""

    def __enter__(self):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}"),
            TimeRemainingColumn(),
        )
        self.progress.__enter__()
        self.tasks: dict[str, int] = {}
        return self

    def __call__(self, stage: str, step: int, total: int, loss: float) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(stage, total=total, loss=0.0)
        self.progress.update(self.tasks[stage], completed=step, loss=loss)

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)


def train(
    dataset: Path = typer.Argument(..., help="Synthetic dataset (a synthmouse/DeepLabCut folder) or label file."),
    out: Path = typer.Option(..., "--out", "-o", help="Model folder (resumes when it holds a checkpoint)."),
    real_labels: Path = typer.Option(
        None, "--real-labels", help="DeepLabCut, SLEAP or Lightning Pose project with real frames."
    ),
    n_real: int = typer.Option(0, "--n-real", help="Use this many real frames (0: all of them)."),
    real_share: float = typer.Option(0.5, "--real-share", help="Share of each batch from the real frames."),
    mapping: list[str] = typer.Option(None, "--map", help=MAP_HELP + " (with --real-labels)"),
    split: str = typer.Option("train", help="Frames of DATASET: train (splits.json), train+val or all."),
    steps: int = typer.Option(1000, help="Cropper training steps (the locator gets half)."),
    batch_size: int = typer.Option(8, help="Batch size."),
    backbone: str = typer.Option("unet", help="unet (compact, from scratch) or resnet18 (torchvision)."),
    crop_size: int = typer.Option(128, "--crop-size", help=CROP_HELP),
    rotation: float = typer.Option(None, "--rotation", help=ROTATION_HELP),
    scale: str = typer.Option(None, "--scale", help=SCALE_HELP),
    flip: bool = typer.Option(None, "--flip/--no-flip", help=FLIP_HELP),
    views: list[str] = typer.Option(None, "--views", help=VIEWS_HELP),
    flip_pairs: list[str] = typer.Option(None, "--flip-pairs", help=FLIP_PAIRS_HELP),
    rig_keypoints: list[str] = typer.Option(None, "--rig-keypoints", help=RIG_HELP),
    seed: int = typer.Option(0, help="Seed of the batches and of the real-frame draw."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
) -> None:
    """Train the two-stage heatmap pose network on a synthetic dataset (optionally plus real frames)."""
    from ..io.mapping import pairs_text
    from ..pose.plan import config_augmentation, plan_config, plan_lines, views_hint
    from ..pose.sources import dataset_sources
    from ..pose.train import TrainOptions, steps_warning, train_pose_model

    settings = _settings(backbone, crop_size, rotation, scale, flip, views, flip_pairs, rig_keypoints)
    sources = dataset_sources(dataset, split, real_labels, n_real, real_share, mapping, seed)
    config = plan_config(sources, dataset, settings)
    options = TrainOptions(steps=steps, batch_size=batch_size, seed=seed, device=device)
    options = options.with_augmentation(config_augmentation(config))
    counts = ", ".join(f"{len(s.data)} {'real' if s.real else 'synthetic'} frames x {s.weight:g}" for s in sources)
    typer.echo(f"training on {counts}; keypoints {', '.join(config.names)}; crop scale {config.crop_scale:.2f}")
    for line in plan_lines(config):
        typer.echo(line)
    hint = views_hint(sources[0].data.names, settings)
    if hint:
        typer.echo(f"hint: {hint}", err=True)
    for s in sources:
        if s.real:
            typer.echo(f"real keypoints (REAL=SYNTHETIC): {pairs_text(s.pairs)}")
    warning = steps_warning(sources, steps, batch_size)
    if warning:
        typer.echo(f"warning: {warning}", err=True)
    with _Bar() as bar:
        train_pose_model(sources, out, config, options, progress=bar)
    typer.echo(f"model written: {out / 'model.pt'}")


def predict(
    model: Path = typer.Argument(..., help="Model folder or model.pt."),
    frames: Path = typer.Argument(..., help="A video, an image folder or a DeepLabCut project."),
    out: Path = typer.Option(None, "--out", "-o", help="Output stem (default: next to the input)."),
    scorer: str = typer.Option(None, help="Scorer name in the table (default synthmouse_<model>)."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
) -> None:
    """Predict keypoints; writes DeepLabCut-style .h5 and .csv (x, y, likelihood per keypoint)."""
    from rich.progress import Progress

    from ..pose.model import PoseModel
    from ..pose.predict import default_scorer, frame_keys, predict_frames, predictions_table, write_predictions
    from ..pose.train import pick_device

    net = PoseModel.load(model, pick_device(device))
    keys, reader = frame_keys(frames)
    scorer = scorer or default_scorer(model)
    with Progress() as bar:
        task = bar.add_task("predict", total=len(keys))
        xy, conf = predict_frames(net, reader(), progress=lambda n: bar.advance(task, n))
    index = [int(k) for k in keys[: len(xy)]] if keys and keys[0].isdigit() else keys[: len(xy)]
    df = predictions_table(xy, conf, net.config.output_names, scorer, index)
    stem = out or (frames.with_suffix("") if frames.is_file() else frames / "predictions")
    stem = Path(str(stem) + scorer) if out is None and frames.is_file() else stem
    h5, csv = write_predictions(df, stem)
    typer.echo(f"{len(df)} frames: {h5} and {csv}")


def evaluate(
    model: Path = typer.Argument(..., help="Model folder or model.pt."),
    real: Path = typer.Option(
        ..., "--real", help="DeepLabCut, SLEAP or Lightning Pose project (or label file) with human labels."
    ),
    mapping: list[str] = typer.Option(None, "--map", help=MAP_HELP),
    out: Path = typer.Option(None, "--out", "-o", help="Report folder (default MODEL/eval_<labels>)."),
    length_pair: str = typer.Option(None, help="Body length keypoints HEAD,TAIL (label names)."),
    include_training_frames: bool = typer.Option(
        False,
        "--include-training-frames",
        help="Keep the frames the model was trained on in the numbers (left out by default; measured apart).",
    ),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
) -> None:
    """RMSE, median error, PCK (5/10 px, 0.1/0.2 body length), per-keypoint table and worst-frame gallery, on the
    labelled frames the model was not trained on."""
    from ..io.labels import read_labels
    from ..io.mapping import pairs_text, parse_mapping
    from ..pose.evaluate import (
        evaluate_predictions,
        format_table,
        frames_summary,
        matched_names,
        model_mapping,
        training_frame_mask,
    )
    from ..pose.model import PoseModel, read_gray
    from ..pose.predict import predict_frames
    from ..pose.train import pick_device

    folder = model if model.is_dir() else model.parent
    pairs = parse_mapping(mapping)
    net = PoseModel.load(model, pick_device(device))
    labels = read_labels(real, check=True)
    outputs = net.config.output_names
    pairs = pairs or model_mapping(folder, labels.names, outputs)
    matched = matched_names(outputs, labels.names, pairs)  # errors before the predictions
    typer.echo(f"keypoints (REAL=SYNTHETIC, labels = model): {pairs_text([(lab, m) for m, lab in matched])}")
    seen = training_frame_mask(folder, labels)
    xy, _ = predict_frames(net, (read_gray(p) for p in labels.images))
    out = out or folder / f"eval_{real.name}"
    pair = tuple(s.strip() for s in length_pair.split(",")) if length_pair else None
    report = evaluate_predictions(
        xy, outputs, labels, pairs, out, pair, seen=seen, include_seen=include_training_frames
    )
    typer.echo(frames_summary(report))
    typer.echo(format_table(report))
    typer.echo(f"report: {out / 'metrics.json'}, {out / 'metrics.md'}, {out / 'worst_frames.png'}")


def benchmark_sim2real(
    scene: Path = typer.Option(..., "--scene", help="Scene file for the synthetic frames, or a dataset folder."),
    real: Path = typer.Option(
        ..., "--real", help="DeepLabCut, SLEAP or Lightning Pose project with the human-labelled real frames."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Benchmark folder (table, plot, models)."),
    mapping: list[str] = typer.Option(None, "--map", help=MAP_HELP),
    frames: int = typer.Option(1000, help="Synthetic frames to render (when --scene is a scene file)."),
    folds: int = typer.Option(5, help="Cross-validation folds over the real frames."),
    k_values: str = typer.Option("5,10,20,50", "--k", help="Real frames added to the synthetic ones."),
    steps: int = typer.Option(800, help="Cropper steps per model (the same for every model)."),
    batch_size: int = typer.Option(8, help="Batch size."),
    crop_size: int = typer.Option(128, "--crop-size", help=CROP_HELP),
    rotation: float = typer.Option(None, "--rotation", help=ROTATION_HELP),
    scale: str = typer.Option(None, "--scale", help=SCALE_HELP),
    flip: bool = typer.Option(None, "--flip/--no-flip", help=FLIP_HELP),
    views: list[str] = typer.Option(None, "--views", help=VIEWS_HELP),
    flip_pairs: list[str] = typer.Option(None, "--flip-pairs", help=FLIP_PAIRS_HELP),
    rig_keypoints: list[str] = typer.Option(None, "--rig-keypoints", help=RIG_HELP),
    quick: bool = typer.Option(
        False,
        help="A smoke test of a few minutes (2 folds, K=5, 60 steps, 60 frames): "
        "checks that it runs; its numbers are not a result.",
    ),
    seed: int = typer.Option(0, help="Seed."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
) -> None:
    """Real only (k-fold) vs synthetic only vs synthetic + K real frames: one network, one budget."""
    from ..pose.benchmark import BenchmarkOptions, run_benchmark, smoke_test_note

    options = BenchmarkOptions(
        frames=frames,
        folds=folds,
        k_values=tuple(int(k) for k in k_values.split(",")),
        steps=steps,
        batch_size=batch_size,
        seed=seed,
        device=device,
        pose=_settings("unet", crop_size, rotation, scale, flip, views, flip_pairs, rig_keypoints),
    )
    if quick:
        options = options.quick()
        typer.echo(smoke_test_note(options))
    with _Bar() as bar:
        result = run_benchmark(scene, real, out, options, mapping=mapping, progress=bar, echo=typer.echo)
    typer.echo(result["table"])
    typer.echo(json.dumps({k: result[k] for k in ("results_json", "plot", "table_md")}, indent=1))


def _settings(
    backbone: str,
    crop_size: int,
    rotation: float | None,
    scale: str | None,
    flip: bool | None,
    views: list[str] | None,
    flip_pairs: list[str] | None,
    rig_keypoints: list[str] | None,
):
    """The pose options of ``train`` / ``benchmark-sim2real`` as :class:`synthmouse.pose.plan.PoseSettings`."""
    from ..pose.plan import PoseSettings
    from ..pose.views import parse_scale

    rig = (
        None if not rig_keypoints else tuple(n.strip() for item in rig_keypoints for n in item.split(",") if n.strip())
    )
    return PoseSettings(
        crop_size=crop_size,
        rotation=rotation,
        scale=parse_scale(scale),
        flip=flip,
        views=tuple(views or ()),
        flip_pairs=tuple(flip_pairs or ()),
        rig_keypoints=rig,
        backbone=backbone,
    )
