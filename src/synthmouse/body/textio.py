"""Strict whitespace-separated table reading with line-numbered errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ModelFormatError


def read_table(path: str | Path, columns: int, kind: str = "float") -> np.ndarray:
    """Read a whitespace-separated table with exactly ``columns`` columns per non-empty line.

    Raises :class:`ModelFormatError` naming the file and line for a missing file, a wrong column count, a value
    that is not a number, or NaN/inf.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFormatError(path, "file not found")
    rows: list[list[str]] = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != columns:
            raise ModelFormatError(path, f"expected {columns} columns, found {len(parts)}: {line.strip()!r}", number)
        rows.append(parts)
    if not rows:
        raise ModelFormatError(path, "the file is empty")
    try:
        table = np.array(rows, dtype=np.float64)
    except ValueError:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            for token in line.split():
                try:
                    float(token)
                except ValueError:
                    raise ModelFormatError(path, f"{token!r} is not a number", number) from None
        raise
    bad = np.argwhere(~np.isfinite(table))
    if bad.size:
        raise ModelFormatError(path, f"value {table[tuple(bad[0])]} is not finite", _line_of_row(path, bad[0][0]))
    if kind == "int":
        if not np.all(table == np.round(table)):
            r = int(np.argwhere(table != np.round(table))[0][0])
            raise ModelFormatError(path, "expected integer indices", _line_of_row(path, r))
        return table.astype(np.int64)
    return table


def _line_of_row(path: Path, row: int) -> int:
    seen = -1
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if line.split():
            seen += 1
            if seen == row:
                return number
    return row + 1


def read_names(path: str | Path) -> list[str]:
    """One name per non-empty line."""
    path = Path(path)
    if not path.is_file():
        raise ModelFormatError(path, "file not found")
    names = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 1:
            raise ModelFormatError(path, f"expected one name per line, found {line.strip()!r}", number)
        names.append(parts[0])
    return names
