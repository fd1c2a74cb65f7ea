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


class PoseDataError(SynthmouseError):
    """Labelled data for the pose network is missing or malformed."""


@dataclass(frozen=True)
class LabelledSet:
    """Images with keypoints: ``images`` (N paths), ``keypoints (N, K, 2) float64`` (NaN: unlabelled),
    ``names`` (K keypoint names), ``keys`` (N row names as in the label file)."""

    images: tuple[Path, ...]
    keypoints: np.ndarray
    names: tuple[str, ...]
    keys: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, indices: Sequence[int]) -> LabelledSet:
        """The rows ``indices`` (in that order)."""
        idx = [int(i) for i in indices]
        return LabelledSet(tuple(self.images[i] for i in idx), self.keypoints[idx].copy(), self.names,
                           tuple(self.keys[i] for i in idx))

    def reorder(self, names: Sequence[str]) -> LabelledSet:
        """The same rows with keypoints in the order ``names``; names this set lacks become NaN columns."""
        out = np.full((len(self), len(names), 2), np.nan)
        for j, name in enumerate(names):
            if name in self.names:
                out[:, j] = self.keypoints[:, self.names.index(name)]
        return LabelledSet(self.images, out, tuple(names), self.keys)

    def renamed(self, mapping: Mapping[str, str]) -> LabelledSet:
        """Keypoint names replaced through ``mapping`` (names not in it are kept)."""
        return LabelledSet(self.images, self.keypoints, tuple(mapping.get(n, n) for n in self.names), self.keys)


def concatenate(sets: Sequence[LabelledSet]) -> LabelledSet:
    """Rows of several sets with the same keypoint names, one after another."""
    if not sets:
        raise PoseDataError("no labelled sets to concatenate")
    names = sets[0].names
    sets = [s.reorder(names) for s in sets]
    return LabelledSet(sum((s.images for s in sets), ()), np.concatenate([s.keypoints for s in sets]), names,
                       sum((s.keys for s in sets), ()))


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
        raise PoseDataError(f"{path}: no CollectedData_*.h5 or .csv label file found (a DeepLabCut project's "
                            "labeled-data/<session>/ folders hold them)")
    return found


def read_label_table(file: Path):
    """One DeepLabCut label file as a pandas DataFrame (columns scorer/bodyparts/coords)."""
    import pandas as pd

    try:
        if file.suffix == ".h5":
            df = pd.read_hdf(file)
        else:
            df = pd.read_csv(file, header=[0, 1, 2], index_col=0)
    except Exception as exc:  # pandas raises many types for bad files
        raise PoseDataError(f"{file}: cannot read a DeepLabCut label table ({exc})") from None
    if df.columns.nlevels == 4:  # multi-animal: keep the first individual
        first = df.columns.get_level_values(1)[0]
        df = df.xs(first, axis=1, level=1, drop_level=True)
    if df.columns.nlevels != 3:
        raise PoseDataError(f"{file}: expected 3 column levels (scorer, bodyparts, coords), "
                            f"got {df.columns.nlevels}")
    return df


def _row_key(index_value) -> str:
    if isinstance(index_value, tuple):  # DeepLabCut 2.2+: (labeled-data, session, image)
        return "/".join(str(v) for v in index_value)
    return str(index_value)


def read_labels(path: str | Path) -> LabelledSet:
    """All labelled frames under ``path`` (see :func:`label_files`); images resolved next to the label file."""
    sets = []
    for file in label_files(path):
        df = read_label_table(file)
        names = list(dict.fromkeys(df.columns.get_level_values(1)))
        coords = np.stack([np.stack([df.xs((bp, c), axis=1, level=(1, 2)).iloc[:, 0].to_numpy(np.float64)
                                     for c in ("x", "y")], axis=-1) for bp in names], axis=1)
        keys = [_row_key(v) for v in df.index]
        images = [file.parent / Path(k).name for k in keys]
        missing = [p for p in images if not p.is_file()]
        if missing:
            raise PoseDataError(f"{file}: {len(missing)} labelled images not found, e.g. {missing[0]}")
        sets.append(LabelledSet(tuple(images), coords, tuple(names), tuple(keys)))
    return concatenate(sets)


def parse_mapping(items: Sequence[str] | None) -> dict[str, str]:
    """``["snout=nose", ...]`` (model name = label-file name) as a dict; comma-separated items allowed."""
    out: dict[str, str] = {}
    for item in items or ():
        for part in str(item).split(","):
            part = part.strip()
            if not part:
                continue
            if part.count("=") != 1 or not all(s.strip() for s in part.split("=")):
                raise PoseDataError(f"--map {part!r}: expected MODEL_NAME=LABEL_NAME, e.g. snout=nose")
            a, b = (s.strip() for s in part.split("="))
            out[a] = b
    return out


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
            repl = text.replace(this, other) if text.islower() or this in ("l", "r") else \
                text.replace(this.capitalize(), other.capitalize()).replace(this.upper(), other.upper())
            return name[:m.start()] + repl + name[m.end():]
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
    image positions are the better target (they are what human labels mean on real frames).
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
    return LabelledSet(tuple(images), np.asarray(coords, dtype=np.float64), names, tuple(keys))


def read_training_labels(path: str | Path, occluded: bool = True) -> LabelledSet:
    """A synthmouse dataset's labels with occluded in-image keypoints (``occluded``; see
    :func:`read_synthmouse_rows`), else the DeepLabCut label files (:func:`read_labels`)."""
    if occluded and Path(path).is_dir():
        data = read_synthmouse_rows(path)
        if data is not None:
            return data
    return read_labels(path)
