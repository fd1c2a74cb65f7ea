"""Read DeepLabCut keypoint tables: human labels (``CollectedData_*.csv/.h5``) and video predictions.

Both layouts DeepLabCut writes are read:

* DLC 2 labels: one index column holding ``labeled-data/<session>/imgNNNN.png``;
* DLC 3 labels (and synthmouse's): three index columns ``labeled-data``, ``<session>``, ``imgNNNNN.png``;
* predictions on a video (``<video>DLC_<network>.csv/.h5``): the frame number as index and
  ``x, y, likelihood`` per body part; points under ``pcutoff`` are treated as unlabelled (NaN).

Header rows ``scorer``, optional ``individuals`` (multi-animal: the first individual is used), ``bodyparts``,
``coords``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import SynthmouseError

HEADER_NAMES = ("scorer", "individuals", "bodyparts", "coords")


class MetricsError(SynthmouseError):
    """Bad input to a realism metric or the report (missing folder, no images, unknown keypoint ...)."""


@dataclass(frozen=True)
class KeypointTable:
    """Keypoints of labelled images or video frames.

    Attributes:
        path: the table file.
        keys: ``(F,)`` image paths relative to the project (``labeled-data/s/img0.png``) or frame numbers
            as strings (predictions on a video).
        names: ``(K,)`` body part names.
        xy: ``(F, K, 2) float64`` pixel coordinates (OpenCV/DLC convention); NaN where unlabelled.
        first_line: the line of the first data row in a CSV file (1-based; for messages), None for HDF5.
    """

    path: Path
    keys: tuple[str, ...]
    names: tuple[str, ...]
    xy: np.ndarray
    first_line: int | None = None

    def lookup(self, key: str) -> np.ndarray | None:
        """``(K, 2)`` keypoints of the row whose key is ``key`` (or ends with ``/key``), else None."""
        index = self._index()
        row = index.get(key)
        if row is None:
            row = index.get(Path(key).name)
        return None if row is None else self.xy[row]

    def _index(self) -> dict[str, int]:
        index: dict[str, int] = {}
        for i, k in enumerate(self.keys):
            index.setdefault(k, i)
            index.setdefault(Path(k).name, i)
        return index


def read_dlc_table(path: str | Path, pcutoff: float = 0.6) -> KeypointTable:
    """Read a DeepLabCut keypoint table (``.csv`` or ``.h5``, labels or predictions).

    Args:
        path: the file.
        pcutoff: predictions with ``likelihood < pcutoff`` become NaN (ignored for human labels).

    Raises:
        MetricsError: the file is missing or is not a DeepLabCut table (the message says which header is wrong).
    """
    path = Path(path)
    if not path.is_file():
        raise MetricsError(f"{path}: keypoint table not found")
    first_line = None
    if path.suffix.lower() == ".h5":
        frame = _read_h5(path)
    elif path.suffix.lower() == ".csv":
        frame = _read_csv(path)
        first_line = frame.columns.nlevels + 1
    else:
        raise MetricsError(
            f"{path}: unknown keypoint table type {path.suffix!r}; allowed: .csv, .h5 "
            "(DeepLabCut CollectedData_*.csv or predictions)"
        )
    table = _table_from_frame(path, frame, pcutoff)
    return KeypointTable(table.path, table.keys, table.names, table.xy, first_line)


def _read_csv(path: Path) -> pd.DataFrame:
    """The table as a DataFrame with a (scorer[, individuals], bodyparts, coords) column MultiIndex."""
    raw = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
    first = [str(v).strip().lower() for v in raw.iloc[:, 0]]
    n_header = 0
    while n_header < len(first) and first[n_header] in HEADER_NAMES:
        n_header += 1
    if n_header < 3 or first[0] != "scorer" or "bodyparts" not in first[:n_header] or "coords" not in first[:n_header]:
        raise MetricsError(
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
            raise MetricsError(
                f"{path}, line {n_header + r + 1} ({keys[r]}): {part} {coord} = {text.iat[r, c]!r} "
                "is not a number; allowed: a number or empty"
            ) from None
    return pd.DataFrame(values, index=pd.Index(keys), columns=columns)


def _read_h5(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_hdf(path)
    except (ImportError, ValueError, KeyError, OSError) as exc:
        raise MetricsError(f"{path}: cannot read this HDF5 keypoint table ({exc})") from None
    if not isinstance(frame, pd.DataFrame) or frame.columns.nlevels < 3:
        raise MetricsError(f"{path}: not a DeepLabCut table (columns need the levels scorer, bodyparts, coords)")
    if frame.index.nlevels > 1:
        keys = ["/".join(str(v) for v in t) for t in frame.index]
    else:
        keys = [str(v) for v in frame.index]
    frame = frame.copy()
    frame.index = pd.Index(keys)
    names = [str(n).lower() if n is not None else "" for n in frame.columns.names]
    if "bodyparts" not in names:
        names = (
            list(HEADER_NAMES[:1]) + (["individuals"] if frame.columns.nlevels == 4 else []) + ["bodyparts", "coords"]
        )
    frame.columns = frame.columns.set_names(names)
    return frame


def _table_from_frame(path: Path, frame: pd.DataFrame, pcutoff: float) -> KeypointTable:
    columns = frame.columns
    if "individuals" in columns.names:
        first = columns.get_level_values("individuals")[0]
        frame = frame.loc[:, columns.get_level_values("individuals") == first]
        columns = frame.columns
    parts = columns.get_level_values("bodyparts")
    coords = [str(c).lower() for c in columns.get_level_values("coords")]
    names: list[str] = list(dict.fromkeys(str(p) for p in parts))
    xy = np.full((len(frame), len(names), 2), np.nan)
    likelihood = np.ones((len(frame), len(names)))
    values = frame.to_numpy(dtype=np.float64)
    for col, (part, coord) in enumerate(zip(parts, coords, strict=True)):
        k = names.index(str(part))
        if coord == "x":
            xy[:, k, 0] = values[:, col]
        elif coord == "y":
            xy[:, k, 1] = values[:, col]
        elif coord == "likelihood":
            likelihood[:, k] = values[:, col]
    if not names or np.all(np.isnan(xy[..., 0])) and len(frame) and "x" not in coords:
        raise MetricsError(f"{path}: no x/y columns found (coords level holds {sorted(set(coords))})")
    xy[likelihood < pcutoff] = np.nan
    return KeypointTable(path=path, keys=tuple(str(k) for k in frame.index), names=tuple(names), xy=xy)


def find_label_tables(folder: str | Path) -> list[Path]:
    """DeepLabCut label tables in ``folder``: ``CollectedData_*.csv``, or ``.h5`` where no csv exists."""
    folder = Path(folder)
    tables = sorted(folder.glob("CollectedData_*.csv"))
    stems = {p.stem for p in tables}
    tables += sorted(p for p in folder.glob("CollectedData_*.h5") if p.stem not in stems)
    return tables
