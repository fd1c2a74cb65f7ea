"""Sets of frames to compare: a synthetic dataset, a real labelled DeepLabCut project or image folder, a video.

A :class:`FrameSet` holds grayscale images (every measure here works on intensity: the real cameras are
grayscale, and colour would be a trivial cue) and, where labels exist, their keypoints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from ..dataset.layout import STATE_DIR
from ..dataset.rows import RowStore, rle_to_mask
from ..io.label_checks import validate_label_rows
from ..io.labels import LabelledFrames, read_dlc_table, session_label_files
from ..io.video import VIDEO_SUFFIXES, VideoError, open_video
from .errors import MetricsError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")

ProgressFn = Callable[[str, int, int], None]
"""``progress(step, done, total)``: called as a long step advances (the CLI draws rich progress bars)."""


@dataclass(frozen=True)
class FrameSet:
    """Frames of one domain.

    Attributes:
        name: ``"real"``, ``"synthetic"`` ...
        source: the folder or video they came from.
        keys: ``(F,)`` where each frame came from: an image path relative to ``source`` or ``video.mp4#N``.
        images: ``(F, H, W) uint8`` grayscale.
        keypoints: ``(F, K, 2) float64`` pixel coordinates (NaN unlabelled), or None without labels.
        keypoint_names: ``(K,)`` names of the keypoints (empty without labels).
    """

    name: str
    source: Path
    keys: tuple[str, ...]
    images: np.ndarray
    keypoints: np.ndarray | None = None
    keypoint_names: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def size(self) -> tuple[int, int]:
        """Image ``(width, height)`` in pixels."""
        return int(self.images.shape[2]), int(self.images.shape[1])

    @property
    def has_labels(self) -> bool:
        return self.keypoints is not None and bool(np.isfinite(self.keypoints).any())

    def subset(self, index: np.ndarray | list[int]) -> FrameSet:
        """The frames at ``index`` (an integer array or list), in that order."""
        index = np.asarray(index, dtype=int)
        return replace(
            self,
            keys=tuple(self.keys[i] for i in index),
            images=self.images[index],
            keypoints=None if self.keypoints is None else self.keypoints[index],
        )


def even_picks(count: int, max_count: int) -> np.ndarray:
    """``(n,) int`` indices of at most ``max_count`` items spread evenly over ``range(count)``."""
    if count <= 0:
        return np.zeros(0, dtype=int)
    return np.unique(np.linspace(0, count - 1, min(max_count, count)).round().astype(int))


def load_frame_set(
    path: str | Path,
    name: str,
    session: str | None = None,
    max_frames: int = 500,
    labels: str | Path | None = None,
    pcutoff: float = 0.6,
    progress: ProgressFn | None = None,
) -> FrameSet:
    """Load up to ``max_frames`` evenly spaced frames (grayscale) and their keypoints where labelled.

    Args:
        path: a DeepLabCut project or synthmouse dataset (images under ``labeled-data/<session>/``), a folder of
            images (labels from ``CollectedData_*.csv`` inside it, if any), or a video file.
        name: what to call the set in messages and the report.
        session: only this ``labeled-data`` sub-folder (a synthmouse camera is session ``synth_<camera>``).
        max_frames: upper bound on frames read (memory and time stay bounded).
        labels: a keypoint table to use instead of the ``CollectedData`` files (for a video: DeepLabCut
            predictions whose index is the frame number).
        pcutoff: predictions with a lower likelihood are treated as unlabelled.
        progress: ``progress(step, done, total)`` callback.

    Labels go through :func:`synthmouse.io.label_checks.validate_label_rows` first: every row of each
    ``CollectedData`` table of a labelled folder (values, at least one label, each labelled image present,
    decodable and holding its labels), and the values of a ``labels`` table.

    Raises:
        MetricsError: a missing path, no images, frames of different sizes, an unreadable image or video.
        synthmouse.io.label_checks.LabelError: what the label validation found (file, row, keypoint, value),
            or a label table that cannot be read.
    """
    path = Path(path)
    table = read_dlc_table(labels).confident(pcutoff) if labels is not None else None
    if table is not None:
        validate_label_rows(table.source, table.keys, table.names, table.xy, first_line=table.first_line)
    elif path.is_dir() and not _is_synthmouse_dataset(path):
        validate_label_tables(path, session)
    if path.is_file():
        if path.suffix.lower() not in VIDEO_SUFFIXES:
            raise MetricsError(f"{name} data {path}: not a video ({', '.join(VIDEO_SUFFIXES)}) and not a folder")
        return _load_video(path, name, max_frames, table, progress)
    if not path.is_dir():
        raise MetricsError(f"{name} data {path}: no such folder or video file")
    files = _image_files(path, name, session)
    picks = even_picks(len(files), max_frames)
    files = [files[i] for i in picks]
    images = _read_images(files, name, progress)
    keys = tuple(f.relative_to(path).as_posix() for f in files)
    if table is None and _is_synthmouse_dataset(path):
        keypoints, names = _synthmouse_keypoints(path, keys)
    else:
        keypoints, names = _labels_for_files(path, files, table)
    return FrameSet(name=name, source=path, keys=keys, images=images, keypoints=keypoints, keypoint_names=names)


def validate_label_tables(root: str | Path, session: str | None = None) -> None:
    """Validate the ``CollectedData`` table read for each image folder under ``root`` (every
    ``labeled-data/<session>`` folder, even one whose images are all gone, or ``root`` itself): its rows' images
    are resolved next to the table (see :func:`synthmouse.io.label_checks.validate_label_rows`)."""
    root = Path(root)
    data = root / "labeled-data"
    folders = sorted(d for d in data.iterdir() if d.is_dir()) if data.is_dir() else [root]
    for folder in folders:
        if session is not None and folder.name != session and folder != root:
            continue
        found = session_label_files(folder, prefer=".csv")
        if not found:
            continue
        table = read_dlc_table(found[0])
        images = [folder / Path(k).name for k in table.keys]
        validate_label_rows(table.source, table.keys, table.names, table.xy, images, table.first_line)


def sessions_of(root: str | Path) -> list[str]:
    """Names of the ``labeled-data`` sub-folders of ``root`` that hold images (sorted)."""
    folder = Path(root) / "labeled-data"
    if not folder.is_dir():
        return []
    return sorted(d.name for d in folder.iterdir() if d.is_dir() and _images_in(d))


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _image_files(root: Path, name: str, session: str | None) -> list[Path]:
    sessions = sessions_of(root)
    if session is not None:
        if session not in sessions:
            raise MetricsError(
                f"{name} data {root}: no labeled-data/{session} folder with images; "
                f"found: {', '.join(sessions) or 'none'}"
            )
        sessions = [session]
    if sessions:
        return [f for s in sessions for f in _images_in(root / "labeled-data" / s)]
    files = _images_in(root)
    if not files:
        raise MetricsError(
            f"{name} data {root}: no images ({', '.join(IMAGE_SUFFIXES)}) in the folder or in "
            "labeled-data/<session>/ under it"
        )
    return files


def _read_images(files: list[Path], name: str, progress: ProgressFn | None) -> np.ndarray:
    images: list[np.ndarray] = []
    for i, f in enumerate(files):
        image = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise MetricsError(f"{name} data: {f} is not a readable image")
        if images and image.shape != images[0].shape:
            raise MetricsError(
                f"{name} data: {f} is {image.shape[1]}x{image.shape[0]} but {files[0]} is "
                f"{images[0].shape[1]}x{images[0].shape[0]}; all frames of a set must have one size"
            )
        images.append(image)
        if progress is not None:
            progress(f"read {name} frames", i + 1, len(files))
    return np.stack(images)


def _is_synthmouse_dataset(root: Path) -> bool:

    return (root / STATE_DIR / "rows").is_dir()


def _synthmouse_keypoints(root: Path, keys: tuple[str, ...]) -> tuple[np.ndarray, tuple[str, ...]]:
    """``(F, K, 2)`` projected keypoints of a synthmouse dataset's images from its per-frame label rows,
    occluded keypoints included (the DeepLabCut tables leave them out), NaN outside the image."""
    import re

    store = RowStore(root / STATE_DIR / "rows")
    rows, names = [], None
    for key in keys:
        digits = re.findall(r"\d+", Path(key).stem)
        xy = None
        if digits and store.has(int(digits[-1])):
            for view in store.read(int(digits[-1])).views:
                if view.image == key:
                    names = names or tuple(view.names)
                    xy = np.where(view.in_image[:, None], view.xy, np.nan) if tuple(view.names) == names else None
        rows.append(xy)
    if names is None:
        return None, ()
    out = np.full((len(keys), len(names), 2), np.nan)
    for i, xy in enumerate(rows):
        if xy is not None:
            out[i] = xy
    return out, names


def render_masks(frames: FrameSet) -> Iterator[np.ndarray] | None:
    """The rendered mouse masks of a synthmouse dataset's frames, one ``(H, W) bool`` at a time (from its label
    rows), or None when ``frames`` is not such a dataset or a frame has no row.
    """
    import re

    if not frames.source.is_dir() or not _is_synthmouse_dataset(frames.source):
        return None
    store = RowStore(frames.source / STATE_DIR / "rows")
    indices = []
    for key in frames.keys:
        digits = re.findall(r"\d+", Path(key).stem)
        if not digits or not store.has(int(digits[-1])):
            return None
        indices.append(int(digits[-1]))

    def masks() -> Iterator[np.ndarray]:

        for key, index in zip(frames.keys, indices, strict=True):
            view = next((v for v in store.read(index).views if v.image == key), None)
            if view is None:
                raise MetricsError(f"{frames.source}: label row {index} has no view for {key}")
            yield rle_to_mask(view.rle, view.height, view.width)

    return masks()


def _labels_for_files(
    root: Path, files: list[Path], table: LabelledFrames | None
) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """``(F, K, 2)`` keypoints of each file from ``table`` or the CollectedData table of its folder."""
    tables: dict[Path, LabelledFrames | None] = {}
    rows: list[tuple[LabelledFrames, np.ndarray] | None] = []
    for f in files:
        source = table
        if source is None:
            if f.parent not in tables:
                found = session_label_files(f.parent, prefer=".csv")
                tables[f.parent] = read_dlc_table(found[0]) if found else None
            source = tables[f.parent]
        xy = None
        if source is not None:
            xy = source.lookup(f.relative_to(root).as_posix())
            if xy is None:
                xy = source.lookup(f"labeled-data/{f.parent.name}/{f.name}")
        rows.append(None if xy is None else (source, xy))
    known = [r for r in rows if r is not None]
    if not known:
        return None, ()
    names = known[0][0].names
    out = np.full((len(files), len(names), 2), np.nan)
    for i, row in enumerate(rows):
        if row is None:
            continue
        src, xy = row
        for k, n in enumerate(names):
            if n in src.names:
                out[i, k] = xy[src.names.index(n)]
    return out, tuple(names)


def _load_video(
    path: Path, name: str, max_frames: int, table: LabelledFrames | None, progress: ProgressFn | None
) -> FrameSet:
    try:
        with open_video(path) as video:
            count = video.n_frames
            wanted = even_picks(count, max_frames) if count > 0 else np.arange(max_frames)
            if table is not None:  # prefer frames that carry predictions
                labelled = [int(k) for k in table.keys if k.isdigit()]
                if labelled:
                    wanted = np.asarray(sorted(labelled))[even_picks(len(labelled), max_frames)]
            images, frame_numbers = _grab_frames(video, wanted, name, progress)
    except VideoError as exc:
        raise MetricsError(f"{name} data: {exc}") from None
    if not images:
        raise MetricsError(f"{name} data {path}: no frames could be read from the video")
    keypoints, names = None, ()
    if table is not None:
        names = table.names
        keypoints = np.full((len(images), len(names), 2), np.nan)
        for i, n in enumerate(frame_numbers):
            xy = table.lookup(str(n))
            if xy is not None:
                keypoints[i] = xy
    keys = tuple(f"{path.name}#{n}" for n in frame_numbers)
    return FrameSet(
        name=name, source=path, keys=keys, images=np.stack(images), keypoints=keypoints, keypoint_names=tuple(names)
    )


def _grab_frames(
    video, wanted: np.ndarray, name: str, progress: ProgressFn | None
) -> tuple[list[np.ndarray], list[int]]:
    """Grayscale frames ``wanted`` (frame numbers) of an open :class:`synthmouse.io.video.VideoReader`, decoded
    in one pass, and their numbers."""
    images, numbers = [], []
    total = len(set(int(w) for w in wanted))
    for index, frame in video.frames(wanted, "gray"):
        images.append(frame)
        numbers.append(index)
        if progress is not None:
            progress(f"read {name} frames", len(images), total)
    return images, numbers
