"""Labelled frames from real-world tools: one type, :class:`LabelledFrames`, and one reader, :func:`read_labels`.

Read are:

* DeepLabCut label tables and predictions (``.csv`` with the header rows ``scorer``, optional ``individuals``,
  ``bodyparts``, ``coords``, or ``.h5``): human labels (``CollectedData_<scorer>``; one index column holding
  ``labeled-data/<session>/img.png`` as DeepLabCut 2 writes it, or three as DeepLabCut 3 and synthmouse write
  it) and predictions on a video (the frame number as index, ``x, y, likelihood`` per body part);
  multi-animal tables give one individual (the first unless named);
* DeepLabCut projects (``labeled-data/<session>/CollectedData_*.h5``, else ``.csv``), one ``labeled-data``
  session folder, and Lightning Pose projects (``CollectedData.csv`` in DeepLabCut's CSV layout at the
  project root, image paths relative to it; one ``CollectedData_<view>.csv`` per view for several views);
* SLEAP ``.slp`` files (labels or predictions, through sleap-io): the first video, one track (the first
  instance of each frame when untracked, the best-scoring among predictions).

With ``check=True`` every label file's rows go through
:func:`synthmouse.io.label_checks.validate_label_rows` (values finite and sane, something labelled, every image
present, decodable and holding its labels). Messages name the file, the row (``line N`` of a CSV file, ``row N``
of a table without lines) with its image, the keypoint column, the bad value and what is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .label_checks import LabelError, row_place, validate_label_rows

HEADER_NAMES = ("scorer", "individuals", "bodyparts", "coords")
TABLE_SUFFIXES = (".csv", ".h5", ".hdf5")
LABEL_SUFFIXES = (*TABLE_SUFFIXES, ".slp")


@dataclass(frozen=True)
class LabelledFrames:
    """Keypoints of labelled images or video frames, one animal, one keypoint order.

    Attributes:
        names: ``(K,)`` keypoint (body part) names as in the file.
        xy: ``(N, K, 2) float64`` pixel coordinates (OpenCV / DeepLabCut convention); NaN where unlabelled.
        keys: ``(N,)`` row names as in the file: image paths (``labeled-data/s/img0.png``) or frame numbers.
        frames: ``(N,) int64`` the frame number of each row in its video (SLEAP), else the row's position in
            its table (predictions on a video are numbered from 0).
        confidence: ``(N, K) float64`` likelihood / score in [0, 1] (1 for human labels); 0 where unlabelled.
        images: ``(N,)`` the image file of each row (next to the label file or under the project), or ``()``
            where rows are video frames.
        sizes: ``(N, 2) int`` image sizes (width, height) once the images were checked, else None.
        source: the file(s) read.
        first_line: the line of the first data row of a single CSV file (1-based; for messages), else None.
    """

    names: tuple[str, ...]
    xy: np.ndarray
    keys: tuple[str, ...]
    frames: np.ndarray = field(default=None)  # type: ignore[assignment]
    confidence: np.ndarray = field(default=None)  # type: ignore[assignment]
    images: tuple[Path, ...] = ()
    sizes: np.ndarray | None = None
    source: str = ""
    first_line: int | None = None

    def __post_init__(self) -> None:
        xy = np.asarray(self.xy, dtype=np.float64)
        object.__setattr__(self, "xy", xy)
        object.__setattr__(self, "names", tuple(str(n) for n in self.names))
        object.__setattr__(self, "keys", tuple(str(k) for k in self.keys))
        object.__setattr__(self, "images", tuple(Path(p) for p in self.images))
        if self.frames is None:
            object.__setattr__(self, "frames", np.arange(len(xy), dtype=np.int64))
        if self.confidence is None:
            labelled = np.isfinite(xy).all(-1) if xy.ndim == 3 else np.zeros(xy.shape[:2], bool)
            object.__setattr__(self, "confidence", labelled.astype(np.float64))

    def __len__(self) -> int:
        return len(self.keys)

    def subset(self, indices: Sequence[int] | np.ndarray) -> LabelledFrames:
        """The rows ``indices`` (in that order)."""
        idx = [int(i) for i in indices]
        return replace(
            self,
            xy=self.xy[idx].copy(),
            keys=tuple(self.keys[i] for i in idx),
            frames=self.frames[idx],
            confidence=self.confidence[idx],
            images=tuple(self.images[i] for i in idx) if self.images else (),
            sizes=None if self.sizes is None else self.sizes[idx],
            first_line=None,
        )

    def select(self, names: Sequence[str], mapping: Mapping[str, str] | None = None) -> LabelledFrames:
        """The same rows with keypoints in the order ``names``; ``mapping`` maps a wanted name to this set's
        name (default: the same name). Names this set lacks become NaN columns with confidence 0."""
        mapping = mapping or {}
        index = {n: i for i, n in enumerate(self.names)}
        xy = np.full((len(self.xy), len(names), 2), np.nan)
        conf = np.zeros((len(self.xy), len(names)))
        for k, name in enumerate(names):
            src = mapping.get(name, name)
            if src in index:
                xy[:, k] = self.xy[:, index[src]]
                conf[:, k] = self.confidence[:, index[src]]
        return replace(self, names=tuple(names), xy=xy, confidence=conf)

    def reorder(self, names: Sequence[str]) -> LabelledFrames:
        """The same rows with keypoints in the order ``names`` (names this set lacks: NaN columns)."""
        return self.select(names)

    def renamed(self, mapping: Mapping[str, str]) -> LabelledFrames:
        """Keypoint names replaced through ``mapping`` (names not in it are kept)."""
        return replace(self, names=tuple(mapping.get(n, n) for n in self.names))

    def confident(self, pcutoff: float) -> LabelledFrames:
        """Keypoints with ``confidence < pcutoff`` made unlabelled (NaN, confidence 0)."""
        low = self.confidence < pcutoff
        xy = np.where(low[..., None], np.nan, self.xy)
        return replace(self, xy=xy, confidence=np.where(low, 0.0, self.confidence))

    def dense(self) -> LabelledFrames:
        """One row per frame number ``0 ... max(frames)`` (frames without a row: NaN, confidence 0), as a
        retargeting run reads a video's predictions."""
        n = int(self.frames.max()) + 1 if len(self.frames) else 0
        xy = np.full((n, len(self.names), 2), np.nan)
        conf = np.zeros((n, len(self.names)))
        xy[self.frames] = self.xy
        conf[self.frames] = self.confidence
        keys = tuple(str(i) for i in range(n))
        return replace(
            self, xy=xy, keys=keys, frames=np.arange(n), confidence=conf, images=(), sizes=None, first_line=None
        )

    def lookup(self, key: str) -> np.ndarray | None:
        """``(K, 2)`` keypoints of the row whose key is ``key`` (or whose file name is ``key``'s), else None."""
        index: dict[str, int] = {}
        for i, k in enumerate(self.keys):
            index.setdefault(k, i)
            index.setdefault(Path(k).name, i)
        row = index.get(key)
        if row is None:
            row = index.get(Path(key).name)
        return None if row is None else self.xy[row]


def concatenate(sets: Sequence[LabelledFrames]) -> LabelledFrames:
    """Rows of several sets one after another, in the keypoint order of the first (the others reordered)."""
    if not sets:
        raise LabelError("no labelled sets to concatenate")
    if len(sets) == 1:
        return sets[0]
    names = sets[0].names
    sets = [s.reorder(names) for s in sets]
    sizes = None if any(s.sizes is None for s in sets) else np.concatenate([s.sizes for s in sets])
    images = sum((s.images for s in sets), ()) if all(s.images or not len(s) for s in sets) else ()
    return LabelledFrames(
        names=names,
        xy=np.concatenate([s.xy for s in sets]),
        keys=sum((s.keys for s in sets), ()),
        frames=np.concatenate([s.frames for s in sets]),
        confidence=np.concatenate([s.confidence for s in sets]),
        images=images,
        sizes=sizes,
        source=", ".join(dict.fromkeys(s.source for s in sets)),
    )


# ---------------------------------------------------------------------- the reader
def read_labels(path: str | Path, individual: str | int | None = None, *, check: bool = False) -> LabelledFrames:
    """Labelled frames from a label file or project folder (see the module docstring).

    Args:
        path: a DeepLabCut ``.csv``/``.h5`` table, a SLEAP ``.slp`` file, a DeepLabCut or Lightning Pose
            project, or a ``labeled-data/<session>`` folder.
        individual: the animal of a multi-animal table or the SLEAP track (name or index); default the first.
        check: validate each label file's rows and images (:func:`validate_label_rows`); fills ``sizes``.

    Raises:
        LabelError: a missing path, an unknown file type, an unreadable table, or what the validation found.
    """
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".slp":
        return _checked(read_slp(path, individual), path, check)
    if path.is_file() and path.suffix.lower() not in TABLE_SUFFIXES:
        raise LabelError(
            f"{path}: unknown label file type {path.suffix!r}; allowed: .csv, .h5 (DeepLabCut, Lightning Pose), "
            ".slp (SLEAP), or a project folder"
        )
    return concatenate([_checked(read_dlc_table(file, individual), file, check) for file in label_files(path)])


def _checked(frames: LabelledFrames, file: Path, check: bool) -> LabelledFrames:
    if not check:
        return frames
    sizes = validate_label_rows(file, frames.keys, frames.names, frames.xy, frames.images or None, frames.first_line)
    return replace(frames, sizes=sizes)


def label_files(path: str | Path, prefer: str = ".h5") -> list[Path]:
    """The label files under ``path``: the file itself; a Lightning Pose project's ``CollectedData*.csv``; a
    DeepLabCut project's ``labeled-data/<session>/CollectedData_*`` (``prefer`` ``.h5`` or ``.csv`` where a
    session has both), or those of one session folder; sorted.

    Raises:
        LabelError: no such path, or no label file under it.
    """
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise LabelError(f"{path}: no such file or folder (expected a DeepLabCut project or label file)")
    lightning = sorted(path.glob("CollectedData*.csv"))
    if lightning and (path / "labeled-data").is_dir():
        return lightning
    data = path / "labeled-data"
    folders = sorted(p for p in data.iterdir() if p.is_dir()) if data.is_dir() else [path]
    found = [f for folder in folders for f in session_label_files(folder, prefer)]
    if not found:
        raise LabelError(
            f"{path}: no CollectedData_*.h5 or .csv label file found (a DeepLabCut project's "
            "labeled-data/<session>/ folders hold them; a Lightning Pose project has CollectedData.csv)"
        )
    return found


def session_label_files(folder: str | Path, prefer: str = ".h5") -> list[Path]:
    """The ``CollectedData_*`` tables of one session folder in the ``prefer`` format (``.h5`` or ``.csv``),
    else in the other."""
    folder = Path(folder)
    other = ".csv" if prefer == ".h5" else ".h5"
    return sorted(folder.glob(f"CollectedData_*{prefer}")) or sorted(folder.glob(f"CollectedData_*{other}"))


def read_dlc_table(path: str | Path, individual: str | int | None = None) -> LabelledFrames:
    """One DeepLabCut-layout table (``.csv`` or ``.h5``; labels or predictions) with each row's image resolved
    (the path as written under the table's folder, else the file name next to the table).

    Raises:
        LabelError: a missing file, a table without the DeepLabCut header, a value that is not a number
            (file, line, image, keypoint, value), an unknown individual.
    """
    path = Path(path)
    if not path.is_file():
        raise LabelError(f"{path}: keypoint table not found")
    first_line = None
    if path.suffix.lower() in (".h5", ".hdf5"):
        frame = _read_h5(path)
    elif path.suffix.lower() == ".csv":
        frame = _read_csv(path)
        first_line = frame.columns.nlevels + 1
    else:
        raise LabelError(
            f"{path}: unknown keypoint table type {path.suffix!r}; allowed: .csv, .h5 "
            "(DeepLabCut CollectedData_*.csv or predictions)"
        )
    frame = _one_individual(path, frame, individual)
    names, xy, likelihood = _coordinates(path, frame)
    keys = tuple(str(k) for k in frame.index)
    labelled = np.isfinite(xy).all(-1)
    confidence = np.where(labelled & np.isfinite(likelihood), np.clip(likelihood, 0.0, 1.0), 0.0)
    return LabelledFrames(
        names=names,
        xy=xy,
        keys=keys,
        confidence=confidence,
        images=tuple(resolve_image(path, k) for k in keys),
        source=str(path),
        first_line=first_line,
    )


def resolve_image(table: Path, key: str) -> Path:
    """The image of a label row: ``key`` under the table's folder when it exists there (Lightning Pose), else
    the file name next to the table (DeepLabCut's ``labeled-data/<session>/``)."""
    under = table.parent / key
    return under if key and under.is_file() else table.parent / Path(key).name


def read_label_table(file: str | Path, individual: str | int | None = None):
    """One DeepLabCut-layout table as a pandas DataFrame with the column levels ``scorer, bodyparts, coords``
    (one individual of a multi-animal table) and one index of row keys (``labeled-data/s/img.png``)."""
    file = Path(file)
    frame = _read_h5(file) if file.suffix.lower() in (".h5", ".hdf5") else _read_csv(file)
    return _one_individual(file, frame, individual)


def _read_csv(path: Path):
    """The table as a DataFrame with a (scorer[, individuals], bodyparts, coords) column MultiIndex."""
    import pandas as pd

    try:
        raw = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise LabelError(f"{path}: cannot read a DeepLabCut label table ({exc})") from None
    first = [str(v).strip().lower() for v in raw.iloc[:, 0]]
    n_header = 0
    while n_header < len(first) and first[n_header] in HEADER_NAMES:
        n_header += 1
    if n_header < 3 or first[0] != "scorer" or "bodyparts" not in first[:n_header] or "coords" not in first[:n_header]:
        raise LabelError(
            f"{path}: not a DeepLabCut table: the first column must start with the header rows "
            f"scorer, [individuals,] bodyparts, coords; found {first[:4]}"
        )
    row0 = list(raw.iloc[0])
    n_index = 1
    while n_index < len(row0) and str(row0[n_index]).strip() == "":
        n_index += 1
    levels = first[:n_header]
    columns = pd.MultiIndex.from_arrays([list(raw.iloc[r, n_index:]) for r in range(n_header)], names=levels)
    body = raw.iloc[n_header:]
    keys = ["/".join(str(v) for v in row if str(v) != "") for row in body.iloc[:, :n_index].itertuples(index=False)]
    text = body.iloc[:, n_index:].apply(lambda column: column.str.strip())
    values = text.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    for r, c in np.argwhere(np.isnan(values) & (text.to_numpy() != "")):
        try:  # "nan" written out is allowed
            values[r, c] = float(text.iat[r, c])
        except ValueError:
            part, coord = columns[c][levels.index("bodyparts")], columns[c][levels.index("coords")]
            raise LabelError(
                f"{row_place(path, int(r), keys[r], n_header + 1)}: {part} {coord} = {text.iat[r, c]!r} "
                "is not a number; allowed: a number or empty"
            ) from None
    return pd.DataFrame(values, index=pd.Index(keys), columns=columns)


def _read_h5(path: Path):
    import pandas as pd

    try:
        frame = pd.read_hdf(path)
    except (ImportError, ValueError, KeyError, OSError, TypeError) as exc:
        raise LabelError(f"{path}: cannot read this HDF5 keypoint table ({exc})") from None
    if not isinstance(frame, pd.DataFrame) or frame.columns.nlevels < 3:
        raise LabelError(f"{path}: not a DeepLabCut table (columns need the levels scorer, bodyparts, coords)")
    keys = ["/".join(str(v) for v in t) if isinstance(t, tuple) else str(t) for t in frame.index]
    frame = frame.copy()
    frame.index = pd.Index(keys)
    names = [str(n).lower() if n is not None else "" for n in frame.columns.names]
    if "bodyparts" not in names:
        names = ["scorer", *(["individuals"] if frame.columns.nlevels == 4 else []), "bodyparts", "coords"]
    frame.columns = frame.columns.set_names(names)
    bad = [c for c in frame.columns if not np.issubdtype(frame[c].dtype, np.number)]
    if bad:
        values = frame.apply(pd.to_numeric, errors="coerce")
        for c in bad:
            column = frame[c]
            wrong = [i for i, v in enumerate(column) if not _is_number(v)]
            if wrong:
                i = wrong[0]
                raise LabelError(
                    f"{row_place(path, i, keys[i])}: {c[names.index('bodyparts')]} {c[names.index('coords')]} = "
                    f"{column.iloc[i]!r} is not a number; allowed: a number or empty"
                )
        frame = values
    return frame


def _is_number(value) -> bool:
    if value is None:
        return True
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _one_individual(path: Path, frame, individual: str | int | None):
    """The columns of one individual (by name or index; default the first) of a multi-animal table; a
    single-animal table as it is. Unique body parts (DeepLabCut's ``single`` individual) are not kept."""
    columns = frame.columns
    if "individuals" not in columns.names:
        return frame
    animals = list(dict.fromkeys(str(a) for a in columns.get_level_values("individuals")))
    if individual is None:
        pick = animals[0]
    elif isinstance(individual, int) and not isinstance(individual, bool):
        if not 0 <= individual < len(animals):
            raise LabelError(f"{path}: individual index {individual} outside 0..{len(animals) - 1}; it has {animals}")
        pick = animals[individual]
    else:
        pick = str(individual)
        if pick not in animals:
            raise LabelError(f"{path}: individual {pick!r} not found; the file has {animals}")
    keep = np.array([str(a) == pick for a in columns.get_level_values("individuals")])
    return frame.loc[:, keep].droplevel("individuals", axis=1)


def _coordinates(path: Path, frame) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """``(names, xy (N, K, 2), likelihood (N, K))`` of a one-animal table (likelihood 1 without the column)."""
    columns = frame.columns
    parts = [str(p) for p in columns.get_level_values("bodyparts")]
    coords = [str(c).strip().lower() for c in columns.get_level_values("coords")]
    names = tuple(dict.fromkeys(parts))
    xy = np.full((len(frame), len(names), 2), np.nan)
    likelihood = np.ones((len(frame), len(names)))
    values = frame.to_numpy(dtype=np.float64)
    have = {(p, c) for p, c in zip(parts, coords, strict=True)}
    for col, (part, coord) in enumerate(zip(parts, coords, strict=True)):
        k = names.index(part)
        if coord in ("x", "y"):
            xy[:, k, "xy".index(coord)] = values[:, col]
        elif coord == "likelihood":
            likelihood[:, k] = values[:, col]
    if not names or not any(c == "x" for c in coords):
        raise LabelError(f"{path}: no x/y columns found (coords level holds {sorted(set(coords))})")
    lacking = [(p, c) for p in names for c in ("x", "y") if (p, c) not in have]
    if lacking:
        part, coord = lacking[0]
        raise LabelError(f"{path}: keypoint {part!r} has no {coord!r} column (each body part needs x and y)")
    return names, xy, likelihood


# ---------------------------------------------------------------------- SLEAP
def read_slp(path: str | Path, individual: str | int | None = None) -> LabelledFrames:
    """A SLEAP ``.slp`` file through sleap-io: the labelled frames of its first video, one row each (keys:
    the frame numbers); one track (by name or index, default the first instance of each frame, the
    best-scoring one among predictions). Confidence: the point scores of predictions, 1 for user labels."""
    import sleap_io

    path = Path(path)
    if not path.is_file():
        raise LabelError(f"{path}: file not found")
    try:
        labels = sleap_io.load_slp(str(path))
    except Exception as exc:  # sleap-io and h5py raise many types for bad files
        raise LabelError(f"{path}: cannot read this SLEAP file ({exc})") from None
    if not labels.skeletons:
        raise LabelError(f"{path}: no skeleton in the file")
    names = tuple(node.name for node in labels.skeletons[0].nodes)
    frames = sorted(
        (lf for lf in labels.labeled_frames if not labels.videos or lf.video == labels.videos[0]),
        key=lambda lf: lf.frame_idx,
    )
    if not frames:
        raise LabelError(f"{path}: no labelled frames")
    track = _pick_track(labels, individual, path)
    rows, xy, conf = [], [], []
    for lf in frames:
        candidates = [inst for inst in lf.instances if track is None or inst.track == track]
        if not candidates:
            continue
        inst = max(candidates, key=lambda i: float(getattr(i, "score", 1.0) or 1.0))
        points = np.asarray(inst.numpy(), dtype=np.float64)[:, :2]
        rows.append(int(lf.frame_idx))
        xy.append(points)
        conf.append(np.where(np.isfinite(points).all(-1), _point_scores(inst, len(names)), 0.0))
    if not rows:
        raise LabelError(f"{path}: no instance of track {individual!r} in any labelled frame")
    return LabelledFrames(
        names=names,
        xy=np.array(xy).reshape(len(rows), len(names), 2),
        keys=tuple(str(r) for r in rows),
        frames=np.array(rows, dtype=np.int64),
        confidence=np.array(conf).reshape(len(rows), len(names)),
        source=str(path),
    )


def recorded_fps(path: str | Path) -> float | None:
    """The frame rate a label file records, or None: SLEAP files carry their first video's fps when sleap-io
    knows it; DeepLabCut tables carry none."""
    path = Path(path)
    if path.suffix.lower() != ".slp":
        return None
    import sleap_io

    labels = sleap_io.load_slp(str(path))
    fps = getattr(labels.videos[0], "fps", None) if labels.videos else None
    try:
        fps = float(fps) if fps is not None else None
    except (TypeError, ValueError):
        return None
    return fps if fps is not None and np.isfinite(fps) and fps > 0 else None


def _pick_track(labels, individual, path: Path):
    tracks = list(labels.tracks)
    if individual is None or not tracks:
        return None
    if isinstance(individual, int) and not isinstance(individual, bool):
        if not 0 <= individual < len(tracks):
            raise LabelError(f"{path}: track index {individual} outside 0..{len(tracks) - 1}")
        return tracks[individual]
    for t in tracks:
        if t.name == str(individual):
            return t
    raise LabelError(f"{path}: track {individual!r} not found; tracks are {[t.name for t in tracks]}")


def _point_scores(instance, k: int) -> np.ndarray:
    """Per-point scores of a predicted instance (1 for user-labelled instances)."""
    try:
        arr = instance.numpy(scores=True)
        if arr.shape[-1] >= 3:
            return np.clip(np.nan_to_num(arr[:, 2]), 0.0, 1.0)
    except TypeError:
        pass
    points = getattr(instance, "points", None)
    if points is not None and hasattr(points, "dtype") and points.dtype.names and "score" in points.dtype.names:
        return np.clip(np.nan_to_num(points["score"].astype(float)), 0.0, 1.0)
    return np.ones(k)


__all__ = [
    "LABEL_SUFFIXES",
    "LabelError",
    "LabelledFrames",
    "concatenate",
    "label_files",
    "read_dlc_table",
    "read_label_table",
    "read_labels",
    "read_slp",
    "resolve_image",
    "session_label_files",
    "recorded_fps",
]
