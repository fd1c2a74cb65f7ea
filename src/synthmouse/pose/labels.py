"""Labelled frames in DeepLabCut's layout: reading, keypoint-name mapping, left/right pairs.

A *labelled set* is a list of image paths with one ``(K, 2)`` array of pixel coordinates each (NaN where a
keypoint is not labelled), in one keypoint order. DeepLabCut projects (``labeled-data/<session>/
CollectedData_<scorer>.h5`` or ``.csv``), a single ``labeled-data/<session>`` folder, or one label file are read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SynthmouseError

TRAINING_FRAMES_FILE = "training_frames.json"
"""The record, in a model folder, of the frames the model was trained on (:func:`synthmouse.pose.train.
write_training_frames`; read by :func:`synthmouse.pose.evaluate.training_frame_mask`)."""


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class PoseDataError(SynthmouseError):
    """Labelled data for the pose network is missing or malformed."""


@dataclass(frozen=True)
class LabelledSet:
    """Images with keypoints: ``images`` (N paths), ``keypoints (N, K, 2) float64`` (NaN: unlabelled),
    ``names`` (K keypoint names), ``keys`` (N row names as in the label file) and, once the images were checked
    (:func:`read_labels`, :func:`read_synthmouse_rows`), ``sizes (N, 2) int`` (width, height) or None."""

    images: tuple[Path, ...]
    keypoints: np.ndarray
    names: tuple[str, ...]
    keys: tuple[str, ...]
    sizes: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, indices: Sequence[int]) -> LabelledSet:
        """The rows ``indices`` (in that order)."""
        idx = [int(i) for i in indices]
        return LabelledSet(
            tuple(self.images[i] for i in idx),
            self.keypoints[idx].copy(),
            self.names,
            tuple(self.keys[i] for i in idx),
            None if self.sizes is None else self.sizes[idx],
        )

    def reorder(self, names: Sequence[str]) -> LabelledSet:
        """The same rows with keypoints in the order ``names``; names this set lacks become NaN columns."""
        out = np.full((len(self), len(names), 2), np.nan)
        for j, name in enumerate(names):
            if name in self.names:
                out[:, j] = self.keypoints[:, self.names.index(name)]
        return LabelledSet(self.images, out, tuple(names), self.keys, self.sizes)

    def renamed(self, mapping: Mapping[str, str]) -> LabelledSet:
        """Keypoint names replaced through ``mapping`` (names not in it are kept)."""
        return LabelledSet(
            self.images, self.keypoints, tuple(mapping.get(n, n) for n in self.names), self.keys, self.sizes
        )


def concatenate(sets: Sequence[LabelledSet]) -> LabelledSet:
    """Rows of several sets with the same keypoint names, one after another."""
    if not sets:
        raise PoseDataError("no labelled sets to concatenate")
    names = sets[0].names
    sets = [s.reorder(names) for s in sets]
    sizes = None if any(s.sizes is None for s in sets) else np.concatenate([s.sizes for s in sets])
    return LabelledSet(
        sum((s.images for s in sets), ()),
        np.concatenate([s.keypoints for s in sets]),
        names,
        sum((s.keys for s in sets), ()),
        sizes,
    )


def label_files(path: str | Path) -> list[Path]:
    """The DeepLabCut label files (``CollectedData_*.h5``, else ``.csv``) under ``path`` (a project, a
    ``labeled-data/<session>`` folder or one label file), sorted."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise PoseDataError(f"{path}: no such file or folder (expected a DeepLabCut project or label file)")
    data = path / "labeled-data"
    folders = sorted(p for p in data.iterdir() if p.is_dir()) if data.is_dir() else [path]
    found: list[Path] = []
    for folder in folders:
        found += sorted(folder.glob("CollectedData_*.h5")) or sorted(folder.glob("CollectedData_*.csv"))
    if not found:
        raise PoseDataError(
            f"{path}: no CollectedData_*.h5 or .csv label file found (a DeepLabCut project's "
            "labeled-data/<session>/ folders hold them)"
        )
    return found


def read_label_table(file: Path):
    """One DeepLabCut label file as a pandas DataFrame (columns scorer/bodyparts/coords; see
    :func:`synthmouse.dataset.real_labels.read_label_table`)."""
    from ..dataset.real_labels import read_label_table as read_table  # the dataset package is slow to import

    return read_table(file, PoseDataError)


def _row_key(index_value) -> str:
    if isinstance(index_value, tuple):  # DeepLabCut 2.2+: (labeled-data, session, image)
        return "/".join(str(v) for v in index_value)
    return str(index_value)


def read_labels(path: str | Path) -> LabelledSet:
    """All labelled frames under ``path`` (see :func:`label_files`); images resolved next to the label file.

    Every file's rows go through :func:`synthmouse.dataset.real_labels.validate_label_rows` (values finite and
    sane, something labelled, every image present, decodable and holding its labels).

    Raises:
        PoseDataError: no label file, an unreadable table.
        synthmouse.dataset.real_labels.LabelError: what the validation found (file, row, keypoint, value).
    """
    from ..dataset.real_labels import validate_label_rows  # the dataset package is slow to import: lazily

    sets = []
    for file in label_files(path):
        df = read_label_table(file)
        names = list(dict.fromkeys(df.columns.get_level_values(1)))
        first_line = 4 if file.suffix.lower() == ".csv" else None  # three header rows in a DeepLabCut CSV file
        coords = np.stack(
            [np.stack([_column(df, file, bp, c, first_line) for c in ("x", "y")], axis=-1) for bp in names], axis=1
        )
        keys = [_row_key(v) for v in df.index]
        images = [file.parent / Path(k).name for k in keys]
        sizes = validate_label_rows(file, keys, names, coords, images, first_line)
        sets.append(LabelledSet(tuple(images), coords, tuple(names), tuple(keys), sizes))
    return concatenate(sets)


def _column(df, file: Path, bodypart: str, coord: str, first_line: int | None) -> np.ndarray:
    """``(N,) float64`` of one ``bodypart``/``coord`` column of a label table."""
    from ..dataset.real_labels import row_place

    try:
        column = df.xs((bodypart, coord), axis=1, level=(1, 2)).iloc[:, 0]
    except KeyError:
        raise PoseDataError(
            f"{file}: keypoint {bodypart!r} has no {coord!r} column (each body part needs x and y)"
        ) from None
    try:
        return column.to_numpy(np.float64)
    except (TypeError, ValueError):
        bad = next(v for v in column if not _is_number(v))
        row = list(column).index(bad)
        raise PoseDataError(
            f"{row_place(file, row, _row_key(column.index[row]), first_line)}: {bodypart} "
            f"{coord} = {bad!r} is not a number; allowed: a number or empty"
        ) from None


def _is_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def parse_mapping(items: Sequence[str] | None) -> dict[str, str]:
    """``["snout=nose", ...]`` (``REAL=SYNTHETIC``: a name in the user's labels = the synthetic or model name;
    comma-separated items allowed) as ``{real: synthetic}``
    (:func:`synthmouse.dataset.keypoint_match.parse_mapping`, the one parser of every command)."""
    from ..dataset.keypoint_match import parse_mapping as parse

    return parse(items)


_SIDE_PATTERNS = (
    (re.compile(r"left", re.I), "left", "right"),
    (re.compile(r"right", re.I), "right", "left"),
    (re.compile(r"(^|_)l($|_)"), "l", "r"),
    (re.compile(r"(^|_)r($|_)"), "r", "l"),
)


def mirror_name(name: str) -> str | None:
    """The other side's name (``leftear`` -> ``rightear``, ``left_paw`` -> ``right_paw``, ``hip_l`` ->
    ``hip_r``, case kept), or None for a midline name."""
    for pattern, this, other in _SIDE_PATTERNS:
        m = pattern.search(name)
        if m:
            text = m.group(0)
            repl = (
                text.replace(this, other)
                if text.islower() or this in ("l", "r")
                else text.replace(this.capitalize(), other.capitalize()).replace(this.upper(), other.upper())
            )
            return name[: m.start()] + repl + name[m.end() :]
    return None


def flip_permutation(names: Sequence[str]) -> np.ndarray:
    """``(K,) int``: the index each keypoint takes after a mirror flip (left/right pairs swapped)."""
    perm = np.arange(len(names))
    for j, name in enumerate(names):
        other = mirror_name(name)
        if other is not None and other in names:
            perm[j] = list(names).index(other)
    return perm


def read_synthmouse_rows(dataset: str | Path, camera: str | None = None) -> LabelledSet | None:
    """Labels of a synthmouse dataset from its per-frame rows (``.synthmouse/rows``), keeping keypoints that
    project inside the image even when occluded (the body itself hides e.g. the tail base from a top camera,
    where a human labeller would still click it); None when ``dataset`` has no rows.

    DeepLabCut's export holds only visible keypoints; for training a top-down network the occluded-but-in-
    image positions are the better target (they are what human labels mean on real frames). Every image must
    exist and decode (:func:`synthmouse.dataset.real_labels.check_label_images`).
    """
    from ..dataset.rows import RowStore

    root = Path(dataset)
    store = RowStore(root / ".synthmouse" / "rows")
    indices = sorted(store.done())
    if not indices:
        return None
    images, coords, keys, names = [], [], [], None
    for row in store.iter_rows(indices):
        for view in row.views:
            if camera is not None and view.camera != camera:
                continue
            names = names or tuple(view.names)
            xy = np.where(view.in_image[:, None], view.xy, np.nan)
            images.append(root / view.image)
            coords.append(xy)
            keys.append(view.image)
    if not images:
        raise PoseDataError(f"{root}: no rows of camera {camera!r}")
    from ..dataset.real_labels import check_label_images

    coords = np.asarray(coords, dtype=np.float64)
    sizes = check_label_images(
        store.folder, keys, names, coords, images, fix="the dataset is damaged: generate it again into a new folder"
    )
    return LabelledSet(tuple(images), coords, names, tuple(keys), sizes)


def read_training_labels(path: str | Path, occluded: bool = True) -> LabelledSet:
    """A synthmouse dataset's labels with occluded in-image keypoints (``occluded``; see
    :func:`read_synthmouse_rows`), else the DeepLabCut label files (:func:`read_labels`)."""
    if occluded and Path(path).is_dir():
        data = read_synthmouse_rows(path)
        if data is not None:
            return data
    return read_labels(path)
