"""Sim-to-real benchmark: the same network and the same number of training steps for every model.

* **real only**: k-fold cross-validation over the labelled real frames (contiguous blocks in label order, so
  neighbouring video frames do not straddle train and test); each fold's model trains ``steps`` steps.
* **synthetic only** and **synthetic + K real**: a model is trained ``steps / 2`` steps on the synthetic frames
  (shared); then each final model trains ``steps / 2`` more steps from it, on synthetic frames only, or on
  batches half synthetic, half the K real frames drawn (seeded) from the training folds of each fold. Every
  model has thus seen ``steps`` optimisation steps (the locator ``steps / 2``).

A **mean position** row is the floor any network must beat: each keypoint's mean over a fold's real training
frames, predicted for every frame of that fold (no images used).

Every real frame is predicted once per condition (by the model of the fold that held it out; the synthetic-only
model for all), and the metrics pool those predictions (:mod:`synthmouse.pose.evaluate`).
"""

from __future__ import annotations

import dataclasses
import json
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import SynthmouseError
from ..fileio import atomic_open, atomic_path
from ..io.labels import LabelledFrames, read_labels
from .evaluate import evaluate_predictions, format_table
from .labels import read_training_labels
from .model import PoseModel, read_gray
from .plan import PoseSettings, config_augmentation, plan_config, plan_lines
from .sources import map_real_names, pick_frames
from .train import ProgressFn, Source, TrainOptions, train_pose_model


@dataclass(frozen=True)
class BenchmarkOptions:
    """Budget of the benchmark (see the module docstring)."""

    frames: int = 1000
    folds: int = 5
    k_values: tuple[int, ...] = (5, 10, 20, 50)
    steps: int = 800
    batch_size: int = 8
    seed: int = 0
    device: str = "auto"
    real_share: float = 0.5
    pose: PoseSettings = field(default_factory=PoseSettings)  # crop size, augmentation, views, flip pairs, rig
    smoke_test: bool = False  # set by quick(): the numbers check that the pipeline runs, nothing more

    def quick(self) -> BenchmarkOptions:
        """A few minutes on 2 CPU cores (tests): 60 frames, 2 folds, K = 5, 60 steps, batches of 8. Marked as a
        smoke test: the table, the printed summary and ``results.json`` say that its numbers are no result."""
        return dataclasses.replace(self, frames=60, folds=2, k_values=(5,), steps=60, batch_size=8, smoke_test=True)


def smoke_test_note(options: BenchmarkOptions) -> str:
    """What a ``--quick`` run's numbers are (and are not)."""
    return (
        f"SMOKE TEST (--quick: {options.frames} synthetic frames, {options.folds} folds, K = "
        f"{', '.join(map(str, options.k_values))}, {options.steps} steps): these numbers only show that the "
        "benchmark runs end to end; the models are far from trained, so they are not a result. Run without "
        "--quick for the benchmark (docs/results/README.md)."
    )


def contiguous_folds(n: int, k: int) -> list[np.ndarray]:
    """``k`` contiguous blocks of ``range(n)`` (sizes differ by at most one)."""
    if not 2 <= k <= n:
        raise SynthmouseError(f"--folds {k}: need 2 <= folds <= {n} (the number of labelled frames)")
    return [np.asarray(b) for b in np.array_split(np.arange(n), k)]


def synthetic_dataset(scene: Path, out: Path, frames: int, seed: int) -> Path:
    """``scene`` itself when it is a dataset folder; else render ``frames`` frames of the scene file (DLC
    labels only) into ``out`` (resumes)."""
    if scene.is_dir():
        return scene
    # a child process: the GL renderer's LLVM (Mesa llvmpipe) and torch's triton must not share a process
    command = [
        sys.executable,
        "-m",
        "synthmouse",
        "generate",
        str(scene),
        "--frames",
        str(frames),
        "--seed",
        str(seed),
        "--out",
        str(out),
        "--format",
        "dlc",
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SynthmouseError(f"{scene}: generating the synthetic frames failed: {done.stderr.strip()[-2000:]}")
    return out


def _train(
    name: str,
    sources: Sequence[Source],
    out: Path,
    config,
    options: TrainOptions,
    init: PoseModel | None,
    progress: ProgressFn | None,
) -> PoseModel:
    folder = out / "models" / name
    if (folder / "model.pt").is_file():
        return PoseModel.load(folder, options.device if options.device != "auto" else "cpu")

    def report(stage: str, step: int, total: int, loss: float) -> None:
        if progress is not None:
            progress(f"{name} {stage}", step, total, loss)

    return train_pose_model(sources, folder, config, options, init=init, progress=report)


def mean_position_predictions(xy: np.ndarray, folds: Sequence[np.ndarray]) -> np.ndarray:
    """``(N, K, 2)`` predictions of the per-keypoint mean-position baseline: every frame of a fold gets each
    keypoint's mean over the other folds' labelled frames (NaN where a keypoint is never labelled there)."""
    xy = np.asarray(xy, dtype=np.float64)
    pred = np.full_like(xy, np.nan)
    for test in folds:
        train = xy[np.setdiff1d(np.arange(len(xy)), test)]
        labelled = np.isfinite(train).all(axis=2)
        counts = labelled.sum(axis=0)
        sums = np.where(labelled[..., None], train, 0.0).sum(axis=0)
        means = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], np.nan)
        pred[test] = means
    return pred


def _predict(model: PoseModel, data: LabelledFrames) -> np.ndarray:
    """``(N, K, 2)`` predictions in ``data``'s keypoint order (NaN for keypoints the model does not give)."""
    xy, _ = model.predict([read_gray(p) for p in data.images])
    outputs = list(model.config.output_names)
    out = np.full((len(data), len(data.names), 2), np.nan)
    for k, name in enumerate(data.names):
        if name in outputs:
            out[:, k] = xy[:, outputs.index(name)]
    return out


def run_benchmark(
    scene: str | Path,
    real: str | Path,
    out: str | Path,
    options: BenchmarkOptions | None = None,
    mapping: Sequence[str] | None = None,
    progress: ProgressFn | None = None,
    echo: Callable[[str], None] | None = None,
) -> dict:
    """Run (or resume: finished models are reused) the benchmark into ``out``; returns the result dict
    (also ``results.json``, ``table.md``, ``learning_curve.png``). ``echo`` gets the chosen augmentation, flip
    pairs and views (:func:`synthmouse.pose.plan.plan_lines`)."""
    options = options or BenchmarkOptions()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    synth_dir = synthetic_dataset(Path(scene), out / "synthetic", options.frames, options.seed)
    synth = read_training_labels(synth_dir)
    real_set, pairs = map_real_names(read_labels(real, check=True), real, synth.names, synth_dir, mapping)
    names = [n for n in synth.names if n in real_set.names]
    real_set = real_set.reorder(synth.names)
    folds = contiguous_folds(len(real_set), options.folds)
    config = plan_config([Source(synth), Source(real_set)], synth_dir, options.pose, pretrained=True)
    for line in plan_lines(config) if echo is not None else ():
        echo(line)
    full = TrainOptions(steps=options.steps, batch_size=options.batch_size, seed=options.seed, device=options.device)
    full = full.with_augmentation(config_augmentation(config))
    half = dataclasses.replace(full, steps=max(1, options.steps // 2), locator_steps=max(1, options.steps // 4))
    n_real, n_names = len(real_set), len(synth.names)
    preds: dict[str, np.ndarray] = {}

    # real only, k-fold
    pred = np.full((n_real, n_names, 2), np.nan)
    for f, test in enumerate(folds):
        train_rows = np.setdiff1d(np.arange(n_real), test)
        model = _train(
            f"real_fold{f}",
            [Source(real_set.subset(train_rows), real=True, pairs=tuple(pairs))],
            out,
            config,
            full,
            None,
            progress,
        )
        pred[test] = _predict(model, real_set.subset(test))
    preds["real only (k-fold)"] = pred
    preds["mean position (k-fold)"] = mean_position_predictions(real_set.xy, folds)

    # synthetic: shared first half, then synthetic only / synthetic + K real
    base = _train("synth_half", [Source(synth)], out, config, half, None, progress)
    synth_only = _train("synth_only", [Source(synth)], out, config, half, base, progress)
    preds["synthetic only"] = _predict(synth_only, real_set)
    for k in options.k_values:
        pred = np.full((n_real, n_names, 2), np.nan)
        for f, test in enumerate(folds):
            train_rows = np.setdiff1d(np.arange(n_real), test)
            picked = train_rows[pick_frames(len(train_rows), k, options.seed + f)]
            sources = [
                Source(synth, 1 - options.real_share),
                Source(real_set.subset(picked), options.real_share, real=True, pairs=tuple(pairs)),
            ]
            model = _train(f"synth_plus{k}_fold{f}", sources, out, config, half, base, progress)
            pred[test] = _predict(model, real_set.subset(test))
        preds[f"synthetic + {k} real"] = pred

    reports = {
        name: evaluate_predictions(
            p, synth.names, real_set, {n: n for n in names}, out / "eval" / _slug(name), gallery=9
        )
        for name, p in preds.items()
    }
    fold_sizes = [len(f) for f in folds]
    result = {
        "command": " ".join(shlex.quote(a) for a in ["synthmouse", *sys.argv[1:]]) if sys.argv else "",
        "options": dataclasses.asdict(options),
        "scene": str(scene),
        "real": str(real),
        "synthetic_frames": len(synth),
        "real_frames": n_real,
        "real_train_frames_per_fold": [n_real - s for s in fold_sizes],
        "keypoints": names,
        "keypoint_pairs": [list(p) for p in pairs],
        "smoke_test": options.smoke_test,
        "config": config.to_dict(),
        "seconds": time.perf_counter() - started,
        "conditions": {name: r["overall"] for name, r in reports.items()},
        "per_keypoint": {name: r["per_keypoint"] for name, r in reports.items()},
    }
    if options.smoke_test:
        result["note"] = smoke_test_note(options)
    table = results_table(result)
    result["table"] = table
    result["results_json"] = str(out / "results.json")
    result["table_md"] = str(out / "table.md")
    result["plot"] = str(learning_curve(result, out / "learning_curve.png"))
    with atomic_open(out / "results.json", "w") as f:
        json.dump(result, f, indent=1)
    with atomic_open(out / "table.md", "w") as f:
        f.write(table + "\n")
    return result


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).strip("_")


def results_table(result: dict) -> str:
    """Markdown table: one row per condition; a smoke test (``--quick``) says so above and below it."""
    cols = ("rmse", "mean_error", "median_error", "pck_5px", "pck_10px", "pck_0.1L", "pck_0.2L")
    lines = ["| condition | real training frames | " + " | ".join(cols) + " |", "|" + " --- |" * (len(cols) + 2)]
    per_fold = result["real_train_frames_per_fold"]
    for name, m in result["conditions"].items():
        if name.startswith(("real", "mean position")):
            n_train = f"{min(per_fold)}-{max(per_fold)}" if min(per_fold) != max(per_fold) else str(per_fold[0])
        elif name == "synthetic only":
            n_train = "0"
        else:
            n_train = name.split("+")[1].split()[0]
        lines.append(f"| {name} | {n_train} | " + " | ".join(f"{m[c]:.2f}" for c in cols) + " |")
    if result.get("smoke_test"):
        note = result.get("note") or "SMOKE TEST (--quick): these numbers are not a result."
        lines = [f"**{note}**", "", *lines, "", f"**{note.split(':')[0]}: not a result.**"]
    return "\n".join(lines)


def learning_curve(result: dict, path: Path) -> Path:
    """RMSE and mean error against the number of real training frames (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cond = result["conditions"]
    ks = sorted(int(n.split("+")[1].split()[0]) for n in cond if n.startswith("synthetic +"))
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2), dpi=90)
    per_fold = result["real_train_frames_per_fold"]
    for ax, metric in zip(axes, ("rmse", "mean_error"), strict=True):
        if ks:
            ax.plot(ks, [cond[f"synthetic + {k} real"][metric] for k in ks], "o-", label="synthetic + K real")
        ax.axhline(cond["synthetic only"][metric], color="C1", ls="--", label="synthetic only")
        real_v = cond["real only (k-fold)"][metric]
        ax.plot(
            [float(np.mean(per_fold))],
            [real_v],
            "s",
            color="C2",
            ms=8,
            label=f"real only ({int(np.mean(per_fold))} frames)",
        )
        ax.axhline(real_v, color="C2", lw=0.8, ls=":")
        ax.set_xscale("log")
        ticks = sorted({*ks, int(np.mean(per_fold))})
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()
        ax.set_xlabel("real training frames")
        ax.set_ylabel(f"{metric.replace('_', ' ')} (px)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    if result.get("smoke_test"):
        fig.suptitle("SMOKE TEST (--quick): these numbers are not a result", color="C3", fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp)
    plt.close(fig)
    return path


__all__ = ["BenchmarkOptions", "contiguous_folds", "mean_position_predictions", "run_benchmark", "format_table"]
