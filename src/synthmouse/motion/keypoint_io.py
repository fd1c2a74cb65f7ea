"""Keypoints for retargeting: 2D predictions of a camera (:func:`read_predictions`, the one label reader
:func:`synthmouse.io.labels.read_labels` with one row per frame) and 3D keypoint trajectories
(:func:`read_keypoints3d`, :class:`Keypoints3D`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import KeypointError
from ..io.labels import LABEL_SUFFIXES, LabelledFrames, read_labels


def read_predictions(path: str | Path, individual: str | int | None = None) -> LabelledFrames:
    """2D predictions of one camera for retargeting: :func:`synthmouse.io.labels.read_labels` (DeepLabCut
    ``.h5``/``.csv``, SLEAP ``.slp``) with one row per frame number from 0 (frames without a detection: NaN,
    confidence 0); ``.select(names, {target: body part})`` orders them as a body's keypoints."""
    path = Path(path)
    if path.suffix.lower() not in LABEL_SUFFIXES:
        raise KeypointError(
            f"{path}: unknown keypoint file type {path.suffix!r}; allowed: .h5, .csv (DeepLabCut), .slp"
        )
    return read_labels(path, individual).dense()


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
