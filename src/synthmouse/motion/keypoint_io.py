"""Read 2D keypoint predictions for retargeting: DeepLabCut (.h5/.csv) and SLEAP (.slp, via sleap-io).

Both give :class:`Keypoints2D`: ``xy (F, K, 2)`` pixels (NaN where missing) and ``confidence (F, K)`` in [0, 1], with
the body-part names; :meth:`Keypoints2D.select` reorders them to a body's landmark names through a name map.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import KeypointError


@dataclass(frozen=True)
class Keypoints2D:
    """2D detections of one animal in one camera.

    Attributes:
        names: ``K`` body-part names as in the file.
        xy: ``(F, K, 2) float64`` pixels (OpenCV convention); NaN where missing.
        confidence: ``(F, K) float64`` likelihood / score in [0, 1]; 0 where missing.
        source: the file read.
    """

    names: tuple[str, ...]
    xy: np.ndarray
    confidence: np.ndarray
    source: str = ""

    def select(self, names: list[str] | tuple[str, ...], mapping: dict[str, str] | None = None) -> Keypoints2D:
        """Keypoints in the order of ``names`` (e.g. body landmarks); ``mapping`` maps each wanted name to the
        file's body-part name (default: the same name). Parts missing from the file come back as NaN."""
        mapping = mapping or {}
        index = {n: i for i, n in enumerate(self.names)}
        xy = np.full((self.xy.shape[0], len(names), 2), np.nan)
        conf = np.zeros((self.xy.shape[0], len(names)))
        for k, name in enumerate(names):
            src = mapping.get(name, name)
            if src in index:
                xy[:, k] = self.xy[:, index[src]]
                conf[:, k] = self.confidence[:, index[src]]
        return Keypoints2D(tuple(names), xy, conf, self.source)


def read_keypoints(path: str | Path, individual: str | int | None = None) -> Keypoints2D:
    """Read a DeepLabCut ``.h5``/``.csv`` or SLEAP ``.slp`` prediction file (dispatch on the extension)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".h5", ".hdf5", ".csv"):
        return read_dlc(path, individual)
    if suffix == ".slp":
        return read_sleap(path, individual)
    raise KeypointError(f"{path}: unknown keypoint file type {suffix!r}; allowed: .h5, .csv (DeepLabCut), .slp")


def read_dlc(path: str | Path, individual: str | None = None) -> Keypoints2D:
    """DeepLabCut predictions: columns ``(scorer, [individuals,] bodyparts, coords)`` with coords ``x, y,
    likelihood`` (labelled-data files without likelihood get confidence 1)."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise KeypointError(f"{path}: file not found")
    if path.suffix.lower() == ".csv":
        head = pd.read_csv(path, header=None, nrows=4, index_col=0)
        levels = 4 if str(head.index[3]).lower() == "coords" else 3
        df = pd.read_csv(path, header=list(range(levels)), index_col=0)
    else:
        df = pd.read_hdf(path)
        if not isinstance(df, pd.DataFrame):
            raise KeypointError(f"{path}: expected a pandas DataFrame in the HDF5 file")
    cols = df.columns
    names = list(cols.names)
    if "bodyparts" not in names or "coords" not in names:
        raise KeypointError(f"{path}: columns must have 'bodyparts' and 'coords' levels, found {names}")
    if "individuals" in names:
        animals = list(dict.fromkeys(cols.get_level_values("individuals")))
        pick = animals[0] if individual is None else individual
        if pick not in animals:
            raise KeypointError(f"{path}: individual {pick!r} not found; the file has {animals}")
        df = df.xs(pick, axis=1, level="individuals")
        cols = df.columns
    parts = list(dict.fromkeys(cols.get_level_values("bodyparts")))
    n = len(df)
    xy = np.full((n, len(parts), 2), np.nan)
    conf = np.ones((n, len(parts)))
    for k, part in enumerate(parts):
        sub = df.xs(part, axis=1, level="bodyparts")
        sub.columns = sub.columns.get_level_values(-1)
        xy[:, k, 0] = pd.to_numeric(sub["x"], errors="coerce").to_numpy()
        xy[:, k, 1] = pd.to_numeric(sub["y"], errors="coerce").to_numpy()
        if "likelihood" in sub.columns:
            conf[:, k] = pd.to_numeric(sub["likelihood"], errors="coerce").to_numpy()
    missing = ~np.isfinite(xy).all(-1)
    conf = np.where(missing | ~np.isfinite(conf), 0.0, np.clip(conf, 0.0, 1.0))
    return Keypoints2D(tuple(parts), xy, conf, str(path))


def read_sleap(path: str | Path, individual: str | int | None = None) -> Keypoints2D:
    """SLEAP predictions (``.slp``) through sleap-io: the first video; one track (by name or index, default the
    first; untracked instances count as one animal, the best-scoring per frame)."""
    import sleap_io

    path = Path(path)
    if not path.is_file():
        raise KeypointError(f"{path}: file not found")
    labels = sleap_io.load_slp(str(path))
    if not labels.skeletons:
        raise KeypointError(f"{path}: no skeleton in the file")
    names = tuple(node.name for node in labels.skeletons[0].nodes)
    frames = [lf for lf in labels.labeled_frames if not labels.videos or lf.video == labels.videos[0]]
    if not frames:
        raise KeypointError(f"{path}: no labelled frames")
    n = max(lf.frame_idx for lf in frames) + 1
    xy = np.full((n, len(names), 2), np.nan)
    conf = np.zeros((n, len(names)))
    track = _pick_track(labels, individual, path)
    for lf in frames:
        candidates = [inst for inst in lf.instances if track is None or inst.track == track]
        if not candidates:
            continue
        inst = max(candidates, key=lambda i: float(getattr(i, "score", 1.0) or 1.0))
        points = inst.numpy()  # (K, 2)
        xy[lf.frame_idx] = points
        scores = _point_scores(inst, len(names))
        conf[lf.frame_idx] = np.where(np.isfinite(points).all(-1), scores, 0.0)
    return Keypoints2D(names, xy, conf, str(path))


def _pick_track(labels, individual, path):
    tracks = list(labels.tracks)
    if individual is None or not tracks:
        return tracks[0] if tracks and individual is not None else None
    if isinstance(individual, int):
        if not 0 <= individual < len(tracks):
            raise KeypointError(f"{path}: track index {individual} outside 0..{len(tracks) - 1}")
        return tracks[individual]
    for t in tracks:
        if t.name == individual:
            return t
    raise KeypointError(f"{path}: track {individual!r} not found; tracks are {[t.name for t in tracks]}")


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


def prediction_fps(path: str | Path) -> float | None:
    """The frame rate a prediction file records, or None: SLEAP files carry their video's fps when sleap-io
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


@dataclass(frozen=True)
class Keypoints3D:
    """3D keypoint trajectories of one animal.

    Attributes:
        names: ``K`` keypoint names as in the file.
        xyz: ``(F, K, 3) float64`` metres; NaN where missing.
        confidence: ``(F, K) float64`` in [0, 1]; 0 where missing.
        source: the file read.
    """

    names: tuple[str, ...]
    xyz: np.ndarray
    confidence: np.ndarray
    source: str = ""

    def select(self, names: list[str] | tuple[str, ...], mapping: dict[str, str] | None = None) -> Keypoints3D:
        """Keypoints in the order of ``names``; ``mapping`` maps each wanted name to the file's name (default: the
        same name). Names missing from the file come back as NaN with confidence 0."""
        mapping = mapping or {}
        index = {n: i for i, n in enumerate(self.names)}
        xyz = np.full((self.xyz.shape[0], len(names), 3), np.nan)
        conf = np.zeros((self.xyz.shape[0], len(names)))
        for k, name in enumerate(names):
            src = mapping.get(name, name)
            if src in index:
                xyz[:, k] = self.xyz[:, index[src]]
                conf[:, k] = self.confidence[:, index[src]]
        return Keypoints3D(tuple(names), xyz, conf, self.source)


def read_keypoints3d(path: str | Path) -> Keypoints3D:
    """Read 3D keypoints (metres) from a CSV in one of two layouts (told apart by the header):

    * wide, as synthmouse datasets write ``keypoints3d.csv``: ``frame, <name>_x, <name>_y, <name>_z, ...``
      (one row per frame; empty cells are missing);
    * long: ``frame, keypoint, x, y, z[, confidence]`` (one row per frame and keypoint; frames without a row for a
      keypoint are missing).

    Frames are numbered from 0; rows may come in any order and frames may be skipped (missing).
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise KeypointError(f"{path}: file not found")
    try:
        df = pd.read_csv(path)
    except (ValueError, pd.errors.ParserError) as exc:
        raise KeypointError(f"{path}: not a readable CSV ({exc})") from None
    columns = [str(c).strip() for c in df.columns]
    df.columns = columns
    if "frame" not in columns:
        raise KeypointError(
            f"{path}: needs a 'frame' column; found {columns[:8]}; allowed layouts: "
            "frame,<name>_x,<name>_y,<name>_z,... or frame,keypoint,x,y,z[,confidence]"
        )
    frames = pd.to_numeric(df["frame"], errors="coerce").to_numpy()
    if len(frames) == 0 or not np.isfinite(frames).all() or (frames < 0).any() or (frames % 1 != 0).any():
        raise KeypointError(f"{path}: column 'frame' must hold integers >= 0 in every row")
    frames = frames.astype(np.int64)
    n = int(frames.max()) + 1
    if {"keypoint", "x", "y", "z"} <= set(columns):
        names = tuple(dict.fromkeys(str(v) for v in df["keypoint"]))
        index = {name: k for k, name in enumerate(names)}
        kidx = np.array([index[str(v)] for v in df["keypoint"]])
        xyz = np.full((n, len(names), 3), np.nan)
        xyz[frames, kidx] = df[["x", "y", "z"]].apply(pd.to_numeric, errors="coerce").to_numpy()
        conf = np.zeros((n, len(names)))
        conf[frames, kidx] = (
            pd.to_numeric(df["confidence"], errors="coerce").to_numpy() if "confidence" in columns else 1.0
        )
    else:
        coords = [c for c in columns if c != "frame"]
        names = tuple(dict.fromkeys(c[:-2] for c in coords if c[-2:] in ("_x", "_y", "_z")))
        bad = [c for c in coords if c[-2:] not in ("_x", "_y", "_z")]
        missing = [f"{nm}_{a}" for nm in names for a in "xyz" if f"{nm}_{a}" not in columns]
        if bad or missing or not names:
            raise KeypointError(
                f"{path}: unknown layout (columns {bad or missing or columns}); allowed: "
                "frame,<name>_x,<name>_y,<name>_z,... or frame,keypoint,x,y,z[,confidence]"
            )
        xyz = np.full((n, len(names), 3), np.nan)
        values = df[[f"{nm}_{a}" for nm in names for a in "xyz"]].apply(pd.to_numeric, errors="coerce")
        xyz[frames] = values.to_numpy().reshape(len(df), len(names), 3)
        conf = np.ones((n, len(names)))
    missing = ~np.isfinite(xyz).all(-1)
    conf = np.where(missing | ~np.isfinite(conf), 0.0, np.clip(conf, 0.0, 1.0))
    return Keypoints3D(names, xyz, conf, str(path))
