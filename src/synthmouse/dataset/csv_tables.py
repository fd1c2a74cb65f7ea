"""Tool-independent tables every dataset gets: 3D ground truth and the per-frame parameter table.

* ``keypoints3d.csv``: ``frame, <kp>_x, <kp>_y, <kp>_z, ...`` world metres (Anipose's 3D column naming);
* ``frames.csv``: ``frame, split, segment, motion`` then every randomized value of ``FrameResult.params``
  (sorted by name; empty where a frame has no such value), streamed row by row.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from ..fileio import atomic_open
from .table import Dataset

FIRST_COLUMNS = ("frame", "split", "segment", "motion")


def _cell(value) -> str:
    """Deterministic text of one value: floats by ``repr`` (shortest round-trip), lists joined by ``;``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    if isinstance(value, list | tuple):
        return ";".join(_cell(v) for v in value)
    return str(value)


def write_keypoints3d(dataset: Dataset, path: Path | None = None) -> Path:
    """Write the 3D ground truth table; return its path."""
    path = path or dataset.layout.keypoints3d
    names = dataset.meta.keypoint_names
    kp = dataset.table.keypoints3d
    with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["frame", *[f"{n}_{a}" for n in names for a in "xyz"]])
        for i in range(dataset.n_frames):
            writer.writerow([i, *(_cell(float(v)) for v in kp[i].reshape(-1))])
    return path


def write_frames_table(dataset: Dataset, path: Path | None = None) -> Path:
    """Write the per-frame parameter table (two streaming passes over the rows); return its path."""
    path = path or dataset.layout.frames_table
    keys: set[str] = set()
    for row in dataset.rows.iter_rows(range(dataset.n_frames)):
        keys.update(row.params)
    columns = sorted(keys - set(FIRST_COLUMNS))
    split_of = dataset.split_of_frames()
    with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow([*FIRST_COLUMNS, *columns])
        for row in dataset.rows.iter_rows(range(dataset.n_frames)):
            head = [row.index, split_of[row.index], row.segment, _cell(row.params.get("motion", ""))]
            writer.writerow([*head, *(_cell(row.params.get(k)) for k in columns)])
    return path
