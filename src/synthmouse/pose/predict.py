"""Running a model on a video, a folder of images or a DeepLabCut project, and writing DeepLabCut-style
prediction tables (columns ``scorer / bodyparts / coords`` with ``x, y, likelihood``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from ..errors import SynthmouseError
from ..fileio import atomic_path
from ..io.labels import read_labels
from ..io.video import VIDEO_SUFFIXES, VideoError, open_video, video_info
from .model import PoseModel, read_gray

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def frame_keys(path: str | Path) -> tuple[list[str], Callable[[], Iterator[np.ndarray]]]:
    """Row names and a reader of grayscale frames for a video, an image folder, a DeepLabCut project or a
    Lightning Pose project (its labelled images). Video rows are frame numbers; image rows are paths."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES:
        try:
            count = video_info(path).n_frames
        except VideoError as exc:
            raise SynthmouseError(str(exc)) from None
        if count <= 0:
            raise SynthmouseError(f"{path}: cannot read frames from this video (no frame count)")

        def video() -> Iterator[np.ndarray]:
            with open_video(path) as reader:
                for _, frame in reader.frames(colour="gray"):
                    yield frame

        return [str(i) for i in range(count)], video
    if path.is_dir():
        if (
            (path / "labeled-data").is_dir()
            or any(path.glob("CollectedData*.csv"))
            or any(path.glob("CollectedData_*"))
        ):
            files = list(read_labels(path, check=True).images)
        else:
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise SynthmouseError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
        return [str(p) for p in files], lambda: (read_gray(p) for p in files)
    if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
        return [str(path)], lambda: iter([read_gray(path)])
    raise SynthmouseError(f"{path}: not a video ({', '.join(VIDEO_SUFFIXES)}), image or image folder")


def predict_frames(
    model: PoseModel, frames: Iterator[np.ndarray], batch_size: int = 16, progress: Callable[[int], None] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(xy (N, K, 2), confidence (N, K))`` for a stream of grayscale frames (batched, equal sizes
    grouped)."""
    xys, confs, batch = [], [], []

    def flush() -> None:
        if batch:
            xy, conf = model.predict(batch, batch_size)
            xys.append(xy)
            confs.append(conf)
            if progress is not None:
                progress(len(batch))
            batch.clear()

    for frame in frames:
        if batch and (len(batch) >= batch_size or frame.shape != batch[0].shape):
            flush()
        batch.append(frame)
    flush()
    k = len(model.config.output_names)
    if not xys:
        return np.zeros((0, k, 2)), np.zeros((0, k))
    return np.concatenate(xys), np.concatenate(confs)


def predictions_table(
    xy: np.ndarray, confidence: np.ndarray, names: Sequence[str], scorer: str, index: Sequence[str] | Sequence[int]
):
    """DeepLabCut's prediction DataFrame: ``xy (N, K, 2)``, ``confidence (N, K)``; columns
    ``(scorer, bodyparts, coords)`` with coords ``x, y, likelihood``."""
    import pandas as pd

    columns = pd.MultiIndex.from_product(
        [[scorer], list(names), ["x", "y", "likelihood"]], names=["scorer", "bodyparts", "coords"]
    )
    values = np.concatenate([xy, confidence[..., None]], axis=-1).reshape(len(xy), -1)
    return pd.DataFrame(values, columns=columns, index=list(index))


def write_predictions(df, stem: str | Path) -> tuple[Path, Path]:
    """``stem.h5`` (key ``df_with_missing``, as DeepLabCut writes) and ``stem.csv``, atomically."""
    stem = Path(stem)
    h5, csv = stem.with_name(stem.name + ".h5"), stem.with_name(stem.name + ".csv")
    with atomic_path(h5) as tmp:
        df.to_hdf(tmp, key="df_with_missing", format="table", mode="w")
    with atomic_path(csv) as tmp:
        df.to_csv(tmp)
    return h5, csv


def default_scorer(model_path: str | Path) -> str:
    """``synthmouse_<model folder name>``."""
    path = Path(model_path)
    name = path.parent.name if path.suffix == ".pt" else path.name
    return f"synthmouse_{name}"
